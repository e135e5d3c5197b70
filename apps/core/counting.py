"""Counts that stop: a page that shows "how many" counts up to a cap and then says
"more than", so its cost does not grow with the table (issue 17)."""

from __future__ import annotations

from django.db.models import Func, IntegerField, QuerySet, Subquery

# Past a thousand nobody reads the exact figure; the home pages and the retail list say
# "1000+" / "more than 1000" instead of walking every row on every page view.
COUNT_CAP = 1000


def capped_count(queryset: QuerySet, cap: int = COUNT_CAP) -> Func:
    """An expression counting at most `cap + 1` rows of `queryset` (one more than the cap,
    so a caller can tell "exactly the cap" from "more"); annotate it onto another query to
    read it in the same round trip."""
    return Func(
        Subquery(queryset.order_by().values("pk")[: cap + 1]),
        template="(SELECT COUNT(*) FROM %(expressions)s AS capped)",
        output_field=IntegerField(),
    )
