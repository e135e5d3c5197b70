"""The auditors' pages read as Japanese: labels for codes, details as items, hashes
shortened, people by name, one date format, grouped retail views, paging both ways."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from apps.access_review.models import ReviewItem
from apps.access_review.services import access_sample
from apps.accounts.models import DivisionCode, RoleCode
from apps.applications.inputs import FIELD_LABELS
from apps.audit.models import AuditAction, AuditEvent
from apps.vocabulary.states import RevealPurpose
from apps.web.auditors.trail import search
from apps.web.auditors.trail.export import COLUMNS
from apps.web.auditors.trail.presentation import detail_items
from tests.conftest import _person, advance
from tests.retail.site import LIST, view_on_retail_site

pytestmark = pytest.mark.django_db(databases=["default", "vault", "retail"])

COMMON_DATETIME = re.compile(r"\b20\d\d/\d\d/\d\d \d\d:\d\d\b")


@pytest.fixture
def auditing(client, auditor):
    client.force_login(auditor)
    return client


def _event(**fields) -> AuditEvent:
    return AuditEvent.objects.create(**fields)


def test_details_read_as_labelled_items_with_codes_translated():
    with translation.override("ja"):
        items = detail_items(
            {
                "purpose": "scheduling",
                "fields": ["customer_name", "contract_capacity_kw"],
                "permission": "view_application",
                "group": "retail",
                "to_division": "td",
                "some_new_key": 3,
            }
        )

        expected = {
            "目的": str(RevealPurpose.SCHEDULING.label),
            "項目": f"{FIELD_LABELS['customer_name']}、{FIELD_LABELS['contract_capacity_kw']}",
            "権限": "申込みの閲覧",
            "グループ": str(RoleCode.RETAIL.label),
            "異動先の部門": str(DivisionCode.TD.label),
        }
    shown = {item.label: item.text for item in items}
    assert {label: shown[label] for label in expected} == expected
    assert shown["Some new key"] == "3"  # unknown keys humanised, never dropped


def test_the_personal_data_fields_of_a_read_are_named_like_on_the_form():
    with translation.override("ja"):
        (item,) = detail_items({"fields": ["name", "name_kana", "phone", "email"]})
        expected = "、".join(
            str(FIELD_LABELS[f"customer_{name}"])
            for name in ("name", "name_kana", "phone", "email")
        )

    assert item.text == expected


def test_a_hash_is_shortened_with_the_full_value_kept_for_on_demand():
    full = "a" * 64

    (item,) = detail_items({"projection": full})

    assert item.text == "a" * 12 + "…"
    assert item.full == full


def test_the_search_shows_labels_names_and_the_common_date_format(
    auditing, new_application, clerk, supervisor
):
    clerk.last_name, clerk.first_name = "受付", "花子"
    clerk.save(update_fields=["last_name", "first_name"])
    app = advance(new_application(), "verified", clerk=clerk, supervisor=supervisor)
    encoded = AuditEvent.objects.get(action=AuditAction.APPLICATION_ENCODED)

    html = auditing.get(reverse("audit-search")).content.decode()

    assert "受付 花子" in html and "(clerk_sato)" in html  # name, login id beside it
    assert "送配電部門" in html or "送配電" in html
    assert ">td<" not in html and ">clerk<" not in html
    assert app.projection_hash[:12] + "…" in html  # shortened…
    assert f'<code class="hash-full">{encoded.details["projection"]}</code>' in html  # …on demand
    cells = html.replace("</td>", " </td>")  # each cell's text apart from the next's
    assert COMMON_DATETIME.search(re.sub(r"<[^>]+>", "", cells))
    assert not re.search(r"\b20\d\d-\d\d-\d\d \d\d:\d\d:\d\d\b", html)


def test_the_export_has_a_label_column_beside_each_code(auditing, new_application, clerk):
    new_application()

    response = auditing.get(reverse("audit-export"), {"action": AuditAction.APPLICATION_CREATED})
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode()[1:])))

    row = rows[1]
    col = {name: i for i, name in enumerate(COLUMNS)}
    assert row[col["action"]] == AuditAction.APPLICATION_CREATED
    with translation.override("ja"):
        assert row[col["action_label"]] == str(AuditAction.APPLICATION_CREATED.label)
    assert row[col["actor_division"]] == "td"
    assert row[col["actor_division_label"]] not in ("", "td")
    assert row[col["actor_roles"]] == '["clerk"]'
    assert row[col["actor_roles_label"]] not in ("", "clerk")
    assert COMMON_DATETIME.fullmatch(row[col["occurred_at"]])


def test_the_timeline_groups_a_users_retail_list_views_of_one_day_with_their_count(
    auditing, new_application, clerk, supervisor, retail_user
):
    app = advance(new_application(), "verified", clerk=clerk, supervisor=supervisor)
    view_on_retail_site(retail_user, LIST, LIST, LIST, LIST)
    views = list(AuditEvent.objects.filter(action=AuditAction.RETAIL_VIEWED, object_id=str(app.pk)))
    assert len(views) == 4

    html = auditing.get(reverse("audit-application", args=[app.pk])).content.decode()

    assert html.count(f'data-event="{views[0].pk}" data-count="4"') == 1
    for later in views[1:]:
        assert f'data-event="{later.pk}"' not in html  # folded into the first row…
        assert f"#{later.pk} " in html  # …and listed inside it
    assert '<details class="group">' in html


def test_the_timeline_filters_by_kind_of_action(
    auditing, new_application, clerk, supervisor, retail_user
):
    app = advance(new_application(), "verified", clerk=clerk, supervisor=supervisor)
    view_on_retail_site(retail_user, LIST)
    url = reverse("audit-application", args=[app.pk])

    reads = auditing.get(url, {"kind": "reads"}).content.decode()
    workflow = auditing.get(url, {"kind": "workflow"}).content.decode()

    created = AuditEvent.objects.get(action=AuditAction.APPLICATION_CREATED, object_id=str(app.pk))
    viewed = AuditEvent.objects.get(action=AuditAction.RETAIL_VIEWED, object_id=str(app.pk))
    assert f'data-event="{viewed.pk}"' in reads and f'data-event="{created.pk}"' not in reads
    assert f'data-event="{created.pk}"' in workflow and f'data-event="{viewed.pk}"' not in workflow


def _many_events(n: int, clerk) -> list[AuditEvent]:
    return [_event(actor=clerk, action=AuditAction.LOGIN) for _ in range(n)]


def test_paging_goes_back_to_newer_events(auditing, clerk):
    _many_events(search.PAGE_SIZE + 10, clerk)
    newest = AuditEvent.objects.order_by("-id").values_list("id", flat=True)

    first = auditing.get(reverse("audit-search")).context["page"]
    older = auditing.get(reverse("audit-search"), {"before": first.next_before}).context["page"]
    back = auditing.get(reverse("audit-search"), {"after": older.prev_after}).context["page"]

    assert first.prev_after is None  # nothing newer than the newest page
    assert older.prev_after == older.events[0].pk
    assert [e.pk for e in back.events] == list(newest[: search.PAGE_SIZE])
    assert back.prev_after is None and back.next_before == first.next_before


def test_jump_to_a_date_starts_with_that_days_last_events(auditing, clerk):
    now = timezone.now()
    old = _event(actor=clerk, action=AuditAction.LOGIN, occurred_at=now - dt.timedelta(days=10))
    _event(actor=clerk, action=AuditAction.LOGIN, occurred_at=now - dt.timedelta(days=9))
    _many_events(3, clerk)
    day = timezone.localtime(old.occurred_at).date()

    page = auditing.get(reverse("audit-search"), {"at": day.isoformat()}).context["page"]

    assert page.events[0] == old
    assert page.prev_after == old.pk  # the newer events are a click away


def test_a_jump_to_a_date_outside_the_calendar_is_refused_not_a_server_error(auditing):
    response = auditing.get(reverse("audit-search"), {"at": "9999-12-31"})

    assert response.status_code == 200
    assert response.context["jump"].errors


def test_the_auditors_home_lists_the_items_waiting_and_links_the_report(
    client, auditor, construction
):
    event = _event(
        actor=construction,
        action=AuditAction.PII_READ,
        actor_division="td",
        occurred_at=timezone.now() - dt.timedelta(days=2),
    )
    access_sample(day=timezone.localdate() - dt.timedelta(days=2), size=10)
    client.force_login(auditor)

    html = client.get(reverse("home")).content.decode()

    assert reverse("exposure-home") in html
    assert 'data-testid="review-items"' in html
    item = ReviewItem.objects.get(event=event)
    assert reverse("access-review-item", args=[item.pk]) in html
    assert "koji_ito" in html


def test_the_auditors_home_says_when_nothing_waits(client, auditor):
    client.force_login(auditor)

    html = client.get(reverse("home")).content.decode()

    assert 'data-testid="review-none"' in html


def test_a_transferred_users_history_names_the_divisions(auditing, administrator):
    from apps.administration.services import user_transfer

    moved = _person("transfer_me", "td", "clerk")
    user_transfer(acting_user=administrator, user_id=moved.pk, to_division="retail")

    html = auditing.get(reverse("audit-user", args=[moved.pk])).content.decode()

    with translation.override("ja"):
        from apps.accounts.models import DivisionCode

        assert str(DivisionCode.RETAIL.label) in html
    assert "to_division" not in html and "roles_removed" not in html


def test_the_chain_page_says_what_to_do_before_anything_is_sealed(auditing):
    html = auditing.get(reverse("audit-chain")).content.decode()

    advice = html.split('data-testid="chain-advice">')[1].split("</dd>")[0]
    assert "audit_seal" in advice and "audit_verify" in advice


def test_the_chain_page_names_the_first_problem_of_a_failed_verification(auditing, clerk):
    from apps.audit.models import AuditVerification

    event = _event(actor=clerk, action=AuditAction.LOGIN)
    now = timezone.now()
    AuditVerification.objects.create(
        started_at=now,
        finished_at=now,
        ok=False,
        summary="altered",
        problem="altered",
        problem_seq=7,
        problem_event_id=event.pk,
    )

    html = auditing.get(reverse("audit-chain")).content.decode()

    assert f"?before={event.pk + 1}" in html  # the event, one click away
    advice = html.split('data-testid="chain-advice">')[1].split("</dd>")[0]
    assert "コンプライアンス窓口" in advice
