"""Counts that stop: a page that shows "how many" counts up to a cap and then says
"more than", so its cost does not grow with the table (issue 17)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.core.paginator import EmptyPage, Page, PageNotAnInteger, Paginator
from django.db.models import Func, IntegerField, QuerySet, Subquery
from django.utils.functional import cached_property

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


def count_up_to(queryset: QuerySet, cap: int = COUNT_CAP) -> CappedCount:
    """How many rows `queryset` holds, reading at most `cap + 1` of them (one query)."""
    return CappedCount(int(queryset.order_by().values("pk")[: cap + 1].count()), cap)


@dataclass(frozen=True)
class CappedCount:
    """A count read with `capped_count`: at most `cap`, and whether there were more.
    Renders as the number, or "1000+" past the cap."""

    found: int  # what capped_count returned: at most cap + 1
    cap: int = COUNT_CAP

    @property
    def count(self) -> int:
        return min(self.found, self.cap)

    @property
    def capped(self) -> bool:
        return self.found > self.cap

    def __bool__(self) -> bool:
        return self.found > 0

    def __str__(self) -> str:
        return f"{self.count}+" if self.capped else str(self.count)


class CappedPaginator(Paginator):
    """Django's Paginator over a queryset whose count stops at `cap` rows (one query
    of at most `cap + 1` index entries instead of a count of the whole list on every page
    view). Pages past the cap are not reached: `get_page` of a later number gives the
    last page within it, and `count_capped` tells the page to say "more than"."""

    def __init__(
        self,
        object_list: QuerySet | Callable[[], QuerySet],
        per_page: int,
        cap: int = COUNT_CAP,
        *,
        read: Callable[[int, int], tuple[list[Any], int]] | None = None,
    ) -> None:
        """`read(bottom, size)`, if given, reads a page's rows of `object_list` and its
        capped count (what `capped_count` gives; read only when there are rows) another
        way: a statement built once (the T&D lists). `object_list` may then be a function
        that builds the queryset, called only if a page is read through it (past the
        cap, or a page number past the end): building it through the ORM was a seventh
        of the clerk's list's view (issue 17)."""
        self.cap = cap
        self.read = read
        self._source = object_list
        # Django checks the ordering of what it is given; a queryset still to be built is
        # checked when it is (`queryset`).
        given: QuerySet | list[Any] = object_list if isinstance(object_list, QuerySet) else []
        super().__init__(given, per_page)

    @cached_property
    def queryset(self) -> QuerySet:
        """The list's queryset, built now if it was given as a function."""
        if isinstance(self._source, QuerySet):
            return self._source
        self.object_list = self._source()
        self._check_object_list_is_ordered()  # type: ignore[attr-defined]
        return self.object_list

    @cached_property
    def _found(self) -> int:
        return count_up_to(self.queryset, self.cap).found

    def get_page(self, number: Any) -> Page:
        # Django's get_page validates the number against the count first; this reads the
        # count with the rows instead, and falls back the same way.
        try:
            return self.page(number)
        except PageNotAnInteger:
            return self.page(1)
        except EmptyPage:
            return self.page(self.num_pages)

    def page(self, number: Any) -> Page:
        """The page's rows with the capped count riding along in the same query (one
        round trip fewer on every view); the count is read on its own only for a page
        with no rows (past the end: `get_page` then asks for the last one)."""
        if "_found" in self.__dict__:
            return self._through_queryset(number)
        try:
            wanted = int(number)
        except (TypeError, ValueError):
            raise PageNotAnInteger("That page number is not an integer") from None
        bottom = (wanted - 1) * self.per_page
        if wanted < 1 or bottom >= self.cap:
            return self._through_queryset(number)
        if self.read is not None:
            rows, found = self.read(bottom, self.per_page)
        else:
            rows = list(
                self.queryset.annotate(capped_found=capped_count(self.queryset, self.cap))[
                    bottom : bottom + self.per_page
                ]
            )
            # Model instances, or dicts for a list read with values().
            first = rows[0] if rows else None
            found = (
                first["capped_found"]
                if isinstance(first, dict)
                else getattr(first, "capped_found", 0)
            )
        if rows:
            self.__dict__["_found"] = found
            return Page(rows, wanted, self)
        if wanted == 1:
            self.__dict__["_found"] = 0
            return Page(rows, wanted, self)
        raise EmptyPage("That page contains no results")

    def _through_queryset(self, number: Any) -> Page:
        """Django's page: its rows sliced from the queryset (built first)."""
        self.object_list = self.queryset
        return super().page(number)

    @cached_property
    def count(self) -> int:
        return min(self._found, self.cap)

    @property
    def count_capped(self) -> bool:
        return self._found > self.cap

    @property
    def capped_count(self) -> CappedCount:
        """The count and whether there were more, for a page that says "more than"."""
        return CappedCount(self._found, self.cap)

    @property
    def count_label(self) -> str:
        """The count as shown beside a filter or a search: "1000+" past the cap."""
        return str(self.capped_count)
