"""The access review's fixtures (tests/access_review/conftest.py) for its pages here."""

from tests.access_review.conftest import access, auditor2, compliance  # noqa: F401
