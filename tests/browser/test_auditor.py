"""The auditor's pages in a real browser: the trail's search with its chain status, the
filters, an application's timeline, a person's history and the CSV export, with none of
the customer's data on any of them; and the door closed to retail and the clerks.

People and one application are set up through the services; the retail user's view of
the application is made in the browser on the retail site, which logs it in its view log;
the collector copies that into the trail as a RETAIL_VIEWED event (the only way a retail
view enters it), and the sealer and `audit_verify` run as cron would run them. The ORM is
only read.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import translation
from playwright.sync_api import expect

from apps.accounts.models import DivisionCode, User
from apps.applications import services as app_services
from apps.audit.models import AuditAction, AuditCheckpoint, AuditEvent, AuditVerification
from apps.audit.sealing import audit_seal
from apps.publication.models import RetailViewLog
from apps.web.auditors.trail import search
from apps.web.auditors.trail.export import BOM, COLUMNS
from apps.web.auditors.trail.export import header as export_header
from tests.browser.conftest import screenshot, sign_in, sign_out
from tests.browser.steps import Customer, assert_absent, click_and_wait
from tests.conftest import PASSWORD, advance
from tests.factories import application_input
from tests.retail.site import account_of, collect_retail_views

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "vault", "retail"])

KANSA = Customer(
    name="見本 監査三郎",
    name_kana="ミホン カンササブロウ",
    phone="098-246-1357",
    email="saburo.canary@example.invalid",
)
SUPPLY_POINT_ID = "1000000000000000000444"
STREET_ADDRESS = "監査町3丁目21番地"


@pytest.fixture(autouse=True)
def _private_checkpoints(settings: Any, tmp_path: Path) -> Path:
    path = tmp_path / "checkpoints"
    settings.AUDIT_CHECKPOINT_DIR = path
    return path


with translation.override("ja"):
    RETAIL_LABEL = str(DivisionCode.RETAIL.label)


def _rows(page: Any) -> Any:
    return page.locator("[data-testid=events] tbody tr")


def _shown_event_ids(page: Any) -> list[int]:
    cells = page.locator("[data-testid=events] tbody tr td.num").all_inner_texts()
    return [int(text.strip()) for text in cells]


def test_the_auditor_finds_a_retail_view_follows_it_and_exports_it(
    page, clerk, supervisor, retail_user, auditor, retailer, tmp_path, retail_live_server
):
    canaries = [*KANSA.canaries(), STREET_ADDRESS]
    application = app_services.application_create(
        acting_user=clerk,
        data=application_input(
            retailer,
            supply_point_id=SUPPLY_POINT_ID,
            street_address=STREET_ADDRESS,
            customer_name=KANSA.name,
            customer_name_kana=KANSA.name_kana,
            customer_phone=KANSA.phone,
            customer_email=KANSA.email,
        ),
    )
    # --- 小売 retail: signed in on the retail site while nothing is published yet (the
    # list it lands on shows nothing, so logs nothing) ---
    account_of(retail_user)
    sign_in(page, retail_user.username, PASSWORD, site=retail_live_server)
    application = advance(application, "verified", clerk=clerk, supervisor=supervisor)
    reference = application.reference
    assert reference

    # … and, once it is verified, opens its masked detail page there
    page.goto(f"{retail_live_server}/applications/{reference}/")
    expect(page.locator("[data-testid=retail-detail]")).to_contain_text(reference)
    sign_out(page)
    (logged,) = RetailViewLog.objects.filter(account_id=retail_user.pk)
    assert logged.view == "detail"
    # The collector copies that view into the trail, as its periodic task does.
    collect_retail_views()
    retail_views = AuditEvent.objects.filter(
        action=AuditAction.RETAIL_VIEWED, actor=retail_user, object_id=str(application.pk)
    )
    assert retail_views.count() == 1
    assert retail_views.get().details == {"view": "detail", "retail_log_id": logged.pk}
    assert retail_views.get().occurred_at == logged.occurred_at

    # --- the sealer and the verification, as the scheduled jobs run them ---
    sealed = audit_seal()
    assert sealed.sealed > 0 and sealed.checkpoint is not None
    out = io.StringIO()
    call_command("audit_verify", stdout=out)
    assert out.getvalue().strip()
    verification = AuditVerification.objects.order_by("-id").first()
    assert verification is not None and verification.ok
    checkpoint = AuditCheckpoint.objects.order_by("-seq").first()
    assert checkpoint is not None

    # --- 監査 auditor: home → the audit trail ---
    sign_in(page, auditor.username, PASSWORD)
    expect(page.locator("main a[href$='/audit/chain/']")).to_be_visible()
    click_and_wait(page, "main a[href$='/audit/']")
    assert page.url.endswith("/audit/")
    status = page.locator("[data-testid=chain-status]")
    expect(status.locator(".masking-verified")).to_be_visible()  # ✔ intact
    expect(status.locator(".masking-unmasked")).to_have_count(0)
    expect(status).to_contain_text(f"{verification.events_checked} 件のイベント")
    expect(status).to_contain_text(checkpoint.file_name)
    expect(_rows(page).first).to_be_visible()
    all_ids = _shown_event_ids(page)
    assert all_ids == sorted(all_ids, reverse=True)  # newest first
    assert retail_views.get().pk in all_ids
    assert_absent(page.content(), canaries, "the audit search page")

    # Filter: retail views of this application (by its reference).
    page.select_option("#id_action", AuditAction.RETAIL_VIEWED.value)
    page.fill("#id_application", reference)
    click_and_wait(page, "form[role=search] button[type=submit]")
    expect(page.locator("#id_action")).to_have_value(AuditAction.RETAIL_VIEWED.value)
    expect(page.locator("#id_application")).to_have_value(reference)
    expected_ids = list(
        search.search_events(
            search.EventFilter(action=AuditAction.RETAIL_VIEWED, application=reference)
        ).values_list("id", flat=True)
    )
    assert expected_ids == [retail_views.get().pk]
    expect(_rows(page)).to_have_count(len(expected_ids))
    assert _shown_event_ids(page) == expected_ids
    row = _rows(page).filter(has_text=retail_user.username)
    expect(row).to_have_count(1)
    cells = row.locator("td")
    expect(cells.nth(3)).to_have_text(retail_user.username)
    expect(cells.nth(4)).to_have_text(RETAIL_LABEL)
    expect(cells.nth(6)).to_have_text(reference)
    assert_absent(page.content(), canaries, "the filtered audit search")
    screenshot(page, "15-audit-search")
    search_url = page.url

    # The application's timeline, from the row's link: every event of it, oldest first.
    click_and_wait(page, f"[data-testid=events] a[href$='/audit/applications/{application.pk}/']")
    expect(page.locator("main")).to_contain_text(application.pseudonym)
    expect(page.locator("h1")).to_contain_text(reference)
    timeline_ids = _shown_event_ids(page)
    assert timeline_ids == list(
        AuditEvent.objects.for_object(application).order_by("id").values_list("id", flat=True)
    )
    assert retail_views.get().pk in timeline_ids
    actions = set(AuditEvent.objects.filter(pk__in=timeline_ids).values_list("action", flat=True))
    assert {
        AuditAction.APPLICATION_CREATED,
        AuditAction.APPLICATION_VERIFIED,
        AuditAction.RETAIL_VIEWED,
    } <= actions
    retail_row = _rows(page).filter(has_text=retail_user.username)
    expect(retail_row.locator("td").nth(4)).to_have_text(RETAIL_LABEL)
    assert_absent(page.content(), canaries, "the application timeline")
    screenshot(page, "16-audit-timeline")

    # The retail user's history, from the actor's link.
    user_link = f"[data-testid=events] a[href$='/audit/users/{retail_user.pk}/']"
    click_and_wait(page, f"{user_link} >> nth=0")
    expect(page.locator("h1")).to_contain_text(retail_user.username)
    history_ids = _shown_event_ids(page)
    assert retail_views.get().pk in history_ids
    assert set(history_ids) == set(search.user_history(retail_user.pk).values_list("id", flat=True))
    expect(_rows(page).filter(has_text=reference)).to_have_count(1)
    assert_absent(page.content(), canaries, "the retail user's history")

    # The chain status page, from the home page.
    page.goto("/")
    click_and_wait(page, "main a[href$='/audit/chain/']")
    chain = page.locator("[data-testid=chain-status]")
    expect(chain.locator(".masking-verified")).to_be_visible()
    expect(chain).to_contain_text(checkpoint.file_name)
    assert_absent(page.content(), canaries, "the chain status page")
    screenshot(page, "17-audit-chain")

    # --- the export of the filtered search ---
    page.goto(search_url)
    assert not AuditEvent.objects.filter(action=AuditAction.EXPORT).exists()
    with page.expect_download() as download_info:
        page.click("form[role=search] a[href*='/audit/export.csv']")
    download = download_info.value
    assert download.suggested_filename.startswith("audit-events-")
    assert download.suggested_filename.endswith(".csv")
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    raw = saved.read_bytes()
    assert raw.startswith(BOM.encode("utf-8"))  # EF BB BF, for Excel in Japan
    body = raw.decode("utf-8")
    rows = list(csv.reader(io.StringIO(body.removeprefix(BOM))))
    with translation.override("ja"):
        header = export_header()
    assert rows[0] == header
    exported = rows[1:]
    assert [int(r[0]) for r in exported] == expected_ids
    column = {name: i for i, name in enumerate(COLUMNS)}
    (only,) = exported
    assert only[column["action"]] == AuditAction.RETAIL_VIEWED
    assert only[column["actor_username"]] == retail_user.username
    assert only[column["actor_division"]] == "retail"
    assert only[column["actor_division_label"]] == RETAIL_LABEL
    assert only[column["object_label"]] == reference
    assert_absent(body, canaries, "the CSV export")

    export = AuditEvent.objects.get(action=AuditAction.EXPORT)
    assert export.actor == auditor
    assert export.actor_division == "audit"
    assert export.details == {
        "export": "audit_events_csv",
        "filters": {"action": AuditAction.RETAIL_VIEWED.value, "application": reference},
    }


@pytest.mark.parametrize(
    ("who", "status"), [("retail_user", 404), ("clerk", 403)], ids=["retail", "clerk"]
)
def test_the_audit_pages_are_closed_to_retail_and_to_clerks(
    page, request, who, status, retail_live_server
):
    person: User = request.getfixturevalue(who)
    if who == "retail_user":
        # The T&D sign-in refuses retail people; the audit pages do not exist on their site.
        account_of(person)
        sign_in(page, person.username, PASSWORD, site=retail_live_server)
        for path in ("/audit/", "/audit/chain/", "/audit/export.csv"):
            response = page.goto(f"{retail_live_server}{path}")
            assert response is not None and response.status == status, (path, response)
        return
    sign_in(page, person.username, PASSWORD)
    expect(page.locator("main a[href$='/audit/']")).to_have_count(0)
    for path in ("/audit/", "/audit/chain/", "/audit/export.csv"):
        response = page.goto(path)
        assert response is not None and response.status == status, (path, response)
    assert not AuditEvent.objects.filter(action=AuditAction.EXPORT).exists()


def test_the_timeline_folds_a_days_retail_list_views_into_one_row_that_opens(
    page, clerk, supervisor, retail_user, auditor, retailer, retail_live_server
):
    application = app_services.application_create(
        acting_user=clerk, data=application_input(retailer)
    )
    application = advance(application, "verified", clerk=clerk, supervisor=supervisor)

    # --- 小売 retail: opens the list three times on the retail site (one view-log row
    # per application shown); the collector copies them into the trail ---
    account_of(retail_user)
    sign_in(page, retail_user.username, PASSWORD, site=retail_live_server)
    for _ in range(3):
        page.goto(f"{retail_live_server}/")
        expect(page.locator("main")).to_contain_text(application.reference)
    sign_out(page)
    # Signing in lands on the list: four list pages in the retail view log.
    assert RetailViewLog.objects.filter(view="list").count() == 4
    collect_retail_views()
    views = list(
        AuditEvent.objects.filter(
            action=AuditAction.RETAIL_VIEWED, object_id=str(application.pk)
        ).values_list("id", flat=True)
    )
    assert len(views) == 4

    # --- 監査 auditor: the timeline shows one row ×4, which opens on the four views ---
    sign_in(page, auditor.username, PASSWORD)
    page.goto(f"/audit/applications/{application.pk}/")
    grouped = page.locator(f"[data-testid=events] tr[data-event='{views[0]}']")
    expect(grouped).to_have_attribute("data-count", "4")
    expect(grouped.locator("[data-testid=group-count]")).to_have_text("×4")
    members = grouped.locator("details.group li")
    expect(members.first).to_be_hidden()
    grouped.locator("details.group summary").click()
    expect(members).to_have_count(4)
    expect(members.nth(3)).to_be_visible()
    expect(page.locator(f"[data-testid=events] tr[data-event='{views[1]}']")).to_have_count(0)
    screenshot(page, "16b-audit-timeline-grouped")

    # Only the reads: the workflow's rows go, the grouped views stay.
    page.select_option("#id_kind", "reads")
    click_and_wait(page, "[data-testid=kind-filter] button[type=submit]")
    expect(page.locator("[data-testid=events] tbody tr")).to_have_count(1)
    expect(grouped).to_have_attribute("data-count", "4")
