"""`make bench`: shadan's measurements at realistic scale, beside the naive way.

Not part of the test suite (pytest collects only tests/) and it never asserts a time:
it generates data into its own databases, measures and prints a table (and JSON).
"""
