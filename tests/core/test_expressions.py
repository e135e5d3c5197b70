"""Constants written into a statement's text (apps.core.expressions.Literal): the rows are
those of the same query with the value as a parameter, and the statements whose plans
depend on a constant (the queues' partial indexes, the clerk's filter counts) hold it in
their text, so PostgreSQL keeps one plan of each prepared statement."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db.models import Q
from django.db.models.expressions import RawSQL

from apps.applications import search
from apps.applications.models import Application, Waiting
from apps.core.expressions import Literal
from apps.vocabulary.states import ApplicationState as S
from apps.web.applications.views import clerk_list
from tests.conftest import advance

pytestmark = pytest.mark.django_db(databases=["default", "vault", "retail"])


def test_a_literal_reads_what_the_parameter_reads(new_application, clerk, clerk2):
    mine, theirs = new_application(), new_application()
    Application.objects.filter(pk=theirs.pk).update(created_by=clerk2, state=S.ENTERED)

    def read(state):
        return list(
            Application.objects.filter(
                Q(state=state(S.DRAFT), created_by=clerk) | Q(state=state(S.ENTERED))
            )
            .annotate(rest=RawSQL("7 %% 4", []))
            .order_by("pk")
            .values_list("pk", "state", "rest")
        )

    assert read(Literal) == read(str) == [(mine.pk, S.DRAFT, 3), (theirs.pk, S.ENTERED, 3)]
    sql, params = Application.objects.filter(
        state=Literal(S.DRAFT), version=2
    ).query.sql_with_params()
    assert "'draft'" in sql and list(params) == [2]


@pytest.mark.parametrize(
    "value", ["O'Brien", "50%", "a b", "", Decimal("6.0"), dt.date(2027, 4, 1), True, None, 1.5]
)
def test_only_plain_constants_go_into_the_text(value):
    if value == "":
        assert Literal(value).as_sql(None, None) == ("''", [])
        return
    with pytest.raises(ValueError, match="plain constants"):
        Literal(value)


def test_the_queues_name_what_they_wait_for_in_the_text(new_application, clerk, supervisor):
    """The partial indexes' condition (`waiting_for`), as the supervisor's queue and the
    clerk's list read it: no parameter for it."""
    waiting = advance(new_application(), "encoded", clerk=clerk, supervisor=supervisor)
    for queryset, value in (
        (Application.objects.awaiting_verification(), Waiting.CHECK),
        (Application.objects.awaiting_encoding(), Waiting.ENCODING),
        (Application.objects.filter(clerk_list.selectors.is_awaiting_encoding()), Waiting.ENCODING),
    ):
        sql, params = queryset.query.sql_with_params()
        assert f"'{value.value}'" in sql and value.value not in params
    assert list(Application.objects.awaiting_verification()) == [waiting]


def test_the_clerks_counts_take_the_person_alone_as_parameters(new_application, clerk, clerk2):
    """With the states as parameters, PostgreSQL planned the counts anew at every page
    view of the bench's data (a generic plan that knows no state was costlier than each
    run's own: 0.9 of 2.3 ms); the states are in the text, the person's id (their drafts,
    their desk) the only parameter, and the counts are the ORM's."""
    statement, _names = clerk_list._state_counts_statement("default")
    assert {name for _index, name, _kind in statement.places} == {"person"}
    assert len(statement.template) == len(statement.places)
    new_application()
    theirs = new_application()
    Application.objects.filter(pk=theirs.pk).update(created_by=clerk2)
    for person in (clerk, clerk2):
        counts = clerk_list.state_counts(person)
        desk = search.desk_applications(person)
        assert counts["all"] == desk.count() == 1
        assert counts["draft"] == desk.filter(state=S.DRAFT, created_by=person).count() == 1
        assert counts["entered"] == desk.filter(state=S.ENTERED).count() == 0
