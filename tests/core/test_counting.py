"""Counts that stop at a cap, and the paginator of the T&D lists built on them."""

from __future__ import annotations

import pytest

from apps.core.counting import CappedCount, CappedPaginator
from apps.retailers.models import Retailer
from tests.factories import make_retailer

pytestmark = pytest.mark.django_db


def _retailers(n: int) -> None:
    for i in range(n):
        make_retailer(code=f"C{i:04d}")


def _paginator(cap: int = 3) -> CappedPaginator:
    return CappedPaginator(Retailer.objects.filter(code__startswith="C").order_by("code"), 2, cap)


def test_a_capped_count_says_more_past_the_cap():
    assert (str(CappedCount(3, cap=3)), CappedCount(3, cap=3).capped) == ("3", False)
    assert (str(CappedCount(4, cap=3)), CappedCount(4, cap=3).count) == ("3+", 3)


def test_the_first_page_reads_its_rows_and_the_count_in_one_query(django_assert_num_queries):
    _retailers(5)
    paginator = _paginator()

    with django_assert_num_queries(1):
        page = paginator.get_page(None)
        codes = [r.code for r in page.object_list]
        flags = (paginator.count, paginator.count_capped, paginator.count_label)

    assert codes == ["C0000", "C0001"]
    assert flags == (3, True, "3+")
    assert (paginator.num_pages, page.has_next()) == (2, True)


def test_a_page_past_the_cap_or_the_end_gives_the_last_page_within_it():
    _retailers(5)

    past_cap = _paginator().get_page(9)
    assert (past_cap.number, [r.code for r in past_cap.object_list]) == (2, ["C0002"])

    short = CappedPaginator(Retailer.objects.filter(code="C0000"), 2, 3).get_page(4)
    assert (short.number, len(short.object_list), short.paginator.count) == (1, 1, 1)


def test_an_empty_list_has_one_empty_page_and_a_count_of_nought():
    paginator = _paginator()
    page = paginator.get_page("x")

    assert (page.number, list(page.object_list), paginator.count) == (1, [], 0)
    assert not paginator.count_capped


def test_a_queryset_given_as_a_function_is_built_only_for_a_page_read_through_it():
    _retailers(5)
    built = []

    def queryset():
        built.append(1)
        return Retailer.objects.filter(code__startswith="C").order_by("code")

    def read(bottom: int, size: int):
        rows = list(queryset()[bottom : bottom + size])
        built.pop()  # the read's own building is not the paginator's
        return rows, 5

    first = CappedPaginator(queryset, 2, 3, read=read).get_page(1)
    assert ([r.code for r in first.object_list], first.paginator.count, built) == (
        ["C0000", "C0001"],
        3,
        [],
    )

    past_end = CappedPaginator(queryset, 2, 3, read=read).get_page(9)
    assert (past_end.number, [r.code for r in past_end.object_list], built) == (2, ["C0002"], [1])


def test_an_unordered_queryset_is_warned_about_when_it_is_built():
    from django.core.paginator import UnorderedObjectListWarning

    paginator = CappedPaginator(
        lambda: Retailer.objects.order_by(), 2, 3, read=lambda b, s: ([], 0)
    )
    with pytest.warns(UnorderedObjectListWarning):
        paginator.get_page(2)
