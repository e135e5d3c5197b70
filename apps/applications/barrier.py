"""The barrier check: the two locks and the retail database against the truth.

The truth is the T&D side: an application may be published exactly while its masking is
verified for its current version AND the retail group holds its object permission
(guardian), and then its published row in the retail database must be its current
projection with the verified hash; a person has a retail account exactly while they are
an active member of retail with the retail role, and it holds their current fields. The
services keep the locks in step in one transaction and write the replication messages
that bring the retail database along (apps.replication); this finds (and with `repair`,
fixes, by writing messages and running the relay) any disagreement, which should never
exist. A subject with a message not applied yet is in flight and not compared: the relay
retries it until done.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from django.db import transaction
from guardian.shortcuts import remove_perm

from apps.accounts.models import User
from apps.accounts.retail_accounts import (
    retail_account_fields,
    retail_account_remove,
    retail_account_upsert,
    retail_people,
)
from apps.audit.models import AuditAction
from apps.audit.services import audit_record
from apps.publication.models import PublishedApplication, RetailAccount, Subject
from apps.replication.services import pending_subject_ids, relay_until_done
from apps.vocabulary.projection import (
    RETAIL_COLUMNS,
    projection_from_row,
    projection_from_values,
    projection_hash,
)
from apps.vocabulary.states import MaskingState as M

from . import publishing
from .models import Application, ApplicationGroupObjectPermission, ApplicationUserObjectPermission
from .services import BARRIER_CHECK, invalidate_locked
from .visibility import VIEW_PERM, retail_group, withdraw_retail_view

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Disagreement:
    """The two locks disagree."""

    application_id: int
    permission_held: bool
    masking_verified: bool
    # Set when the stray permission was granted to one person instead of the group:
    # the product never does that, so such a row is always withdrawn.
    user_id: int | None = None


class Mismatch(StrEnum):
    # Verified and granted, but retail cannot read it: repaired by publishing.
    UNPUBLISHED = "unpublished"
    # A published row without both locks: repaired by deleting it.
    NOT_VISIBLE = "published_not_visible"
    # The row is not the current version's projection, hash or state: republished.
    DIFFERS = "published_differs"
    # What retail would see changed since encoding without invalidating it (a change
    # that bypassed the services): repaired by invalidating the encoding, so the normal
    # encode → verify path takes it from there.
    DRIFTED = "drifted"


@dataclass(frozen=True)
class PublicationMismatch:
    """The published table disagrees with the truth about one application."""

    application_id: int
    mismatch: Mismatch


class AccountMismatch(StrEnum):
    # A person entitled to a retail account has none: repaired by provisioning it.
    MISSING = "account_missing"
    # A retail account of someone who is not (any more) an active retail person.
    NOT_ENTITLED = "account_not_entitled"
    # The account's fields are not the person's current ones: provisioned again.
    DIFFERS = "account_differs"


@dataclass(frozen=True)
class RetailAccountMismatch:
    """The retail database's accounts disagree with the truth about one person."""

    user_id: int
    mismatch: AccountMismatch


Finding = Disagreement | PublicationMismatch | RetailAccountMismatch


def barrier_check(*, repair: bool) -> list[Finding]:
    """Compare both locks and the published table for every application. A permission
    without verified masking is withdrawn; verified masking without a permission is
    reported (granting is a human decision and stays with the verify service); a
    per-person grant is always withdrawn; the published table is made equal to the
    truth (see Mismatch)."""
    group = retail_group()
    with_perm = set(
        ApplicationGroupObjectPermission.objects.filter(
            group=group, permission__codename=VIEW_PERM
        ).values_list("content_object_id", flat=True)
    )
    verified = set(Application.objects.retail_visible_state().values_list("id", flat=True))
    found: list[Finding] = [
        Disagreement(pk, permission_held=pk in with_perm, masking_verified=pk in verified)
        for pk in sorted(with_perm ^ verified)
    ]
    user_grants = ApplicationUserObjectPermission.objects.filter(
        permission__codename=VIEW_PERM
    ).values_list("content_object_id", "user_id")
    found += [
        Disagreement(pk, permission_held=True, masking_verified=pk in verified, user_id=user_id)
        for pk, user_id in user_grants
    ]
    found += _publication_mismatches(verified & with_perm)
    found += _account_mismatches()
    if repair:
        for item in found:
            _repair(item)
        if found:
            relay_until_done()
    return found


