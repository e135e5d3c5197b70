"""shadan's own audit trail as a source for the engine.

- records: the applications, classified by contract class and by their retailer's
  affiliation (the rows; application events name the record but carry no
  classification);
- roster: the effective-dated division memberships;
- access events: every PII read and every retail view, with the division the trail
  snapshotted at that moment;
- switches: the retailer-changed events (the trail records that the retailer changed,
  not which codes: the product refuses a change to the same retailer, so a recorded
  change always leaves the one the record had);
- exposure windows: every period in which a member of retail held a way to read
  personal data, as the trail's people events tell it: a T&D role (clerk, supervisor,
  construction) or superuser status while in retail. Each such period is a window of
  every non-public application that existed during it. The product makes this
  impossible (a transfer removes every role, a role is only given inside its own
  division), so the report proves, from evidence, that there were none.

Records, windows, roster and switches are read from the whole trail, whatever the
period: an exposure that ended before the period still counts (the engine's
definitions); only the access events are limited to the period.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from django.utils import timezone

from apps.accounts.models import DivisionCode, DivisionMembership, RoleCode
from apps.applications.models import Application
from apps.audit.models import AuditAction, AuditEvent

from .engine import period_bounds
from .types import Access, Record, RosterEntry, Switch, Window

PII_ROLES = frozenset({RoleCode.CLERK, RoleCode.SUPERVISOR, RoleCode.CONSTRUCTION})
PEOPLE_ACTIONS = (
    AuditAction.USER_CREATED,
    AuditAction.ROLE_GRANTED,
    AuditAction.ROLE_REVOKED,
    AuditAction.USER_TRANSFERRED,
)
ACCESS_ACTIONS = (AuditAction.PII_READ, AuditAction.RETAIL_VIEWED)
APPLICATION = "applications.application"
USER = "accounts.user"


@dataclass
class _Person:
    division: str | None = None
    roles: set[str] = field(default_factory=set)
    superuser: bool = False
    open_since: float | None = None

    @property
    def can_read_pii_from_retail(self) -> bool:
        return self.division == DivisionCode.RETAIL and bool(
            self.superuser or self.roles & PII_ROLES
        )


def retail_pii_periods() -> list[tuple[str, float, float | None]]:
    """(user id, start, end or None) of every period in which a member of retail held a
    way to read personal data, replayed from the people events of the trail."""
    people: dict[str, _Person] = {}
    periods: list[tuple[str, float, float | None]] = []
    events = (
        AuditEvent.objects.filter(action__in=PEOPLE_ACTIONS, object_type=USER)
        .order_by("occurred_at", "id")
        .values_list("object_id", "action", "details", "occurred_at")
    )
    for user_id, action, details, occurred_at in events.iterator(chunk_size=2000):
        person = people.setdefault(user_id, _Person())
        details = details or {}
        if action == AuditAction.USER_CREATED:
            person.division = details.get("division")
            person.superuser = bool(details.get("superuser"))
        elif action == AuditAction.ROLE_GRANTED:
            person.roles.add(details.get("role", ""))
        elif action == AuditAction.ROLE_REVOKED:
            person.roles.discard(details.get("role", ""))
        elif action == AuditAction.USER_TRANSFERRED:
            person.division = details.get("to_division")
            person.roles -= set(details.get("roles_removed") or [])
            if person.division != DivisionCode.ADMIN:
                person.superuser = False
        at = occurred_at.timestamp()
        if person.can_read_pii_from_retail and person.open_since is None:
            person.open_since = at
        elif not person.can_read_pii_from_retail and person.open_since is not None:
            periods.append((user_id, person.open_since, at))
            person.open_since = None
    periods += [(uid, p.open_since, None) for uid, p in people.items() if p.open_since is not None]
    return periods


@dataclass
class TrailSource:
    period_from: date
    period_to: date
    records: list[Record] = field(default_factory=list)
    windows: list[Window] = field(default_factory=list)
    roster: list[RosterEntry] = field(default_factory=list)
    switches: list[Switch] = field(default_factory=list)
    data_end: float = 0.0

    def load(self) -> TrailSource:
        self.data_end = timezone.now().timestamp()
        created: dict[str, float] = {}
        rows = Application.objects.values_list(
            "pk",
            "supply_point_id",
            "contract_class",
            "retailer__code",
            "retailer__name",
            "retailer__is_affiliated",
            "created_at",
        )
        for pk, spid, contract_class, code, name, affiliated, created_at in rows.iterator(
            chunk_size=2000
        ):
            record = Record(str(pk), spid, contract_class, code, name, affiliated)
            self.records.append(record)
            if record.non_public:
                created[record.record_id] = created_at.timestamp()
        for _user, start, end in retail_pii_periods():
            for record_id, born in created.items():
                begins = max(start, born)
                if end is None or end > begins:
                    self.windows.append(Window(record_id, begins, end))
        usernames = dict(
            DivisionMembership.objects.values_list("user_id", "user__username").distinct()
        )
        for user_id, division, valid_from, valid_until in DivisionMembership.objects.values_list(
            "user_id", "division_id", "valid_from", "valid_until"
        ):
            self.roster.append(
                RosterEntry(
                    usernames[user_id],
                    division,
                    valid_from.timestamp(),
                    valid_until.timestamp() if valid_until else None,
                )
            )
        for object_id, occurred_at in AuditEvent.objects.filter(
            action=AuditAction.APPLICATION_RETAILER_CHANGED, object_type=APPLICATION
        ).values_list("object_id", "occurred_at"):
            self.switches.append(Switch(object_id, occurred_at.timestamp(), None, None))
        return self

    def accesses(self) -> Iterator[Access]:
        start, end = period_bounds(self.period_from, self.period_to)
        events = AuditEvent.objects.filter(
            action__in=ACCESS_ACTIONS,
            object_type=APPLICATION,
            occurred_at__gte=datetime.fromtimestamp(start, tz=UTC),
            occurred_at__lt=datetime.fromtimestamp(end, tz=UTC),
        ).values_list("occurred_at", "actor_username", "object_id", "action", "actor_division")
        for occurred_at, username, object_id, action, division in events.iterator(chunk_size=5000):
            yield Access(occurred_at.timestamp(), username, object_id, action, division or None)

    def inputs(self) -> dict[str, Any]:
        return {
            "records": self.records,
            "windows": self.windows,
            "roster": self.roster,
            "switches": self.switches,
            "accesses": self.accesses(),
            "data_end": self.data_end,
        }
