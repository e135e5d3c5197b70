"""Writing and withdrawing the published record (apps.publication), on the T&D side.

Called only inside the service transaction that changes the application, under its row
lock, so the published table never disagrees with the truth after a commit:

* publish — at verification, after the retail grant: the projection the supervisor
  checked (its hash re-checked here), frozen with the hash and the progress state;
* withdraw — by every change that invalidates it (an edit, a change of retailer, a
  cancellation, a change of the retailer's name or affiliation, the loss of the grant:
  visibility.withdraw_retail_view calls it, so no grant can go without the row);
* follow_state — release, completion and energization change the state retail sees
  without a new check (the hash leaves state out on purpose); the row follows in the same
  transaction.

A later session moves the table to the `retail` database and these three become outbox
messages; the row's shape stays.
"""

from __future__ import annotations

from apps.publication.models import PublishedApplication

from .models import Application
from .projection import RetailApplication, project, projection_hash


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


def publish(application: Application) -> PublishedApplication:
    """The caller holds the row lock and has just verified (or the barrier check found a
    verified, granted version whose projection still has the verified hash)."""
    assert application.is_retail_visible and application.verified_at is not None
    projection = publication_of(application)
    row = PublishedApplication(
        application_id=application.pk,
        version=application.version,
        projection_hash=application.projection_hash,
        verified_at=application.verified_at,
        **projection.as_dict(),
    )
    row.save()  # an UPDATE of a stale row, or an INSERT
    return row


def withdraw(application_id: int) -> bool:
    removed, _ = PublishedApplication.objects.filter(application_id=application_id).delete()
    return bool(removed)


def follow_state(application: Application) -> None:
    PublishedApplication.objects.filter(application_id=application.pk).update(
        state=application.state
    )
