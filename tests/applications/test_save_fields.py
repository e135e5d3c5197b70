"""A transition's save (services._common.write_columns) through an UPDATE built once
(apps.core.statements.Update): the row it writes is the one `save(update_fields=…)`
writes, the state filter of django-fsm's ConcurrentTransitionMixin still guards it, and
the second run compiles nothing. Create's INSERT (`insert_application`) likewise."""

from __future__ import annotations

import datetime as dt
from unittest import mock

import pytest
from django.db import connection, transaction
from django.db.models.signals import post_save, pre_save
from django.db.models.sql.compiler import SQLInsertCompiler, SQLUpdateCompiler
from django.forms.models import model_to_dict

from apps.applications.models import Application
from apps.applications.services._common import (
    insert_application,
    lock_application,
    save_fields,
    write_columns,
)
from apps.core.errors import StaleVersion
from apps.core.statements import Update
from apps.retailers.models import Retailer
from apps.vocabulary.states import ApplicationState as S
from apps.vocabulary.states import MaskingState as M
from tests.conftest import advance

pytestmark = pytest.mark.django_db(databases=["default", "vault", "retail"])


def _row(pk: int) -> dict:
    application = Application.objects.get(pk=pk)
    return {**model_to_dict(application), "updated_at": application.updated_at}


def test_a_transition_writes_the_row_that_save_writes(new_application, clerk):
    """Two drafts submitted, one by the model's own save and one by write_columns: the
    same columns change, the rest stay, the moment column moves; the instance is then
    saved state as far as the mixin knows (a second transition goes through)."""
    by_save, built = new_application(), new_application()
    before = _row(built.pk)
    for application in (by_save, built):
        application = lock_application(application.pk)
        application.submit()
        if application.pk == by_save.pk:
            application.save(update_fields=["state", "updated_at"])
        else:
            save_fields(application, ["state"])
            assert not application._state.adding and application._state.db == "default"
    after = _row(built.pk)
    assert after["state"] == S.ENTERED == _row(by_save.pk)["state"]
    assert after["updated_at"] > before["updated_at"]
    assert {k for k in after if after[k] != before[k]} == {"state", "updated_at"}
    # The mixin's record of the state as read moved with the write: the next
    # transition of the same instance is guarded by the state it wrote.
    with transaction.atomic():
        application = lock_application(built.pk)
        application.mark_encoded()
        application.mask()
        save_fields(application, ["state", "masking_state"])
        application.remarks = "after the encoding"
        write_columns(application, ["remarks"])
    row = Application.objects.get(pk=built.pk)
    assert (row.state, row.masking_state, row.remarks) == (
        S.ENCODED,
        M.ENCODED,
        "after the encoding",
    )


def test_a_state_changed_behind_the_read_refuses_and_writes_nothing(new_application):
    """The second line of defence: the row's state is no longer what the read found."""
    application = lock_application(new_application().pk)
    remarks = application.remarks
    Application.objects.filter(pk=application.pk).update(state=S.CANCELLED)
    application.submit()
    application.remarks = "must not be written"
    with pytest.raises(StaleVersion):
        save_fields(application, ["state", "remarks"])
    row = Application.objects.get(pk=application.pk)
    assert (row.state, row.remarks) == (S.CANCELLED, remarks)
    # The masking state is guarded too (the mixin filters on every state field).
    application = lock_application(row.pk)
    Application.objects.filter(pk=application.pk).update(masking_state=M.ENCODED)
    with pytest.raises(StaleVersion):
        write_columns(application, ["remarks"])


def test_the_retailer_is_written_with_its_affiliation(new_application):
    """As the model's save: the affiliation is copied with the retailer."""
    own = Retailer.objects.create(code="R9", name="自社小売", is_affiliated=True)
    application = lock_application(new_application().pk)
    assert not application.retailer_affiliated
    application.retailer = own
    write_columns(application, ["retailer"])
    row = Application.objects.get(pk=application.pk)
    assert (row.retailer_id, row.retailer_affiliated) == (own.pk, True)


