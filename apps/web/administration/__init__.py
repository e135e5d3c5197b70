"""The administrators' (管理者) pages of the product, next to Django's admin.

Work that needs two administrators (a password reset) lives here, where each view can be
role-checked and call one service. A later administrators' area adds its pages as
further modules of this package and entries in its urls.py.
"""
