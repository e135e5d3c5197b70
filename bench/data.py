"""Data at a chosen scale, generated fast and checked against the product's invariants.

A handful of users go through `user_create`; the bulk of the applications, their vault
records, the retail group's permission rows (for the visible half) and the audit events
are bulk-inserted in the states the services would have left them in. Afterwards
`barrier_check(repair=False)` must find nothing: visible = masking verified for the
current version AND the retail group's permission.

The same grants also go into guardian's *generic* group table (content type + text
object_pk), which the product never reads: they are there only for the comparison with
guardian's default path (bench.measure.generic_guardian).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
import shutil
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.apps import apps as django_apps
from django.conf import settings
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.db import connection, connections, transaction
from django.utils import timezone
from guardian.models import GroupObjectPermission

from apps.accounts.models import Role, User
from apps.accounts.roles import sync_roles
from apps.administration.services import user_create
from apps.applications.barrier import barrier_check
from apps.applications.models import (
    Application,
    ApplicationContribution,
    ApplicationGroupObjectPermission,
)
from apps.applications.pseudonym import new_pseudonym
from apps.applications.visibility import VIEW_PERM, retail_group
from apps.audit import db as audit_db
from apps.audit.models import AuditAction, AuditEvent
from apps.publication import db as publication_db
from apps.publication.models import PublishedApplication
from apps.replication.services import relay_until_done
from apps.retailers.models import Retailer
from apps.vault.blind_index import INDEX_KINDS, normalize
from apps.vault.keyring import get_keyring
from apps.vault.models import BlindIndexEntry, CustomerRecord
from apps.vault.types import CustomerPII
from apps.vocabulary.projection import project, projection_hash
from apps.vocabulary.states import ApplicationState as S
from apps.vocabulary.states import Contribution
from apps.vocabulary.states import MaskingState as M

PASSWORD = "bench-only password 2026"  # noqa: S105 - a public benchmark login
MARKER_TABLE = "bench_marker"
DATA_VERSION = "6"  # 2: guardian generic table; 3: published rows; 4: retail accounts;
# 5: the trail's details shaped as the product writes them; 6: MAC version 2 on PostgreSQL
BATCH = 2000
REFERENCE_BASE = 9_000_000  # generated references never meet the services' SD2026-<pk>
TRAIL_YEARS = 5  # the generated audit trail spans this many years up to the generation


@dataclass(frozen=True)
class Scale:
    name: str
    applications: int
    audit_events: int
    retail_users: int
    visible_share: float = 0.5


SCALES = {
    "small": Scale("small", 2_000, 20_000, 10),
    "medium": Scale("medium", 20_000, 200_000, 20),
    "large": Scale("large", 100_000, 1_000_000, 50),
}


@dataclass(frozen=True)
class Cast:
    clerk: User
    supervisor: User
    retail: list[User]
    retailer: Retailer


def log(message: str) -> None:
    print(message, flush=True)  # noqa: T201 - a command-line tool


def _marker() -> str | None:
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS {MARKER_TABLE} (scale VARCHAR(32), created VARCHAR(64))"
        )
        cursor.execute(f"SELECT scale FROM {MARKER_TABLE}")  # noqa: S608 - constant name
        row = cursor.fetchone()
    return None if row is None else str(row[0])


def _set_marker(value: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {MARKER_TABLE}")  # noqa: S608
        cursor.execute(
            f"INSERT INTO {MARKER_TABLE} (scale, created) VALUES (%s, %s)",  # noqa: S608
            [value, timezone.now().isoformat()],
        )


def _migrate() -> None:
    for alias in ("default", "vault", "retail"):
        call_command("migrate", database=alias, verbosity=0, interactive=False)


def _wipe() -> None:
    """Another scale (or data version) was generated here before: start empty. The audit
    trail and the retail view log refuse TRUNCATE (and SQLite's flush, a DELETE): their
    triggers come off for the flush and go back on at once."""
    retail = connections["retail"]
    audit_db.drop_triggers(connection)
    publication_db.drop_triggers(retail)
    for alias in ("default", "vault", "retail"):
        call_command("flush", database=alias, verbosity=0, interactive=False)
    audit_db.install_triggers(connection)
    publication_db.install_triggers(retail)
    sync_roles(django_apps)
    shutil.rmtree(settings.AUDIT_CHECKPOINT_DIR, ignore_errors=True)


def cast_of_users(scale: Scale) -> Cast:
    return Cast(
        clerk=User.objects.get(username="bench_clerk"),
        supervisor=User.objects.get(username="bench_super"),
        retail=list(User.objects.filter(username__startswith="bench_retail").order_by("username")),
        retailer=Retailer.objects.get(code="B0001"),
    )


def ensure_data(scale: Scale) -> tuple[Cast, bool]:
    """(the users, whether data was generated now). Reuses the data of the same scale."""
    _migrate()
    wanted = f"{scale.name}:{DATA_VERSION}"
    found = _marker()
    if found == wanted:
        log(f"reusing the {scale.name} data ({connection.vendor})")
        analyze()
        return cast_of_users(scale), False
    if found is not None or Application.objects.exists():
        log(f"database holds {found or 'other data'}: wiping it for {wanted}")
        _wipe()
    if not Role.objects.exists():
        sync_roles(django_apps)
    started = time.perf_counter()
    _generate(scale)
    # The bench users' retail accounts, as the relay provisions them after user_create.
    relay_until_done()
    _set_marker(wanted)
    analyze()
    log(f"generated {scale.name} data in {time.perf_counter() - started:.1f} s")
    problems = barrier_check(repair=False)
    if problems:
        raise SystemExit(f"generated data breaks the barrier: {problems[:5]}")
    log("barrier_check(repair=False) == []")
    return cast_of_users(scale), True


def analyze() -> None:
    """Planner statistics, as a database that has been in use has them (PostgreSQL's
    autovacuum gathers them; SQLite only when asked). Full, not sampled: SQLite's
    analysis_limit estimates made it prefer the one-column masking-state index over the
    retail list's partial index (and sort 50,000 rows per page). ~2 s at large."""
    for alias in ("default", "vault", "retail"):
        with connections[alias].cursor() as cursor:
            if connections[alias].vendor == "sqlite":
                cursor.execute("PRAGMA analysis_limit=0")
            elif alias == "default":
                # The visibility map autovacuum keeps (it may be off on a shared server):
                # without it the T&D queues' capped counts cannot use index-only scans
                # of their partial indexes, nor verification's look for copies the index
                # on the events' time. ~2 s at large.
                cursor.execute("VACUUM applications_application, audit_auditevent, audit_auditseal")
            cursor.execute("ANALYZE")


def _details(action: AuditAction, n: int, application: int) -> dict[str, Any]:
    """An event's details as the product writes them for `action`: a draft's creation,
    a submission, an encoding with the projection's hash (one per application), a
    retail view with the id of its line in the retail view log (one per event). Every
    event used to carry `{"version": 1}`, which made verification's work per event
    (the details are part of the MAC's message) cheaper than a real trail's."""
    if action == AuditAction.APPLICATION_CREATED:
        return {"version": 1, "state": "draft"}
    if action == AuditAction.APPLICATION_ENCODED:
        digest = hashlib.sha256(f"projection {application}".encode()).hexdigest()
        return {"version": 1, "projection": digest}
    if action == AuditAction.RETAIL_VIEWED:
        return {"retail_log_id": n + 1, "view": "list"}
    return {"version": 1}


def first_awaiting_review() -> int | None:
    """The application a supervisor's queue shows first (encoded longest ago, not
    cancelled): the review page the bench times, or None when none is waiting."""
    waiting: int | None = (
        Application.objects.awaiting_verification()
        .exclude(state=S.CANCELLED)
        .order_by("encoded_at", "id")
        .values_list("pk", flat=True)
        .first()
    )
    return waiting


def _person(username: str, division: str, role: str) -> User:
    return user_create(
        acting_user=None, username=username, password=PASSWORD, division=division, roles=[role]
    )


def _batched(total: int, make: Callable[[int, int], None]) -> None:
    for start in range(0, total, BATCH):
        make(start, min(start + BATCH, total))


def _generate(scale: Scale) -> None:
    clerk = _person("bench_clerk", "td", "clerk")
    supervisor = _person("bench_super", "td", "supervisor")
    for n in range(scale.retail_users):
        _person(f"bench_retail{n:03d}", "retail", "retail")
    retailer, _ = Retailer.objects.get_or_create(code="B0001", defaults={"name": "試験でんき"})
    keyring = get_keyring()
    assert keyring is not None
    group = retail_group()
    view = Permission.objects.get(codename=VIEW_PERM, content_type__app_label="applications")
    application_type = ContentType.objects.get_for_model(Application)
    rng = random.Random(7)  # noqa: S311 - benchmark data, not security
    now = timezone.now()
    pseudonyms: set[str] = set(Application.objects.values_list("pseudonym", flat=True))
    visible_every = round(1 / scale.visible_share)

    def applications(start: int, stop: int) -> None:
        records: list[CustomerRecord] = []
        entries: list[BlindIndexEntry] = []
        apps: list[Application] = []
        for i in range(start, stop):
            pii = CustomerPII(
                name=f"見本 太郎{i}",
                name_kana=f"ミホン タロウ{i}",
                phone=f"098-{(i // 10000) % 900 + 100}-{i % 10000:04d}",
                email=f"bench{i}@example.invalid",
            )
            record = CustomerRecord.seal(pii, keyring=keyring)
            records.append(record)
            for kind in INDEX_KINDS:
                value = normalize(kind, getattr(pii, kind))
                if value:
                    entries.append(
                        BlindIndexEntry(
                            record=record,
                            kind=kind,
                            digest=keyring.blind_digest(kind=kind, normalized=value),
                        )
                    )
            pseudonym = new_pseudonym()
            while pseudonym in pseudonyms:
                pseudonym = new_pseudonym()
            pseudonyms.add(pseudonym)
            at = now - dt.timedelta(minutes=(scale.applications - i) * 5)
            fields: dict[str, Any] = {}
            if i % visible_every == 0:  # visible to retail: verified, half of them released
                fields = {
                    "state": S.RELEASED if i % (2 * visible_every) == 0 else S.VERIFIED,
                    "masking_state": M.VERIFIED,
                    "encoded_version": 1,
                    "encoded_by": clerk,
                    "encoded_at": at,
                    "verified_version": 1,
                    "verified_by": supervisor,
                    "verified_at": at + dt.timedelta(minutes=1),
                }
            else:
                kind = rng.choice(("draft", "entered", "encoded", "encoded"))
                if kind == "encoded":  # waiting in the supervisor's queue
                    fields = {
                        "state": S.ENCODED,
                        "masking_state": M.ENCODED,
                        "encoded_version": 1,
                        "encoded_by": clerk,
                        "encoded_at": at,
                    }
                else:
                    fields = {"state": S.DRAFT if kind == "draft" else S.ENTERED}
            app = Application(
                reference=f"SD2026-{REFERENCE_BASE + i}",
                pseudonym=pseudonym,
                supply_point_id=f"10{REFERENCE_BASE + i:020d}",
                postal_code="900-0001",
                prefecture="47",
                municipality="那覇市",
                street_address=f"試験町{i % 9 + 1}丁目{i + 1}番地",
                contract_class="low",
                contract_capacity_kw=Decimal("6.0"),
                requested_start_date=(at + dt.timedelta(days=30)).date(),
                contractor_name="試験電設株式会社",
                contractor_registration="沖縄県知事登録 第01234号",
                retailer=retailer,
                retailer_affiliated=retailer.is_affiliated,  # bulk_create: save() is not run
                remarks="新築戸建て。引込柱の位置は現地で確認。",
                customer_ref=record.id,
                created_by=clerk,
                **fields,
            )
            if app.masking_state != M.UNMASKED:  # as encoding would have hashed it
                app.projection_hash = projection_hash(project(app))
            apps.append(app)
        with transaction.atomic(using="vault"):
            CustomerRecord.objects.using("vault").bulk_create(records)
            BlindIndexEntry.objects.using("vault").bulk_create(entries)
        with transaction.atomic():
            created = Application.objects.bulk_create(apps)
            # created_at is auto_now_add: spread it out so "oldest first" means something.
            ApplicationContribution.objects.bulk_create(
                ApplicationContribution(
                    application=app, version=1, user=clerk, kind=Contribution.CREATED
                )
                for app in created
            )
            ApplicationGroupObjectPermission.objects.bulk_create(
                ApplicationGroupObjectPermission(group=group, permission=view, content_object=app)
                for app in created
                if app.masking_state == M.VERIFIED
            )
            GroupObjectPermission.objects.bulk_create(
                GroupObjectPermission(
                    group=group,
                    permission=view,
                    content_type=application_type,
                    object_pk=str(app.pk),
                )
                for app in created
                if app.masking_state == M.VERIFIED
            )
            # What verification publishes (apps/applications/publishing.py), in bulk,
            # without its replication messages: sequence 0 is "before any message", so a
            # later message about the application applies over it.
            PublishedApplication.objects.bulk_create(
                PublishedApplication(
                    sequence=0,
                    application_id=app.pk,
                    version=app.version,
                    projection_hash=app.projection_hash,
                    verified_at=app.verified_at,
                    **project(app).as_dict(),
                )
                for app in created
                if app.masking_state == M.VERIFIED
            )
        log(f"  applications {stop:,}/{scale.applications:,}")

    _batched(scale.applications, applications)

    actions = [
        AuditAction.APPLICATION_CREATED,
        AuditAction.APPLICATION_SUBMITTED,
        AuditAction.APPLICATION_ENCODED,
        AuditAction.RETAIL_VIEWED,
    ]
    roles = {clerk.pk: ["clerk"], supervisor.pk: ["supervisor"]}
    # The trail spans TRAIL_YEARS up to the moment of generation, one event after the
    # other, as a real one does: stamped all at once, every event would still be inside
    # the sealing grace period at measuring time, which no real trail of this size is
    # (verification's check of the events waiting to be sealed then read them all).
    step = dt.timedelta(days=365 * TRAIL_YEARS) / scale.audit_events

    def events(start: int, stop: int) -> None:
        batch = []
        for i in range(start, stop):
            actor = clerk if i % 3 else supervisor
            batch.append(
                AuditEvent(
                    occurred_at=now - step * (scale.audit_events - i),
                    actor=actor,
                    actor_username=actor.username,
                    actor_division="td",
                    actor_roles=roles[actor.pk],
                    action=actions[i % len(actions)],
                    object_type="applications.application",
                    object_id=str(i % scale.applications + 1),
                    object_label=f"SD2026-{REFERENCE_BASE + i % scale.applications}",
                    details=_details(actions[i % len(actions)], i, i % scale.applications),
                    request_id=uuid.uuid4().hex,
                    client_ip="10.0.0.1",
                    user_agent="bench",
                )
            )
        with transaction.atomic():
            AuditEvent.objects.bulk_create(batch)
        if stop % (BATCH * 25) == 0 or stop == scale.audit_events:
            log(f"  audit events {stop:,}/{scale.audit_events:,}")

    _batched(scale.audit_events, events)
    for alias in connections:
        connections[alias].close()
