"""Who someone is, as SQL for statements that read it beside something else: the audit
event's INSERT (apps.audit.snapshot) and the page's one statement for the person
(apps.web.access). Both answer what `User.division_at()` and `User.role_codes()` do.
Built from the models' metadata, names quoted with the connection's quote character;
every value is a parameter."""

from __future__ import annotations

from functools import cache

from .models import DivisionMembership, Role, User


@cache
def division_at_sql(quote: str) -> str:
    """The division of the membership valid at a moment (first by valid_from), as a
    SELECT of one value. Parameters: user id, moment, moment."""

    def qn(name: str) -> str:
        return f"{quote}{name}{quote}"

    membership = DivisionMembership._meta
    m_user = qn(membership.get_field("user").column)
    m_division = qn(membership.get_field("division").column)
    m_from = qn(membership.get_field("valid_from").column)
    m_until = qn(membership.get_field("valid_until").column)
    return (
        f"SELECT m.{m_division} FROM {qn(membership.db_table)} m"  # noqa: S608
        f" WHERE m.{m_user} = %s AND m.{m_from} <= %s"
        f" AND (m.{m_until} IS NULL OR m.{m_until} > %s)"
        f" ORDER BY m.{m_from} LIMIT 1"
    )


@cache
def role_codes_sql(quote: str) -> tuple[str, str]:
    """(the role code column, the FROM … WHERE that gives one row per role of the
    user's groups). Parameter: user id."""

    def qn(name: str) -> str:
        return f"{quote}{name}{quote}"

    through = User.groups.through._meta
    ug_user = qn(through.get_field("user").column)
    ug_group = qn(through.get_field("group").column)
    role = Role._meta
    r_code = qn(role.get_field("code").column)
    r_group = qn(role.get_field("group").column)
    joined = (
        f"FROM {qn(role.db_table)} r JOIN {qn(through.db_table)} ug"
        f" ON ug.{ug_group} = r.{r_group} WHERE ug.{ug_user} = %s"
    )
    return f"r.{r_code}", joined
