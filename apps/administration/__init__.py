"""Managing people: the administrators' services over the accounts (create, roles,
deactivate, transfer between divisions), the two-administrator password reset, one's own
password change, and the commands that create the first administrator and the database
roles.

Above the audit trail and the notifications (every change is audited, a reset is
notified), below the pages (apps.web.administration) that call it. apps.accounts, below
the trail, only says who people are.
"""
