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
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import check_password
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils import timezone, translation

from apps.access_review.models import SampleRun
from apps.access_review.sampling import day_bounds, japan_day
from apps.access_review.services import access_sample
from apps.accounts.models import DivisionCode, RoleCode, User
from apps.audit.collector import retail_views_collect
from apps.audit.sealing import audit_seal
from apps.audit.verification import audit_verify
from apps.demo.loading import DemoDataError, load_demo_data
from apps.retail.services import RequestMeta, retail_views_record
from apps.vocabulary.states import ApplicationState

logger = logging.getLogger(__name__)

DEFAULT_PASSWORD = "shadan-demo-2026"  # noqa: S105 — the published demo password
FIXTURE = Path("fixtures") / "demo.json"


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
            self._rerun(usernames, existing, password)
            return

        try:
            with transaction.atomic():
                counts, visits = load_demo_data(demo, password)
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

    def _rerun(self, usernames: list[str], existing: set[str], password: str) -> None:
        """The demo users exist: load nothing, seal and verify, show the logins."""
        if existing != set(usernames):
            missing = ", ".join(name for name in usernames if name not in existing)
            raise CommandError(
                "Some demo user names are already taken and others are missing "
                f"({missing}); nothing loaded. Load the demo into a fresh database "
                "(make clean-db)."
            )
        self.stdout.write(self.style.WARNING("The demo data is already loaded; nothing changed."))
        self._seal_and_verify()
        self._print_logins(usernames, password, check=True)

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
