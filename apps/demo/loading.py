"""The demo's phases, each through the services as real work goes: the people, the
retailers (the affiliated one by the two-administrator path), the applications walked to
their states by the people whose job each step is, and the demo day's accesses (see the
load_demo command for the whole story)."""

from __future__ import annotations

import datetime
from collections import Counter
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone

from apps.accounts.models import User
from apps.administration.services import user_create
from apps.applications import services
from apps.applications.models import Application
from apps.applications.reveal import application_reveal_customer
from apps.core.errors import ServiceError
from apps.publication.models import RetailAccount, RetailView
from apps.publication.selectors import retail_application_page, retail_application_row
from apps.replication.services import relay_until_done
from apps.retailers.models import Retailer
from apps.retailers.services import (
    retailer_create,
    retailer_decide_affiliation,
    retailer_propose_affiliation,
)
from apps.vault.errors import VaultError
from apps.vocabulary.states import PREFECTURES, ApplicationState

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


def load_demo_data(demo: dict[str, Any], password: str) -> tuple[Counter[str], list[RetailVisit]]:
    """Every phase in order; the applications counted by state, and the retail pages
    shown, for the caller to log once the demo is committed."""
    people = {entry["username"]: _load_user(entry, password) for entry in demo["users"]}
    retailers = {entry["code"]: _load_retailer(entry, people) for entry in demo["retailers"]}
    counts: Counter[str] = Counter()
    applications: list[Application] = []
    for number, entry in enumerate(demo["applications"], start=1):
        try:
            application = _load_application(entry, people, retailers)
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
            visit = _access(entry, people, applications)
        except (ValidationError, ServiceError, VaultError, KeyError, IndexError) as exc:
            raise DemoDataError(f"access #{number}: {_describe(exc)}") from exc
        if visit is not None:
            visits.append(visit)
    return counts, visits


def _access(
    entry: dict[str, Any], people: dict[str, User], applications: list[Application]
) -> RetailVisit | None:
    """One access of the demo day. A contact read goes through its service, which
    records it; a retail page is read as the retail site reads it, and returned to be
    logged as the site logs it (see the command's handle)."""
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


def _load_user(entry: dict[str, Any], password: str) -> User:
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


def _load_retailer(entry: dict[str, Any], people: dict[str, User]) -> Retailer:
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
    entry: dict[str, Any], people: dict[str, User], retailers: dict[str, Retailer]
) -> Application:
    """Created by its clerk, walked along the happy path, then returned, cancelled or
    switched to another retailer as the entry says; it must end in the entry's state."""
    clerk, supervisor = people[entry["clerk"]], people[entry["supervisor"]]
    target = entry["state"]
    return_reason = entry.get("return_reason", "")
    walk_to = _happy_path_end(target, return_reason, entry.get("cancelled_after", S.DRAFT))
    application = services.application_create(
        acting_user=clerk, data=_application_input(entry, retailers)
    )
    application = _advance(
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


def _happy_path_end(target: str, return_reason: str, cancelled_after: str) -> str:
    """How far along the happy path an application ending in `target` goes first."""
    if target not in ApplicationState.values:
        raise DemoDataError(f"unknown state {target!r}")
    if return_reason and target != S.ENTERED:
        raise DemoDataError("an application returned for correction ends up 'entered'")
    if target == S.CANCELLED:
        walk_to = cancelled_after
    elif return_reason:
        walk_to = S.ENCODED
    else:
        walk_to = target
    if walk_to not in HAPPY_PATH:
        raise DemoDataError(f"cannot reach the state {walk_to!r}")
    return walk_to


def _advance(
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
            application = services.application_release(acting_user=supervisor, application_id=pk)
        elif step == S.CONSTRUCTED:
            application = services.application_complete(
                acting_user=construction, application_id=pk, completed_on=today
            )
        elif step == S.ENERGIZED:
            application = services.application_energize(
                acting_user=construction, application_id=pk, energized_on=today
            )
    return application


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
