"""Load the demo data of fixtures/demo.json (`make run` does this) — development only.

Everything goes through the services, never straight into the tables: the workflow
rules, the leak scanner and the four-eyes rule apply to the demo as they do to real
work. Users are created by the system (acting_user=None); the affiliated retailer is
proposed by `admin` and approved by `admin2`; each application is created, submitted
and encoded by its clerk, checked, released, returned or cancelled by its supervisor
(never the same person) and built by `koji1`.

Then the demo day's accesses are made the way they really happen: contact details read
through the T&D service that records them, and retail pages opened as the retail site
opens them (its selectors read the published rows, its writer appends one RetailViewLog
row per application shown). The collector copies those rows into the trail, as its
periodic task does, the only way a retail view enters it; then that day's sample is
drawn into the access review queue, so an auditor has items to review at once. Every
access happens when it is made (nothing may backdate the trail, and a retail view keeps
the time the site logged it), so the demo cannot have accesses on earlier days: the
draw is of today, drawn before the day is over (`access_sample`'s `now` set to the
day's end), and the periodic draw later finds today done. Last, the audit chain is sealed
and verified (also on a rerun), so the chain status page shows a real chain.

Idempotent: when the demo users already exist nothing is loaded. Refuses to run outside
the embedded default (config.settings.local) with DEBUG off unless --force, so a
production database never gets demo users. It ends by
printing the demo logins; it prints and logs no customer data.
"""

from __future__ import annotations

import datetime
import json
import logging
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import check_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils import timezone, translation

from apps.access_review.models import SampleRun
from apps.access_review.sampling import day_bounds, japan_day
from apps.access_review.services import access_sample
from apps.accounts.models import DivisionCode, RoleCode, User
from apps.administration.services import user_create
from apps.applications import services
from apps.applications.models import Application
from apps.applications.reveal import application_reveal_customer
from apps.audit.collector import retail_views_collect
from apps.audit.sealing import audit_seal
from apps.audit.verification import audit_verify
from apps.core.errors import ServiceError
from apps.publication.models import RetailAccount, RetailView
from apps.publication.selectors import retail_application_page, retail_application_row
from apps.replication.services import relay_until_done
from apps.retail.services import RequestMeta, retail_views_record
from apps.retailers.models import Retailer
from apps.retailers.services import (
    retailer_create,
    retailer_decide_affiliation,
    retailer_propose_affiliation,
)
from apps.vault.errors import VaultError
from apps.vocabulary.states import PREFECTURES, ApplicationState

logger = logging.getLogger(__name__)

DEFAULT_PASSWORD = "shadan-demo-2026"  # noqa: S105 — the published demo password
FIXTURE = Path("fixtures") / "demo.json"
AFFILIATION_PROPOSER = "admin"
AFFILIATION_APPROVER = "admin2"
CONSTRUCTION_USER = "koji1"

S = ApplicationState
HAPPY_PATH = [S.DRAFT, S.ENTERED, S.ENCODED, S.VERIFIED, S.RELEASED, S.CONSTRUCTED, S.ENERGIZED]
_PREFECTURE_CODES = {name: code for code, name in PREFECTURES}
_APPLICATION_KEYS = (
    "supply_point_id",
    "postal_code",
    "municipality",
    "street_address",
    "contract_class",
    "contract_capacity_kw",
    "contractor_name",
    "contractor_registration",
    "remarks",
)


class DemoDataError(Exception):
    """The fixture is inconsistent, or a service refused part of it."""


@dataclass(frozen=True)
class RetailVisit:
    """A retail page of the demo day: what the retail site showed `account` on it."""

    account: RetailAccount
    view: RetailView
    rows: list[dict[str, Any]]