def _publication_mismatches(visible: set[int]) -> list[PublicationMismatch]:
    encoded = {
        row["id"]: row
        for row in Application.objects.exclude(masking_state=M.UNMASKED).values(
            *RETAIL_COLUMNS, "version", "projection_hash"
        )
    }
    drifted = {
        pk
        for pk, row in encoded.items()
        if projection_hash(projection_from_row(row)) != row["projection_hash"]
    }
    published = {row["application_id"]: row for row in PublishedApplication.objects.values()}
    in_flight = pending_subject_ids(Subject.APPLICATION)
    found: dict[int, Mismatch] = {pk: Mismatch.DRIFTED for pk in drifted}
    for pk, row in published.items():
        if pk in found or pk in in_flight:
            continue
        if pk not in visible:
            found[pk] = Mismatch.NOT_VISIBLE
        elif not _equals_truth(row, encoded[pk]):
            found[pk] = Mismatch.DIFFERS
    for pk in visible - set(published) - set(found) - in_flight:
        found[pk] = Mismatch.UNPUBLISHED
    return [PublicationMismatch(pk, found[pk]) for pk in sorted(found)]


def _equals_truth(row: Mapping[str, Any], truth: Mapping[str, Any]) -> bool:
    shown = projection_from_values(row)
    return (
        row["version"] == truth["version"]
        and row["projection_hash"] == truth["projection_hash"]
        and row["verified_at"] == truth["verified_at"]
        and projection_hash(shown) == row["projection_hash"]
        and shown == projection_from_row(truth)
    )


# What the retail site may change of its own account after provisioning (its password).
_ACCOUNT_COMPARED = ("username", "display_name", "is_active", "session_stamp")


def _account_mismatches() -> list[RetailAccountMismatch]:
    people = {user.pk: user for user in retail_people()}
    accounts = {row["id"]: row for row in RetailAccount.objects.values("id", *_ACCOUNT_COMPARED)}
    in_flight = pending_subject_ids(Subject.ACCOUNT)
    found: dict[int, AccountMismatch] = {}
    for pk, row in accounts.items():
        if pk in in_flight:
            continue
        person = people.get(pk)
        if person is None:
            found[pk] = AccountMismatch.NOT_ENTITLED
            continue
        truth = retail_account_fields(person)
        if any(row[name] != truth[name] for name in _ACCOUNT_COMPARED):
            found[pk] = AccountMismatch.DIFFERS
    for pk in set(people) - set(accounts) - in_flight:
        found[pk] = AccountMismatch.MISSING
    return [RetailAccountMismatch(pk, found[pk]) for pk in sorted(found)]


def _repair_account(item: RetailAccountMismatch) -> None:
    logger.warning(
        "barrier check repairs the retail account of id=%s: %s", item.user_id, item.mismatch
    )
    with transaction.atomic():
        user = User.objects.select_for_update().filter(pk=item.user_id).first()
        if user is not None and retail_people().filter(pk=user.pk).exists():
            # A missing account gets the person's password; an existing one keeps its own.
            retail_account_upsert(user, credentials=item.mismatch == AccountMismatch.MISSING)
        else:
            retail_account_remove(item.user_id)


def _repair(item: Finding) -> None:
    if isinstance(item, PublicationMismatch):
        _repair_publication(item)
    elif isinstance(item, RetailAccountMismatch):
        _repair_account(item)
    elif item.user_id is not None:
        with transaction.atomic():
            application = Application.objects.select_for_update().get(pk=item.application_id)
            user = User.objects.get(pk=item.user_id)
            remove_perm(VIEW_PERM, user, application)
            audit_record(
                actor=None,
                action=AuditAction.PERMISSION_REVOKED,
                obj=application,
                details={"permission": VIEW_PERM, "user": item.user_id, "why": "barrier_check"},
            )
    elif item.permission_held and not item.masking_verified:
        with transaction.atomic():
            application = Application.objects.select_for_update().get(pk=item.application_id)
            if not application.is_retail_visible:
                withdraw_retail_view(application, actor=None)


def _repair_publication(item: PublicationMismatch) -> None:
    pk = item.application_id
    logger.warning("barrier check repairs the publication of id=%s: %s", pk, item.mismatch)
    if item.mismatch == Mismatch.DRIFTED:
        invalidate_locked(pk, actor=None, cause=BARRIER_CHECK)
        return
    with transaction.atomic():
        application = (
            Application.objects.select_for_update().select_related("retailer").filter(pk=pk).first()
        )
        granted = ApplicationGroupObjectPermission.objects.filter(
            group=retail_group(), permission__codename=VIEW_PERM, content_object_id=pk
        ).exists()
        if application is not None and application.is_retail_visible and granted:
            # Drifted since the check: the next run invalidates it.
            with contextlib.suppress(publishing.NotPublishable):
                publishing.publish(application)
        else:
            publishing.withdraw(pk)
