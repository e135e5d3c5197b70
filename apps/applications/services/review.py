"""The masking's way to retail: the clerk encodes (the leak scan), a second person opens
the side-by-side review and verifies (four-eyes) or returns it for correction. The
verification grants retail's view and publishes, in the same transaction."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from django.db import connections, router, transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from apps.accounts.models import User
from apps.applications import notices as notify
from apps.audit.models import AuditAction
from apps.audit.services import Entry, audit_record, audit_record_many
from apps.core.errors import FourEyesViolation, NotAllowed, WrongState
from apps.core.statements import Insert, Rider
from apps.vault.errors import VaultError
from apps.vault.types import CustomerPII
from apps.vocabulary.projection import project, projection_hash, scanned_texts
from apps.vocabulary.states import POST_RELEASE_STATES, Contribution, RevealPurpose
from apps.vocabulary.states import ApplicationState as S
from apps.vocabulary.states import MaskingState as M

from .. import publishing
from ..leaks import Leak, scan
from ..models import Application, ApplicationContribution, ReviewOpening
from ..visibility import grant_rider
from ._common import (
    Alongside,
    check_version,
    clean_reason,
    customer_of,
    done_before,
    lock_application,
    pii_read,
    record_transition,
    require_td,
    save_fields,
)
from .masking import PROJECTION_CHANGED, invalidate_masking


class LeakFound(WrongState):
    """Encoding refused: a retail-visible field holds personal data. `leaks` names the
    fields and kinds, never the text found."""

    code = "leak_found"
    default_message = _("Personal data was found in fields retail would see.")

    def __init__(self, leaks: list[Leak]) -> None:
        self.leaks = leaks
        super().__init__()


def application_encode(
    *, acting_user: User, application_id: int, expected_version: int | None = None
) -> Application:
    """符号化: build the retail projection, scan it for the customer's own personal data and
    generic patterns, refuse naming each field, or record who encoded which version."""
    require_td(acting_user, "applications.encode_application")
    leaks: list[Leak] = []
    with transaction.atomic():
        application = lock_application(application_id, actor=acting_user)
        check_version(application, expected_version)
        encoded = (
            application.masking_state == M.ENCODED
            and application.encoded_version == application.version
            and application.encoded_by_id == acting_user.pk
        )
        if done_before(application, expected_version, encoded):
            return application
        if application.masking_state != M.UNMASKED:
            raise WrongState(_("This version is already encoded."))
        if application.state not in (S.ENTERED, *POST_RELEASE_STATES):
            raise WrongState(_("Submit the application before encoding it."))
        leaks = scan(fields=scanned_texts(application), customer=customer_of(application))
        if leaks:
            # The refusal is evidence too; it commits, the encoding does not happen.
            audit_record(
                actor=acting_user,
                action=AuditAction.APPLICATION_ENCODE_REFUSED,
                obj=application,
                changed_fields=[leak.field for leak in leaks],
                details={"kinds": sorted({str(leak.kind) for leak in leaks})},
            )
        else:
            _record_encoding(application, acting_user)
    if leaks:
        raise LeakFound(leaks)
    return application


def _record_encoding(application: Application, acting_user: User) -> None:
    fields = ["masking_state", "encoded_version", "encoded_by", "encoded_at"]
    if application.state == S.ENTERED:
        application.mark_encoded()
        fields.append("state")
    application.mask()
    application.encoded_version = application.version
    application.encoded_by = acting_user
    application.encoded_at = timezone.now()
    application.projection_hash = projection_hash(project(application))
    # A return is answered by this encoding; its reason stays in the audit trail.
    application.return_reason = ""
    application.returned_at = None
    record_transition(
        application,
        actor=acting_user,
        fields=[*fields, "projection_hash", "return_reason", "returned_at"],
        contribution=Contribution.ENCODED,
        action=AuditAction.APPLICATION_ENCODED,
        details={"version": application.version, "projection": application.projection_hash},
        event=notify.ENCODED,
    )


def application_record_review_opened(*, acting_user: User, application_id: int) -> None:
    """Verification of this version requires it (the side-by-side page records it through
    `application_open_review`)."""
    require_td(acting_user, "applications.verify_application")
    with transaction.atomic():
        application = lock_application(application_id, actor=acting_user)
        opening, opened = _record_opening(application, acting_user)
        audit_record_many(actor=acting_user, entries=[opened], riders=[opening])


def _record_opening(application: Application, acting_user: User) -> tuple[Rider, Entry]:
    """The opening of the locked version, as the row the audit entry that records it
    writes (`audit_record_many`'s riders: one round trip on PostgreSQL), and the entry."""
    if application.masking_state != M.ENCODED or application.encoded_version != application.version:
        raise WrongState(_("This application is not waiting for the second-person check."))
    row = {
        "application_id": application.pk,
        "version": application.version,
        "user_id": acting_user.pk,
    }
    entry = Entry(
        action=AuditAction.APPLICATION_REVIEW_OPENED,
        obj=application,
        details={"version": application.version},
    )
    alias = router.db_for_write(ReviewOpening)
    return _opening_insert(alias).rider(connections[alias], [row]), entry


@cache
def _opening_insert(alias: str) -> Insert:
    """A review opening's INSERT (its moment filled as a save fills it), built once per
    process (apps.core.statements)."""
    return Insert(ReviewOpening, ["application_id", "version", "user_id", "opened_at"], alias)


@dataclass(frozen=True)
class ReviewOpened:
    """What the side-by-side page shows, all of it from one locked read of the row."""

    # As locked for the opening: the version opened, with its retailer and the people
    # who created and encoded it (what the page names).
    application: Application
    customer: CustomerPII | None
    # Why `customer` is None: the reader's role does not allow the read ("" when shown).
    customer_withheld: str | Promise
    # The four-eyes rule's refusal of this reader ("" if none): it only decides whether
    # the page offers the button; application_verify enforces the rule.
    cannot_verify: str | Promise


def application_open_review(*, acting_user: User, application_id: int) -> ReviewOpened:
    """The side-by-side page's one call: records the opening (as
    `application_record_review_opened`) and reads the customer for the check (as
    `application_reveal_customer(purpose=REVIEW)`), under one row lock. The statement
    that locks the row is the one both reads' checks need — whether the reader is in T&D
    now, refused before anything else (a missing id included) — and also reads whether
    they shaped this version; the two audit events, as those two calls write them, go in
    one INSERT, which on PostgreSQL also writes the opening. Refusals come before any
    write; a role without the read still records the opening, as the page always did,
    and gets no customer."""
    require_td(acting_user, "applications.verify_application")
    withheld: str | Promise = ""
    customer: CustomerPII | None = None
    unreadable: VaultError | None = None
    with transaction.atomic():
        application = lock_application(
            application_id,
            actor=acting_user,
            related=("created_by", "encoded_by"),
            facts=_shaped_by,
        )
        opening, opened = _record_opening(application, acting_user)
        entries = [opened]
        try:
            # The reveal's own refusal, word for word; the purpose's permission
            # (verify_application) was required above, and the division by the lock.
            require_td(acting_user, "applications.reveal_customer")
        except NotAllowed as refused:
            withheld = refused.message
        else:
            try:
                customer = customer_of(application)
            except VaultError as failure:
                # As when the page revealed after the opening's commit: the opening
                # stands, the read did not happen, the failure is the page's.
                unreadable = failure
            else:
                entries.append(pii_read(application, purpose=RevealPurpose.REVIEW))
        audit_record_many(actor=acting_user, entries=entries, riders=[opening])
    if unreadable is not None:
        raise unreadable
    cannot_verify: str | Promise = ""
    try:
        _refuse_shapers(_shaped(application))
    except FourEyesViolation as refused:
        cannot_verify = refused.message
    return ReviewOpened(
        application=application,
        customer=customer,
        customer_withheld=withheld,
        cannot_verify=cannot_verify,
    )


FOUR_EYES_MESSAGES = {
    Contribution.CREATED: _("You created this application; a second person must verify it."),
    Contribution.EDITED: _("You edited this application; a second person must verify it."),
    Contribution.SUBMITTED: _("You submitted this application; a second person must verify it."),
    Contribution.ENCODED: _("You encoded this application; a second person must verify it."),
}


def _contributed_kinds(application: Application, user: User) -> QuerySet[Any, str]:
    return ApplicationContribution.objects.filter(
        application=application, user=user, version__lte=application.version
    ).values_list("kind", flat=True)


# The ways of shaping a version, in the order a refusal names them.
SHAPERS = (Contribution.CREATED, Contribution.EDITED, Contribution.SUBMITTED, Contribution.ENCODED)


def _shaped_by(user_id: int) -> dict[str, Exists]:
    """Whether the user `user_id` shaped any version up to the locked one, one EXISTS a kind (as
    `shaped_<kind>`), for the lock's own statement: `_contributed_kinds` without a
    statement of its own."""
    return {
        f"shaped_{kind}": Exists(
            ApplicationContribution.objects.filter(
                application_id=OuterRef("pk"),
                user_id=user_id,
                kind=kind,
                version__lte=OuterRef("version"),
            )
        )
        for kind in SHAPERS
    }


def _refuse_shapers(kinds: set[str]) -> None:
    for kind in SHAPERS:
        if kind in kinds:
            raise FourEyesViolation(FOUR_EYES_MESSAGES[kind])


def check_four_eyes(application: Application, user: User) -> None:
    """The verifier must not have shaped the content: anyone who created, edited, submitted
    or encoded any version up to the current one is refused — superusers included."""
    _refuse_shapers(set(_contributed_kinds(application, user)))


def _verification_facts(user_id: int) -> dict[str, Exists]:
    """What verification reads with its lock (one statement, no read of its own):
    whether the verifier shaped any version up to the locked one (`_shaped_by`), and
    whether they opened the review page for this version *after this encoding*, as
    `opened_this_encoding` (a return does not bump the version, so a look at an earlier
    encoding of the same content does not count)."""
    return {
        **_shaped_by(user_id),
        "opened_this_encoding": Exists(
            ReviewOpening.objects.filter(
                application_id=OuterRef("pk"),
                version=OuterRef("version"),
                user_id=user_id,
                opened_at__gte=OuterRef("encoded_at"),
            )
        ),
    }


def _shaped(application: Application) -> set[str]:
    """The `_shaped_by` facts the locking read set: the kinds of shaping the user did."""
    return {kind for kind in SHAPERS if getattr(application, f"shaped_{kind}")}


def application_verify(
    *, acting_user: User, application_id: int, expected_version: int
) -> Application:
    """Second-person check (ダブルチェック) of one application; there is no bulk form."""
    require_td(acting_user, "applications.verify_application")
    with transaction.atomic():
        application = lock_application(application_id, actor=acting_user, facts=_verification_facts)
        check_version(application, expected_version)
        verified = (
            application.masking_state == M.VERIFIED
            and application.verified_version == application.version
            and application.verified_by_id == acting_user.pk
        )
        if done_before(application, expected_version, verified):
            return application
        if application.masking_state == M.VERIFIED:
            raise WrongState(_("This application has already been verified."))
        if (
            application.masking_state != M.ENCODED
            or application.encoded_version != application.version
        ):
            raise WrongState(_("This application is not waiting for the second-person check."))
        _refuse_shapers(_shaped(application))
        if not getattr(application, "opened_this_encoding", False):
            raise NotAllowed(
                _("Open the review page for this version before verifying it."), code="not_reviewed"
            )
        if projection_hash(project(application)) == application.projection_hash:
            _confirm_verification(application, acting_user)
            return application
        # What retail would see changed behind this encoding (a retailer renamed while it
        # was encoded, say): it no longer stands. Withdraw it so that encode accepts the
        # application again, and commit that, like a leak refusal, before refusing.
        save_fields(
            application,
            invalidate_masking(application, actor=acting_user, cause=PROJECTION_CHANGED),
        )
    raise WrongState(_("What retail would see changed after encoding; encode it again."))


def _confirm_verification(application: Application, acting_user: User) -> None:
    fields = ["masking_state", "verified_version", "verified_by", "verified_at"]
    if application.state == S.ENCODED:
        application.mark_verified()
        fields.append("state")
    application.confirm_mask()
    application.verified_version = application.version
    application.verified_by = acting_user
    application.verified_at = timezone.now()

    def grant_and_publish() -> Alongside:
        grant, granted = grant_rider(application)
        # Both locks hold with the commit: retail may read exactly this projection, frozen.
        return Alongside(entries=[granted], riders=[grant, publishing.publish_rider(application)])

    # The grant, the publication, their audit event and the verification's: one INSERT.
    record_transition(
        application,
        actor=acting_user,
        fields=fields,
        action=AuditAction.APPLICATION_VERIFIED,
        details={"version": application.version, "projection": application.projection_hash},
        event=notify.VERIFIED,
        before=grant_and_publish,
    )


def application_return(
    *, acting_user: User, application_id: int, reason: str, expected_version: int | None = None
) -> Application:
    require_td(acting_user, "applications.return_application")
    with transaction.atomic():
        application = lock_application(application_id, actor=acting_user)
        check_version(application, expected_version)
        if application.masking_state != M.ENCODED:
            raise WrongState(
                _("Only an application waiting for the second-person check can be returned.")
            )
        reason = clean_reason(reason, customer=customer_of(application))
        fields = ["masking_state", "return_reason", "returned_by", "returned_at"]
        application.unmask()
        if application.state == S.ENCODED:
            application.back_to_entered()
            fields.append("state")
        application.return_reason = reason
        application.returned_by = acting_user
        application.returned_at = timezone.now()
        record_transition(
            application,
            actor=acting_user,
            fields=fields,
            action=AuditAction.APPLICATION_RETURNED,
            details={"version": application.version},
            reason=reason,
            event=notify.RETURNED,
        )
    return application