class Command(BaseCommand):
    help = (
        "Load the demo users, retailers and applications of fixtures/demo.json through the "
        "services (development only), then print the demo logins."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--password",
            default=DEFAULT_PASSWORD,
            help=f"The password every demo user gets (default: {DEFAULT_PASSWORD}).",
        )
        parser.add_argument(
            "--force",
            action="store_true",
            help="Run even though DEBUG is off. Never do this on a production database.",
        )

    def handle(self, *args: Any, password: str, force: bool, **options: Any) -> None:
        if not (settings.DEBUG or settings.SHADAN_LOCAL_DEVELOPMENT) and not force:
            raise CommandError(
                "DEBUG is off outside the local settings: this looks like a production setup, "
                "which must never get demo users. Use --force only on a disposable database."
            )
        demo = self._read_fixture(Path(settings.BASE_DIR) / FIXTURE)
        usernames = [entry["username"] for entry in demo["users"]]
        existing = set(
            User.objects.filter(username__in=usernames).values_list("username", flat=True)
        )
        if existing:
            if existing != set(usernames):
                missing = ", ".join(name for name in usernames if name not in existing)
                raise CommandError(
                    "Some demo user names are already taken and others are missing "
                    f"({missing}); nothing loaded. Load the demo into a fresh database "
                    "(make clean-db)."
                )
            self.stdout.write(
                self.style.WARNING("The demo data is already loaded; nothing changed.")
            )
            self._seal_and_verify()
            self._print_logins(usernames, password, check=True)
            return

        try:
            with transaction.atomic():
                counts, visits = self._load(demo, password)
        except DemoDataError as exc:
            raise CommandError(f"Nothing loaded: {exc}") from None
        # The retail site writes its view log in the retail database, outside any T&D
        # transaction; written once the demo is committed, so a demo that fails to load
        # leaves no views (which nobody may delete) of people who were never created.
        for visit in visits:
            retail_views_record(
                account=visit.account, view=visit.view, rows=visit.rows, meta=RequestMeta()
            )
        logger.info(
            "demo data loaded: %d users, %d retailers, %d applications",
            len(demo["users"]),
            len(demo["retailers"]),
            sum(counts.values()),
        )
        sampled = self._draw_today()
        self.stdout.write(
            f"Access review: {sampled.sampled} of {sampled.population} accesses of "
            f"{sampled.day.isoformat()} drawn into the review queue."
        )
        self._seal_and_verify()
        by_state = ", ".join(
            f"{state} {counts[state]}" for state in ApplicationState.values if counts[state]
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"Loaded {len(demo['users'])} users, {len(demo['retailers'])} retailers and "
                f"{sum(counts.values())} applications ({by_state})."
            )
        )
        self._print_logins(usernames, password, check=False)

    # --- reading ---------------------------------------------------------------------

    def _read_fixture(self, path: Path) -> dict[str, Any]:
        try:
            demo = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise CommandError(f"Cannot read the demo data {path}: {exc}") from None
        if not isinstance(demo, dict) or not all(
            isinstance(demo.get(key), list) for key in ("users", "retailers", "applications")
        ):
            raise CommandError(f"{path} needs the lists users, retailers and applications.")
        return demo

    # --- loading ---------------------------------------------------------------------

    def _load(self, demo: dict[str, Any], password: str) -> tuple[Counter[str], list[RetailVisit]]:
        people = {entry["username"]: self._load_user(entry, password) for entry in demo["users"]}
        retailers = {
            entry["code"]: self._load_retailer(entry, people) for entry in demo["retailers"]
        }
        counts: Counter[str] = Counter()
        applications: list[Application] = []
        for number, entry in enumerate(demo["applications"], start=1):
            try:
                application = self._load_application(entry, people, retailers)
            except (DemoDataError, ValidationError, ServiceError, VaultError, KeyError) as exc:
                raise DemoDataError(f"application #{number}: {_describe(exc)}") from exc
            counts[application.state] += 1
            applications.append(application)
        # The retail accesses below read the retail database: the relay that would run
        # after the commit runs now (its retail writes commit on their own; a failure
        # further on leaves rows there that barrier_check withdraws).
        relay_until_done()
        visits: list[RetailVisit] = []
        for number, entry in enumerate(demo.get("accesses", []), start=1):
            try:
                visit = self._access(entry, people, applications)
            except (ValidationError, ServiceError, VaultError, KeyError, IndexError) as exc:
                raise DemoDataError(f"access #{number}: {_describe(exc)}") from exc
            if visit is not None:
                visits.append(visit)
        return counts, visits

    def _access(
        self, entry: dict[str, Any], people: dict[str, User], applications: list[Application]
    ) -> RetailVisit | None:
        """One access of the demo day. A contact read goes through its service, which
        records it; a retail page is read as the retail site reads it, and returned to be
        logged as the site logs it (see handle)."""
        user = people[entry["user"]]
        view = entry.get("view")
        if view in ("list", "detail"):
            # The account the relay provisioned for a retail person (same id): whoever
            # has none cannot sign in on the retail site.
            account = RetailAccount.objects.filter(pk=user.pk, is_active=True).first()
            if account is None:
                raise DemoDataError(f"{user.username} has no account on the retail site")
            if view == "list":
                page = retail_application_page(account=account)
                return RetailVisit(account, RetailView.LIST, list(page.rows))
            reference = applications[int(entry["application"]) - 1].reference
            row = retail_application_row(account=account, reference=reference or "")
            return RetailVisit(account, RetailView.DETAIL, [row])
        if entry.get("reveal"):
            application_reveal_customer(
                acting_user=user,
                application_id=applications[int(entry["application"]) - 1].pk,
                purpose=entry["reveal"],
            )
            return None
        raise DemoDataError(f"an access needs `view` or `reveal`: {sorted(entry)}")

    def _draw_today(self) -> SampleRun:
        """Today's sample, drawn now: the demo's accesses all happen today (see the module
        docstring), and a queue that fills only tomorrow shows an auditor nothing."""
        today = japan_day(timezone.now())
        _start, end = day_bounds(today)
        grace = datetime.timedelta(minutes=settings.SHADAN_ACCESS_SAMPLE_GRACE_MINUTES)
        # The retail site's views reach the trail only through the collector, as its
        # periodic task brings them: first the demo's views, then the draw among them.
        retail_views_collect()
        # access_sample refuses a day that is not over: ask it as of the day's end.
        return access_sample(day=today, now=end + grace).run

    def _seal_and_verify(self) -> None:
        """What the periodic tasks do, once, so the chain status page has a chain."""
        sealed = audit_seal()
        report = audit_verify(record=True)
        state = "intact" if report.ok else "NOT intact"
        self.stdout.write(
            f"Audit chain: sealed {sealed.sealed} event(s), head seq {sealed.head_seq}; "
            f"verified {report.events_checked} event(s): {state}."
        )

    def _load_user(self, entry: dict[str, Any], password: str) -> User:
        try:
            return user_create(
                acting_user=None,
                username=entry["username"],
                password=password,
                division=entry["division"],
                roles=list(entry.get("roles", [])),
                first_name=entry.get("first_name", ""),
                last_name=entry.get("last_name", ""),
                email=entry.get("email", ""),
                is_superuser=bool(entry.get("is_superuser", False)),
            )
        except (ValidationError, ServiceError, KeyError) as exc:
            raise DemoDataError(f"user {entry.get('username', '?')}: {_describe(exc)}") from exc

    def _load_retailer(self, entry: dict[str, Any], people: dict[str, User]) -> Retailer:
        try:
            retailer = retailer_create(acting_user=None, code=entry["code"], name=entry["name"])
            if entry.get("affiliated"):
                # Affiliation is the two-administrator path: one proposes, another approves.
                proposal = retailer_propose_affiliation(
                    acting_user=people[AFFILIATION_PROPOSER],
                    retailer_id=retailer.pk,
                    make_affiliated=True,
                    reason=entry.get("affiliation_reason") or "Demo data: own retail division.",
                )
                retailer_decide_affiliation(
                    acting_user=people[AFFILIATION_APPROVER], proposal_id=proposal.pk, approve=True
                )
                retailer.refresh_from_db()
        except (ValidationError, ServiceError, KeyError) as exc:
            raise DemoDataError(f"retailer {entry.get('code', '?')}: {_describe(exc)}") from exc
        return retailer

    def _load_application(
        self, entry: dict[str, Any], people: dict[str, User], retailers: dict[str, Retailer]
    ) -> Application:
        clerk, supervisor = people[entry["clerk"]], people[entry["supervisor"]]
        target = entry["state"]
        if target not in ApplicationState.values:
            raise DemoDataError(f"unknown state {target!r}")
        return_reason = entry.get("return_reason", "")
        if return_reason and target != S.ENTERED:
            raise DemoDataError("an application returned for correction ends up 'entered'")
        if target == S.CANCELLED:
            walk_to = entry.get("cancelled_after", S.DRAFT)
        elif return_reason:
            walk_to = S.ENCODED
        else:
            walk_to = target
        if walk_to not in HAPPY_PATH:
            raise DemoDataError(f"cannot reach the state {walk_to!r}")

        application = services.application_create(
            acting_user=clerk, data=_application_input(entry, retailers)
        )
        application = self._advance(
            application,
            walk_to,
            clerk=clerk,
            supervisor=supervisor,
            construction=people[CONSTRUCTION_USER],
        )
        if return_reason:
            application = services.application_return(
                acting_user=supervisor, application_id=application.pk, reason=return_reason
            )
        if target == S.CANCELLED:
            application = services.application_cancel(
                acting_user=supervisor,
                application_id=application.pk,
                reason=entry.get("cancel_reason", ""),
            )
        switch = entry.get("switched_to_retailer")
        if switch:
            application = services.application_change_retailer(
                acting_user=people[switch["by"]],
                application_id=application.pk,
                expected_version=application.version,
                retailer_id=retailers[switch["to"]].pk,
                reason=switch.get("reason", ""),
            )
        if application.state != target:
            raise DemoDataError(f"ended up {application.state!r} instead of {target!r}")
        return application

    def _advance(
        self,
        application: Application,
        to: str,
        *,
        clerk: User,
        supervisor: User,
        construction: User,
    ) -> Application:
        """The happy path up to `to`, each step by the person whose job it is."""
        today = timezone.localdate()
        start = HAPPY_PATH.index(S(application.state)) + 1
        for step in HAPPY_PATH[start : HAPPY_PATH.index(S(to)) + 1]:
            pk = application.pk
            if step == S.ENTERED:
                application = services.application_submit(acting_user=clerk, application_id=pk)
            elif step == S.ENCODED:
                application = services.application_encode(acting_user=clerk, application_id=pk)
            elif step == S.VERIFIED:
                # The second person opens the side-by-side page before verifying.
                services.application_record_review_opened(acting_user=supervisor, application_id=pk)
                application = services.application_verify(
                    acting_user=supervisor, application_id=pk, expected_version=application.version
                )
            elif step == S.RELEASED:
                application = services.application_release(
                    acting_user=supervisor, application_id=pk
                )
            elif step == S.CONSTRUCTED:
                application = services.application_complete(
                    acting_user=construction, application_id=pk, completed_on=today
                )
            elif step == S.ENERGIZED:
                application = services.application_energize(
                    acting_user=construction, application_id=pk, energized_on=today
                )
        return application

    # --- output ----------------------------------------------------------------------

    def _print_logins(self, usernames: list[str], password: str, *, check: bool) -> None:
        """The logins as they are in the database now. With `check`, a user whose password
        is no longer `password` (changed since loading, or another --password) shows so."""
        users = {user.username: user for user in User.objects.filter(username__in=usernames)}
        rows = [("user name", "password", "division", "signs in on", "role")]
        for name in usernames:
            user = users[name]
            shown = password
            if check and not check_password(password, user.password):
                shown = "(not this password)"
            # The role column is last, so Japanese labels cannot break the alignment.
            with translation.override(settings.LANGUAGE_CODE):
                role = ", ".join(f"{c} {RoleCode(c).label}" for c in user.role_codes()) or "-"
            if user.is_superuser:
                role += " (superuser)"
            division = user.division_at()
            # Retail people read on the retail site; the T&D site refuses them.
            site = "retail site" if division == DivisionCode.RETAIL else "T&D site"
            rows.append((name, shown, division or "-", site, role))
        widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
        self.stdout.write("")
        self.stdout.write("Demo logins:")
        for index, row in enumerate(rows):
            line = "  " + "  ".join(
                cell.ljust(width) for cell, width in zip(row, widths, strict=True)
            )
            self.stdout.write(line.rstrip())
            if index == 0:
                self.stdout.write("  " + "  ".join("-" * width for width in widths))
        self.stdout.write("")
        self.stdout.write("  T&D site:    http://127.0.0.1:8000/ (`make run`)")
        self.stdout.write(
            f"  retail site: {settings.SHADAN_RETAIL_SITE_URL or '(SHADAN_RETAIL_SITE_URL)'}"
        )