def test_the_saves_signals_are_sent_with_the_columns(new_application):
    application = lock_application(new_application().pk)
    heard = []

    def hear(signal, **kwargs):
        heard.append((signal, kwargs["instance"].pk, kwargs["update_fields"]))

    pre_save.connect(hear, sender=Application, weak=False)
    post_save.connect(hear, sender=Application, weak=False)
    try:
        save_fields(application, ["remarks"])
    finally:
        pre_save.disconnect(hear, sender=Application)
        post_save.disconnect(hear, sender=Application)
    columns = frozenset({"remarks", "updated_at"})
    assert heard == [(pre_save, application.pk, columns), (post_save, application.pk, columns)]


def test_the_update_is_built_once(new_application, clerk, supervisor):
    advance(new_application(), "verified", clerk=clerk, supervisor=supervisor)
    application = lock_application(new_application().pk)
    application.submit()
    with mock.patch.object(
        SQLUpdateCompiler, "as_sql", autospec=True, side_effect=AssertionError("compiled")
    ):
        save_fields(application, ["state"])
    assert Application.objects.get(pk=application.pk).state == S.ENTERED


def test_update_refuses_what_it_cannot_write_as_save_does(new_application, retailer):
    with pytest.raises(ValueError, match="attname"):
        Update(Application, ["retailer"], "default")  # the relation, not its column
    with pytest.raises(ValueError, match="attname"):
        Update(Application, ["remarks", "remarks"], "default")
    with pytest.raises(ValueError, match="key"):
        Update(Application, ["id"], "default")
    with pytest.raises(ValueError, match="guard"):
        Update(Application, ["remarks"], "default", guards=["retailer"])
    update = Update(Application, ["remarks"], "default", guards=["state"])
    application = new_application()
    with pytest.raises(ValueError, match="guards"):
        update.run(connection, application, {})
    with pytest.raises(TypeError):
        update.run(connection, retailer, {"state": S.DRAFT})
    # A key that is no row's writes nothing, as a guard that does not hold.
    assert update.run(connection, application, {"state": S.RELEASED}) == 0
    assert update.run(connection, application, {"state": S.DRAFT}) == 1
    application.pk = 10**9
    assert update.run(connection, application, {"state": S.DRAFT}) == 0


def test_an_auto_now_column_takes_the_moment_of_the_run(new_application):
    application = lock_application(new_application().pk)
    application.updated_at = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
    save_fields(application, ["remarks"])
    assert Application.objects.get(pk=application.pk).updated_at.year > 2000


def test_create_inserts_the_row_that_save_inserts(new_application, clerk):
    """A copy of an application inserted by the model's save and by insert_application:
    the same columns (the affiliation copied from the retailer), a key of its own, the
    instance saved as far as Django and the mixin know; the second insert compiles
    nothing."""
    source = Application.objects.get(pk=new_application().pk)
    Retailer.objects.filter(pk=source.retailer_id).update(is_affiliated=True)

    def copy(n: int) -> Application:
        meta = Application._meta
        made = Application(
            **{
                f.attname: getattr(source, f.attname)
                for f in meta.concrete_fields
                if not (f.primary_key or f.generated)
            }
        )
        made.created_by_id, made.pseudonym, made.reference = clerk.pk, f"P-{n}", f"COPY-{n}"
        made.retailer_affiliated = False  # copied from the retailer by either save
        return made

    by_save, built = copy(1), copy(2)
    by_save.save()
    insert_application(built)
    assert built.pk not in (None, by_save.pk) and not built._state.adding
    assert built.retailer_affiliated and by_save.retailer_affiliated
    # The generated column comes back with the key, as a save sets it.
    assert (
        built.waiting_for == by_save.waiting_for == Application.objects.get(pk=built.pk).waiting_for
    )
    rows = [
        model_to_dict(Application.objects.get(pk=a.pk), exclude=["id", "pseudonym", "reference"])
        for a in (by_save, built)
    ]
    assert rows[0] == rows[1]
    # Saved state as far as the mixin knows: a transition's guard holds.
    built.submit()
    save_fields(built, ["state"])
    with mock.patch.object(
        SQLInsertCompiler, "as_sql", autospec=True, side_effect=AssertionError("compiled")
    ):
        insert_application(copy(3))
