"""Workflow notifications: who must act after a transition, written to the outbox.

The application services write a transition's messages in their own transaction, with
its audit record (`notice_rider`, carried by the audit events' statement): the outbox
rows commit (or roll back) with the transition, and the relay delivers them afterwards.
Cost per transition: one `INSERT … SELECT`, the recipients' query inside the outbox
INSERT (the key names the transition's moment, so no look-up of keys already written),
which on PostgreSQL is a part of the audit INSERT's WITH: no round trip of its own.

Who hears of what (the people whose role does the next step, and the clerks whose work
came back):

- submitted: the clerks who created or edited the draft, the submitter excepted (the
  encoding is the clerk's next step; usually the submitter wrote the draft, so nobody is
  told). Supervisors are not told: they do not encode, and the SLA sweep
  (`apps.applications.sla`) tells them when the encoding is overdue;
- encoded: T&D supervisors who may verify it (not those who shaped this version);
- returned: the clerks who created, edited or encoded it (they must correct and re-encode);
- verified: the same clerks (their work passed; retail sees the masked record);
- released: construction staff (the work may start);
- cancelled: the same clerks, and construction staff if the work had been released.

Completion and energization are recorded by construction staff themselves and need
nobody else: no message. Subjects and bodies carry the reference number, the id and the
version only, never personal data, and are written in the site's language.
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from typing import Any

from django.conf import settings
from django.db import connections, router
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone, translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from apps.accounts.models import DivisionCode, Role, RoleCode, User
from apps.applications.models import Application, ApplicationContribution
from apps.core.statements import Rider, Slots, Statement, compile_statement
from apps.notifications.models import OutboxMessage
from apps.notifications.services import outbox_rider
from apps.vocabulary.states import Contribution

SUBMITTED = "submitted"
ENCODED = "encoded"
RETURNED = "returned"
VERIFIED = "verified"
RELEASED = "released"
CANCELLED = "cancelled"

TITLES = {
    SUBMITTED: _("Submitted: waiting to be encoded"),
    ENCODED: _("Encoded: waiting for the second-person check"),
    RETURNED: _("Returned for correction: correct it and encode it again"),
    VERIFIED: _("Verified: retail now sees the masked record"),
    RELEASED: _("Released for construction"),
    CANCELLED: _("Cancelled"),
}

# The clerks whose work an application is: they hear when it comes back or passes.
_AUTHORED = (Contribution.CREATED, Contribution.EDITED, Contribution.ENCODED)


def kind_of(event: str) -> str:
    return f"application.{event}"


def td_members(*roles: RoleCode, now: dt.datetime | None = None) -> QuerySet[User]:
    """Active users who are in T&D right now and hold one of `roles` (one filter() call,
    so every condition holds for the same membership row)."""
    now = now or timezone.now()
    return User.objects.filter(
        Q(memberships__valid_until__isnull=True) | Q(memberships__valid_until__gt=now),
        is_active=True,
        groups__in=Role.objects.filter(code__in=roles).values("group"),
        memberships__division=DivisionCode.TD,
        memberships__valid_from__lte=now,
    )


def _authored(application_id: int) -> QuerySet[ApplicationContribution, Any]:
    return ApplicationContribution.objects.filter(
        application_id=application_id, kind__in=_AUTHORED
    ).values("user")


def others_authored(actor_id: int) -> Exists:
    """For the locking read of a submission: has anyone but the actor created, edited or
    encoded the application? If not, a submission by the actor tells nobody (its
    audience is those clerks), and the service skips the outbox statement."""
    return Exists(
        ApplicationContribution.objects.filter(
            application_id=OuterRef("pk"), kind__in=_AUTHORED
        ).exclude(user_id=actor_id)
    )


def _audience_roles(event: str, released: bool) -> tuple[RoleCode, ...]:
    """The roles that hear of `event`."""
    if event in (SUBMITTED, RETURNED, VERIFIED):
        return (RoleCode.CLERK,)
    if event == ENCODED:
        return (RoleCode.SUPERVISOR,)
    if event == RELEASED:
        return (RoleCode.CONSTRUCTION,)
    if event == CANCELLED:
        return (RoleCode.CLERK, RoleCode.CONSTRUCTION) if released else (RoleCode.CLERK,)
    raise ValueError(f"unknown workflow event {event!r}")


def _audience(
    event: str, application_id: int, version: int, released: bool
) -> tuple[tuple[RoleCode, ...], Q]:
    """The roles that hear of `event` and a further condition on the user."""
    roles = _audience_roles(event, released)
    if event == ENCODED:
        # Four-eyes: whoever shaped any version up to this one cannot verify it.
        shaped = ApplicationContribution.objects.filter(
            application_id=application_id, version__lte=version
        ).values("user")
        return roles, ~Q(pk__in=shaped)
    if event == RELEASED:
        return roles, Q()  # everyone in construction
    authored = Q(pk__in=_authored(application_id))
    if event == CANCELLED and released:
        return roles, authored | Q(groups__role__code=RoleCode.CONSTRUCTION)
    # Submitted: the encoding is a clerk's next step, so the clerks whose draft this is
    # hear of it; returned, verified, cancelled: the clerks whose work it is.
    return roles, authored


def _recipients(
    event: str,
    *,
    application_id: int,
    version: int,
    released: bool,
    actor_id: int | None,
    now: dt.datetime,
) -> QuerySet[User]:
    roles, condition = _audience(event, application_id, version, released)
    queryset = td_members(*roles, now=now).filter(condition)
    if actor_id is not None:
        queryset = queryset.exclude(pk=actor_id)  # nobody is told of their own step
    return queryset.distinct()


def recipients(event: str, application: Application, *, actor: User | None) -> QuerySet[User]:
    """The active T&D users who must hear of `event`, the actor excepted."""
    return _recipients(
        event,
        application_id=application.pk,
        version=application.version,
        released=application.released_at is not None,
        actor_id=actor.pk if actor is not None else None,
        now=timezone.now(),
    )


@cache
def _recipients_statement(alias: str, event: str, released: bool, with_actor: bool) -> Statement:
    """The ids of `recipients` as one SELECT, built once per process and shape
    (apps.core.statements): building it cost more than the INSERT it feeds."""
    slots = Slots()
    queryset = _recipients(
        event,
        application_id=slots.id("application"),
        version=slots.number("version"),
        released=released,
        actor_id=slots.id("actor") if with_actor else None,
        now=slots.moment("now"),
    )
    statement, _compiler = compile_statement(queryset.values_list("id").order_by(), slots, alias)
    return statement


def notice_rider(*, event: str, application: Application, actor: User | None) -> Rider:
    """The messages of one transition as an `outbox_rider`: the recipients' query feeds
    the outbox INSERT, whether it finds anyone or not. The transition's audit statement
    writes it (`record_transition`); once written it asks for the relay if it wrote a
    message.

    Carried by a statement on PostgreSQL, the recipients' query does not see what the
    other parts of that statement write (they share its snapshot): the actor's
    contribution to this version, which changes no audience, as the actor is always
    excepted.

    The dedupe key names the event, the application, its version and the moment of the
    transition (`updated_at`): a return does not bump the version, so the second
    encoding of the same version is a new event, while writing the same one twice is not.
    """
    label = application.reference or f"#{application.pk}"
    with translation.override(settings.LANGUAGE_CODE):
        title = gettext(str(TITLES[event]))
        subject = f"[{label}] {title}"
        body = (
            gettext("Application %(reference)s (id %(id)s, version %(version)s): %(title)s")
            % {
                "reference": label,
                "id": application.pk,
                "version": application.version,
                "title": title,
            }
            + "\n"
            + gettext("Open your inbox in shadan to go to the application.")
            + "\n"
        )
    moment = application.updated_at or timezone.now()
    stamp = int(moment.timestamp() * 1_000_000)
    released = application.released_at is not None
    roles = _audience_roles(event, released)
    alias = router.db_for_write(OutboxMessage)
    statement = _recipients_statement(alias, event, released, actor is not None)
    values = {
        "application": application.pk,
        "version": application.version,
        "now": timezone.now(),
    }
    if actor is not None:
        values["actor"] = actor.pk
    return outbox_rider(
        recipients=(statement.sql, statement.params(connections[alias], values)),
        kind=kind_of(event),
        subject=subject,
        body=body,
        dedupe_key=f"{kind_of(event)}:a{application.pk}:v{application.version}:t{stamp}",
        application_id=application.pk,
        # Delivered only to someone still in T&D with one of these roles (see services).
        division=DivisionCode.TD,
        roles=roles,
    )