def _application_input(entry: dict[str, Any], retailers: dict[str, Retailer]) -> dict[str, Any]:
    """The fixture entry as a clerk would type it into the form."""
    customer = entry["customer"]
    prefecture = str(entry["prefecture"])
    start = timezone.localdate() + datetime.timedelta(days=int(entry["requested_start_in_days"]))
    data: dict[str, Any] = {key: entry.get(key, "") for key in _APPLICATION_KEYS}
    data.update(
        prefecture=_PREFECTURE_CODES.get(prefecture, prefecture),
        requested_start_date=start.isoformat(),
        retailer=retailers[entry["retailer"]].pk,
        customer_name=customer["name"],
        customer_name_kana=customer["name_kana"],
        customer_phone=customer["phone"],
        customer_email=customer.get("email", ""),
    )
    return data


def _describe(exc: BaseException) -> str:
    """A refusal as text. Service and validation messages never carry the values, so this
    is safe to print; a leak names the field and the kind, not what was found."""
    if isinstance(exc, services.LeakFound):
        found = ", ".join(f"{leak.field} ({leak.kind})" for leak in exc.leaks)
        return f"{exc} {found}"
    if isinstance(exc, ValidationError):
        if hasattr(exc, "error_dict"):
            return "; ".join(
                f"{field}: {' '.join(messages)}" for field, messages in exc.message_dict.items()
            )
        return " ".join(exc.messages)
    if isinstance(exc, KeyError):
        return f"missing or unknown key {exc}"
    return str(exc)
