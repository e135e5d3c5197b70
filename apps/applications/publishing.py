"""Publishing and withdrawing an application in the retail database, on the T&D side.

Nothing here touches the retail database: each function writes a replication message
(apps.replication), or gives it as a rider the transition's audit statement writes
(`publish_rider`, `follow_state`), in the service transaction that changes the
application, under its row lock, so the messages about one application are in its
commit order; the relay applies them to apps.publication's PublishedApplication
afterwards (eagerly after the commit in the embedded default). The T&D side keeps no
copy of the published table: an upsert carries the whole published row, and
`barrier_check` recomputes the truth.

* publish — at verification, after the retail grant: the projection the supervisor
  checked (its hash re-checked here), with the version, the hash, the verification time
  and the progress state;
* withdraw — by every change that invalidates it (an edit, a change of retailer, a
  cancellation, a change of the retailer's name or affiliation, the loss of the grant:
  visibility.withdraw_retail_view calls it, so no grant can go without the withdrawal);
* follow_state — release, completion and energization change the state retail sees
  without a new check (the hash leaves state out on purpose): the published row is sent
  again with the new state.
"""

from __future__ import annotations

import logging
from functools import cache
from typing import Any

from django.db import connections, router
from django.db.models import QuerySet

from apps.accounts.models import RoleCode
from apps.core.statements import Rider, Slots, Statement, compile_statement
from apps.publication.models import Subject
from apps.replication.models import Kind, ReplicationMessage
from apps.replication.services import replication_rider, replication_write
from apps.vocabulary.projection import RetailApplication, project, projection_hash

from .models import Application, ApplicationGroupObjectPermission

logger = logging.getLogger(__name__)


class NotPublishable(Exception):
    """The application's current projection is not the one verified (its hash differs)."""


def publication_of(application: Application) -> RetailApplication:
    """What publishing the application now would write; refuses a drifted projection."""
    projection = project(application)
    if not application.projection_hash or projection_hash(projection) != (
        application.projection_hash
    ):
        raise NotPublishable(application.pk)
    return projection


def published_row(application: Application) -> dict[str, Any]:
    """The published row's values (what an upsert carries), from the truth."""
    assert application.is_retail_visible and application.verified_at is not None
    return {
        "version": application.version,
        "projection_hash": application.projection_hash,
        "verified_at": application.verified_at,
        **publication_of(application).as_dict(),
    }


def publish(application: Application) -> ReplicationMessage:
    """The caller holds the row lock and has just verified (or the barrier check found a
    verified, granted version whose projection still has the verified hash)."""
    return replication_write(
        subject=Subject.APPLICATION,
        subject_id=application.pk,
        kind=Kind.UPSERT,
        payload=published_row(application),
    )


def publish_rider(application: Application) -> Rider:
    """`publish`'s message as a rider of the verification's audit statement."""
    return replication_rider(
        subject=Subject.APPLICATION,
        subject_id=application.pk,
        kind=Kind.UPSERT,
        payload=published_row(application),
    )


def withdraw(application_id: int) -> ReplicationMessage:
    return replication_write(
        subject=Subject.APPLICATION, subject_id=application_id, kind=Kind.REMOVE
    )


def _grant_rows(application_id: int) -> QuerySet[ApplicationGroupObjectPermission]:
    return ApplicationGroupObjectPermission.objects.filter(
        group__role__code=RoleCode.RETAIL,
        permission__codename="view_application",  # visibility.VIEW_PERM (it imports us)
        content_object_id=application_id,
    )


@cache
def _granted_statement(alias: str) -> Statement:
    """Whether retail holds the application's grant, as a SELECT built once per process
    (apps.core.statements): every progress step of a published application asks."""
    slots = Slots()
    statement, _compiler = compile_statement(
        _grant_rows(slots.id("application")).values("pk"), slots, alias
    )
    return statement


def follow_state(application: Application) -> Rider | None:
    """The published row sent again with its new state while it is published (both
    locks), as a rider of the transition's audit statement: the grant's check and the
    message in one `INSERT … SELECT … WHERE EXISTS` (replication_rider). None when there
    is nothing to send."""
    if not application.is_retail_visible:
        return None
    try:
        payload = published_row(application)
    except NotPublishable:
        if _grant_rows(application.pk).exists():
            # Drifted behind the services: barrier_check invalidates it; nothing is sent.
            logger.warning(
                "application id=%s not republished: its projection drifted", application.pk
            )
        return None
    alias = router.db_for_write(ReplicationMessage)
    granted = _granted_statement(alias)
    granted_params = granted.params(connections[alias], {"application": application.pk})
    return replication_rider(
        subject=Subject.APPLICATION,
        subject_id=application.pk,
        kind=Kind.UPSERT,
        payload=payload,
        condition=(granted.sql, granted_params),
    )
