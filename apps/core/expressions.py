"""Values the program writes into its queries (a state, a code), as literals of the
statement's text instead of parameters.

Every statement the pages and transitions repeat is prepared on PostgreSQL
(config/settings/database_options.py, apps.core.prepared), and PostgreSQL keeps one
plan of a prepared statement for every run only when that generic plan, which knows
none of the parameters' values, is no costlier than the plans it made for each run's.
Where a constant decides the plan (the condition of a partial index: the supervisor's
queue walks the index of the applications waiting for the check), the generic plan
cannot use that index, is never chosen, and every run is planned again: 0.6 ms of
planning against 0.5 of running for the queue's page, 0.9 against 1.4 for the clerk's
filter counts (issue 17). With the constant in the text the generic plan is the
specific one, made once per connection.

Only plain constants: an int, or a str of letters, digits and `_.:-` (a TextChoices
value); anything else is refused, so nothing a person typed can reach the text."""

from __future__ import annotations

import re
from typing import Any

from django.db.models import Value

_PLAIN_TEXT = re.compile(r"[A-Za-z0-9_.:-]*")


def literal_sql(value: Any) -> str:
    """`value` as SQL text, for a plain constant; ValueError otherwise."""
    if type(value) is int:
        return str(value)
    if isinstance(value, str):
        text = str(value)  # a TextChoices member as its value
        if _PLAIN_TEXT.fullmatch(text):
            return f"'{text}'"
    raise ValueError(f"only plain constants go into a statement's text, not {value!r}")


class Literal(Value):
    """A constant written into the statement's text: `filter(state=Literal(S.DRAFT))`."""

    def __init__(self, value: Any, output_field: Any = None) -> None:
        literal_sql(value)  # refused here, where the query is written
        super().__init__(value, output_field)

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        return literal_sql(self.value), []
