"""The stored queue column `waiting_for`: after every transition it says which T&D check
the application waits for, as its definition over the row's own columns does, also when
a write bypasses the services (it is a generated column: the database computes it)."""

from __future__ import annotations

import pytest

from apps.applications import selectors, services
from apps.applications.models import Application, Waiting
from apps.vocabulary.states import POST_RELEASE_STATES
from apps.vocabulary.states import ApplicationState as S
from apps.vocabulary.states import MaskingState as M
from tests.conftest import advance

pytestmark = pytest.mark.django_db(databases=["default", "vault", "retail"])


def _defined(row: dict[str, object]) -> str:
    """The definition, in Python, over the row's own columns."""
    if row["masking_state"] == M.UNMASKED and row["state"] in (S.ENTERED, *POST_RELEASE_STATES):
        return Waiting.ENCODING
    if (
        row["masking_state"] == M.ENCODED
        and row["encoded_version"] == row["version"]
        and row["state"] != S.CANCELLED
    ):
        return Waiting.CHECK
    return Waiting.NOTHING


def _stored(app: Application) -> str:
    row = Application.objects.values(
        "waiting_for", "state", "masking_state", "version", "encoded_version"
    ).get(pk=app.pk)
    assert row["waiting_for"] == _defined(row), row
    return str(row["waiting_for"])


def test_the_column_follows_every_transition_of_the_workflow(
    new_application, clerk, supervisor, construction
):
    app = new_application()
    assert _stored(app) == Waiting.NOTHING  # a draft waits for its author only

    seen = []
    for step in ("entered", "encoded", "verified", "released", "constructed", "energized"):
        app = advance(app, step, clerk=clerk, supervisor=supervisor, construction=construction)
        seen.append((step, _stored(app)))

    assert seen == [
        ("entered", Waiting.ENCODING),
        ("encoded", Waiting.CHECK),
        ("verified", Waiting.NOTHING),
        ("released", Waiting.NOTHING),
        ("constructed", Waiting.NOTHING),
        ("energized", Waiting.NOTHING),
    ]


def test_a_return_puts_it_back_in_the_encoding_queue(new_application, clerk, supervisor):
    app = advance(new_application(), "encoded", clerk=clerk, supervisor=supervisor)

    services.application_return(
        acting_user=supervisor, application_id=app.pk, reason="記載内容に確認事項があります。"
    )

    assert _stored(app) == Waiting.ENCODING
    assert selectors.returned().filter(pk=app.pk).exists()


def test_an_edit_after_release_waits_for_encoding_again(new_application, clerk, supervisor):
    app = advance(new_application(), "released", clerk=clerk, supervisor=supervisor)

    app = services.application_update(
        acting_user=clerk,
        application_id=app.pk,
        expected_version=app.version,
        changes={"remarks": "引込柱の位置を変更。"},
    )

    assert (app.state, _stored(app)) == (S.RELEASED, Waiting.ENCODING)
    assert list(selectors.awaiting_encoding().values_list("pk", flat=True)) == [app.pk]


def test_a_cancelled_application_waits_for_nothing(new_application, clerk, supervisor):
    app = advance(new_application(), "encoded", clerk=clerk, supervisor=supervisor)

    services.application_cancel(
        acting_user=supervisor, application_id=app.pk, reason="申込者から取り下げの連絡。"
    )

    assert _stored(app) == Waiting.NOTHING
    assert not selectors.awaiting_verification().exists()


def test_a_write_behind_the_services_back_moves_the_column_with_it(
    new_application, clerk, supervisor
):
    # given an application waiting for the second-person check
    app = advance(new_application(), "encoded", clerk=clerk, supervisor=supervisor)
    assert selectors.awaiting_verification().filter(pk=app.pk).exists()

    # when its content version changes without the services (and so without unmasking)
    Application.objects.filter(pk=app.pk).update(version=app.version + 1)

    # then the encoding no longer names the current version: it leaves the queue
    assert _stored(app) == Waiting.NOTHING
    assert not selectors.awaiting_verification().exists()
