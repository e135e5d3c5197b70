"""What every transition shares: the row lock, the version checks, the contribution rows
behind the four-eyes rule, the save, and the customer's record in the vault."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connections, router
from django.db.models import Exists, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import ConcurrentTransitionMixin, FSMFieldMixin

from apps.accounts.models import DivisionCode, DivisionMembership, User
from apps.accounts.permissions import require
from apps.accounts.selectors import is_in_division
from apps.applications import notices as notify
from apps.audit.models import AuditAction
from apps.audit.services import Entry, audit_record_many
from apps.core.errors import NotAllowed, NotFound, StaleVersion
from apps.core.statements import Insert, ModelRead, Rider, Slots, Update
from apps.vault.services import vault_read
from apps.vault.types import PII_FIELDS, CustomerPII
from apps.vocabulary.states import Contribution, RevealPurpose

from ..leaks import scan_text
from ..models import Application, ApplicationContribution
from ..validators import refuse_invisible_in

TD = DivisionCode.TD


def require_td(user: User | None, perm: str) -> User:
    """`require(user, perm, division=TD)` less its one query: what it checks in memory
    (signed in, active, the permission, which a request loads once with its user) is
    checked here, and the division *now* is read by the transition's first statement
    (`in_td_now`, in `lock_application(…, actor=)` or create's first read), which
    refuses before anything is written. A refusal here is require's own, message and
    order (the division before the permission) alike."""
    if user is None or not user.is_authenticated or not user.is_active or not user.has_perm(perm):
        require(user, perm, division=TD)
        raise NotAllowed()  # require refused already; has_perm does not change its mind
    return user


def in_td_now(user: User) -> Exists:
    """Is `user` a member of T&D at this moment (as `User.division_at() == TD`), as an
    expression for the statement that reads what the transition needs anyway."""
    return in_td_at(user.pk, timezone.now())


def in_td_at(user_id: int, moment: dt.datetime) -> Exists:
    """Is the user `user_id` a member of T&D at `moment`."""
    return Exists(
        DivisionMembership.objects.filter(
            Q(valid_until__isnull=True) | Q(valid_until__gt=moment),
            user_id=user_id,
            division_id=TD,
            valid_from__lte=moment,
        )
    )


def outside_td() -> NotAllowed:
    """require()'s refusal of someone outside T&D, word for word."""
    return NotAllowed(
        _("Only members of the %(division)s division may do this.") % {"division": TD.label}
    )


# Further EXISTS a transition's locking read needs, as a function of the actor's id
# giving them by name (a module-level function: it is part of the statement's key).
Facts = Callable[[int], Mapping[str, Exists]]


@cache
def _locking_read(
    alias: str, with_actor: bool, related: tuple[str, ...], facts: Facts | None
) -> ModelRead[Application]:
    """The locking read of one shape, built once per process (apps.core.statements):
    building and compiling it cost three times what running it does, on every
    transition."""

    def build(slots: Slots) -> QuerySet[Application, Application]:
        # `of=("self",)`: a plain FOR UPDATE over the join would lock the retailer's row
        # too (and the people's of `related`) and serialise every application of that
        # retailer (the affiliated one holds most); it also lets PostgreSQL lock through
        # the LEFT JOIN of a nullable key. SQLite ignores row locks, `of` included.
        rows = Application.objects.select_for_update(of=("self",)).select_related(
            "retailer", *related
        )
        if with_actor:
            actor = slots.id("actor")
            rows = rows.annotate(actor_in_td=in_td_at(actor, slots.moment("now")))
            if facts is not None:
                rows = rows.annotate(**facts(actor))
        return rows.filter(pk=slots.id("application"))

    return ModelRead(build, alias)


def lock_application(
    application_id: int,
    *,
    actor: User | None = None,
    related: Sequence[str] = (),
    facts: Facts | None = None,
) -> Application:
    """The application, locked. With `actor` (a person acting through a service that
    called `require_td`), the same statement reads whether they are in T&D now and
    refuses them if not — before anything is written, and before a not-found, as
    require() did. `facts` gives further EXISTS the transition needs (of the actor's
    id), read by the same statement and set on the application under their names;
    `related` are further foreign keys read with it (beside the retailer), for a caller
    that shows them."""
    if facts is not None and actor is None:
        raise ValueError("facts are the actor's: pass the actor")
    alias = router.db_for_write(Application)
    read = _locking_read(alias, actor is not None, tuple(related), facts)
    values: dict[str, Any] = {"application": application_id}
    if actor is not None:
        values.update(actor=actor.pk, now=timezone.now())
    try:
        found = read.rows(connections[alias], **values)
    except (TypeError, ValueError):  # an id that is no key (as the ORM's get refused it)
        found = []
    if not found:
        if actor is not None and not is_in_division(actor, TD):
            raise outside_td() from None
        raise NotFound(_("The application does not exist.")) from None
    (application,) = found
    if actor is not None and not getattr(application, "actor_in_td", False):
        raise outside_td()
    return application


def check_version(application: Application, expected_version: int | None) -> None:
    if expected_version is not None and application.version != expected_version:
        raise StaleVersion()


def done_before(application: Application, expected_version: int | None, done: bool) -> bool:
    """A retried POST whose first attempt committed but whose answer was lost (a database
    connection cut after the commit, a proxy timeout): the transition's result already
    holds, for the version the page showed, by this user. The service then returns the
    application as if it had just done it, so the user sees the result, not a refusal
    ("already verified") of their own action. Nothing is written or audited again."""
    return expected_version is not None and application.version == expected_version and done


def contribution_row(application: Application, user: User, kind: Contribution) -> Rider:
    """The contribution row of `user` to the application's current version, as an
    INSERT built once and its row, which the audit events of the contribution write
    (`audit_record_many`'s riders)."""
    row = {
        "application_id": application.pk,
        "version": application.version,
        "user_id": user.pk,
        "kind": kind,
    }
    alias = router.db_for_write(ApplicationContribution)
    return _contribution_insert(alias).rider(connections[alias], [row])


@cache
def _contribution_insert(alias: str) -> Insert:
    """A contribution row (its moment filled as a save fills it), built once per process
    (apps.core.statements): every transition but one writes one."""
    columns = ["application_id", "version", "user_id", "kind", "at"]
    return Insert(ApplicationContribution, columns, alias)


def insert_application(application: Application) -> None:
    """`application.save()` of a new application (the model's own save: the retailer's
    affiliation copied), through an INSERT … RETURNING built once per process
    (apps.core.statements.Insert): every application is written once this way."""
    application.with_retailer_affiliation(None)
    alias = router.db_for_write(Application)
    _application_insert(alias).save(connections[alias], application)
    application._update_initial_state()


@cache
def _application_insert(alias: str) -> Insert:
    meta = Application._meta
    columns = [f.attname for f in meta.concrete_fields if not (f.primary_key or f.generated)]
    return Insert(Application, columns, alias, returning=True)


def save_fields(application: Application, fields: list[str]) -> None:
    """`application.save(update_fields=[*fields, "updated_at"])`, by `write_columns`."""
    write_columns(application, [*fields, "updated_at"])


def write_columns(application: Application, names: Sequence[str]) -> None:
    """`application.save(update_fields=names)` (the model's own save: the retailer's
    affiliation copied with the retailer), through an UPDATE built once per set of
    columns (apps.core.statements.Update): the ORM's building and compiling was two
    thirds of a transition's save. The state filter of django-fsm's
    ConcurrentTransitionMixin goes with it: the row is written only while its state
    fields hold what the locking read found. The row lock makes a mismatch unreachable
    in practice; that filter is the second line of defence, and refuses as StaleVersion."""
    meta = Application._meta
    names = application.with_retailer_affiliation(names)
    attnames = tuple(dict.fromkeys(meta.get_field(name).attname for name in names))
    alias = router.db_for_write(Application)
    read_states = getattr(application, _READ_STATES)
    if not _update(alias, attnames).run(connections[alias], application, read_states):
        raise StaleVersion()
    application._update_initial_state()


# Where ConcurrentTransitionMixin keeps the state fields' values as read (its private
# `__initial_states`; tests/applications/test_save_fields.py fails should it move).
_READ_STATES = f"_{ConcurrentTransitionMixin.__name__}__initial_states"


@cache
def _update(alias: str, attnames: tuple[str, ...]) -> Update:
    """The UPDATE of these columns, guarded by the state fields (built once per set)."""
    states = [f.attname for f in Application._meta.concrete_fields if isinstance(f, FSMFieldMixin)]
    return Update(Application, attnames, alias, guards=states)


@dataclass(frozen=True)
class Alongside:
    """What a transition writes beside its own row once the row is saved (a grant, a
    publication): the audit entries of it and the rows its audit statement writes."""

    entries: Sequence[Entry] = ()
    riders: Sequence[Rider] = ()


def record_transition(
    application: Application,
    *,
    actor: User,
    fields: list[str],
    action: AuditAction,
    details: Mapping[str, Any],
    contribution: Contribution | None = None,
    changed_fields: Iterable[str] = (),
    reason: str = "",
    event: str | None = None,
    before: Callable[[], Alongside] = Alongside,
) -> None:
    """The tail every transition shares, in the caller's transaction: the UPDATE of
    `fields`, then one audit INSERT of `before`'s entries (what it does once the row is
    saved: a grant, a publication) and the transition's, which on PostgreSQL also writes
    `before`'s rows, the contribution row behind the four-eyes rule and the workflow
    notification of `event` (its recipients' query and outbox rows,
    `notices.notice_rider`): two statements. Elsewhere those rows are written just
    before the events, in the same transaction."""
    save_fields(application, fields)
    alongside = before()
    entries = [
        *alongside.entries,
        Entry(
            action=action,
            obj=application,
            changed_fields=changed_fields,
            details=details,
            reason=reason,
        ),
    ]
    riders = list(alongside.riders)
    if contribution is not None:
        riders.append(contribution_row(application, actor, contribution))
    if event is not None:
        riders.append(notify.notice_rider(event=event, application=application, actor=actor))
    audit_record_many(actor=actor, entries=entries, riders=riders)


def pii_read(application: Application, *, purpose: RevealPurpose, reason: str = "") -> Entry:
    """The audit entry of one read of the customer's personal data, whichever service
    reads it: the purpose and which fields, never a value."""
    return Entry(
        action=AuditAction.PII_READ,
        obj=application,
        changed_fields=[],
        details={"purpose": str(purpose), "fields": list(PII_FIELDS)},
        reason=reason,
    )


def customer_of(application: Application) -> CustomerPII:
    return vault_read(application.customer_ref)


def pii_from(cleaned: Mapping[str, Any]) -> CustomerPII:
    return CustomerPII(
        name=cleaned["customer_name"],
        name_kana=cleaned["customer_name_kana"],
        phone=cleaned["customer_phone"],
        email=cleaned["customer_email"],
    )


def pii_as_input(pii: CustomerPII) -> dict[str, str]:
    return {
        "customer_name": pii.name,
        "customer_name_kana": pii.name_kana,
        "customer_phone": pii.phone,
        "customer_email": pii.email,
    }


def clean_reason(reason: str, *, customer: CustomerPII | None, field: str = "reason") -> str:
    """Reasons are read by clerks and auditors, so they must be free of personal data."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({field: [_("Give a reason.")]})
    if len(reason) > 1000:
        raise ValidationError({field: [_("Use at most 1000 characters.")]})
    refuse_invisible_in(reason, field_name=field, label=_("Reason"))
    if scan_text(text=reason, customer=customer):
        raise ValidationError(
            {field: [_("Do not write personal data (names, phone numbers, e-mail) here.")]}
        )
    return reason
