"""A retail request for an application it cannot see is recorded in the retail view log
(copied into the audit trail by the collector, for the access review): the same 404 as
before, one INSERT more, and nothing of what was typed but a reference."""

from __future__ import annotations

import pytest

from apps.publication.models import RetailView, RetailViewLog
from tests.conftest import advance
from tests.retail.site import AllQueries, detail

pytestmark = pytest.mark.django_db(databases=["default", "vault", "retail"])


def _probes() -> list[RetailViewLog]:
    return list(RetailViewLog.objects.filter(view=RetailView.NOT_FOUND).order_by("id"))


def test_a_reference_that_does_not_exist_is_recorded_with_who_asked(retail_client, retail_user):
    response = retail_client.get(detail("SD2099-9999999"), REMOTE_ADDR="10.0.0.9")

    assert response.status_code == 404
    [probe] = _probes()
    assert (probe.account_id, probe.username) == (retail_user.pk, retail_user.username)
    assert probe.details == {"view": "detail", "requested": "SD2099-9999999"}
    assert probe.reference == "SD2099-9999999"
    assert probe.application_id is None
    assert (probe.request_id, probe.client_ip) == (response["X-Request-ID"], "10.0.0.9")


def test_an_application_retail_may_not_see_yet_is_recorded_the_same_way(
    retail_client, new_application, clerk, supervisor
):
    app = advance(new_application(), "encoded", clerk=clerk, supervisor=supervisor)

    response = retail_client.get(detail(app.reference or ""))

    assert response.status_code == 404
    [probe] = _probes()
    assert probe.details["requested"] == app.reference
    # Nothing says the reference exists: the row reads like a missing one.
    assert probe.application_id is None and probe.pseudonym == ""
    assert RetailViewLog.objects.count() == 1


@pytest.mark.parametrize(
    "typed",
    [
        "090-7351-2468",  # a phone number
        "鳥井加奈",  # a name
        "canary.torii@example.invalid",
        "SD２０２６-０００００１２",  # full-width digits are not a reference
        "sd2026-0000012",
        "SD2026-0000012 ",
        "x" * 3000,
    ],
)
def test_anything_else_typed_is_kept_as_its_length_only(retail_client, typed):
    response = retail_client.get(detail(typed))

    assert response.status_code == 404
    [probe] = _probes()
    assert probe.details == {
        "view": "detail",
        "requested": "",
        "requested_length": min(len(typed), 1000),
    }
    assert probe.reference == ""
    assert typed.strip() not in str(probe.details)


def test_recording_the_probe_costs_one_insert(retail_client):
    url = detail("SD2099-9999999")

    with AllQueries() as queries:
        retail_client.get(url)

    inserts = [sql for sql in queries.sql if sql.startswith("INSERT")]
    assert len(inserts) == 1
    assert "publication_retailviewlog" in inserts[0]


def test_a_visible_application_is_not_a_probe(retail_client, new_application, clerk, supervisor):
    app = advance(new_application(), "verified", clerk=clerk, supervisor=supervisor)

    assert retail_client.get(detail(app.reference or "")).status_code == 200
    assert _probes() == []
