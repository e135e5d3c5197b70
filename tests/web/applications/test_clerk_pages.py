"""The clerk's pages (受付担当) and the shared T&D application page, through HTTP."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.urls import reverse

from apps.applications import services
from apps.applications.models import Application
from apps.audit.models import AuditAction, AuditEvent
from apps.retailers.models import Retailer
from apps.vault.services import vault_read
from tests.conftest import advance
from tests.factories import application_input, make_retailer

pytestmark = pytest.mark.django_db(databases=["default", "vault", "retail"])

# Canary personal data: none of it may appear where it does not belong.
CANARY = {
    "customer_name": "鳥井 加奈",
    "customer_name_kana": "トリイ カナ",
    "customer_phone": "090-7351-2468",
    "customer_email": "canary.torii@example.invalid",
}
CANARY_NEEDLES = ("鳥井", "トリイ", "7351", "canary.torii")


def _html(response: Any) -> str:
    return response.content.decode()


def _field(html: str, name: str) -> str:
    """The markup of one form field block (label, input, errors)."""
    match = re.search(rf'<div class="field[^"]*" data-field="{name}".*?</div>', html, re.S)
    assert match, f"no field block for {name}"
    return match.group(0)


def _typed(retailer: Retailer, **overrides: Any) -> dict[str, Any]:
    data = application_input(retailer, **CANARY)
    data.update(overrides)
    return data


def _canary_app(new_application: Any, **overrides: Any) -> Application:
    return new_application(**{**CANARY, **overrides})


def _has_no_pii(text: str) -> bool:
    return not any(needle in text for needle in CANARY_NEEDLES)


# --- every page opens for a clerk ---------------------------------------------------------


def test_every_clerk_page_opens_for_a_clerk(client, clerk, new_application, supervisor):
    draft = new_application()
    entered = advance(new_application(), "entered", clerk=clerk, supervisor=supervisor)
    client.force_login(clerk)

    with_an_application = [
        reverse("clerk-list"),
        reverse("application-detail", args=[draft.pk]),
        reverse("clerk-edit", args=[draft.pk]),
        reverse("clerk-encode", args=[entered.pk]),
        reverse("clerk-change-retailer", args=[draft.pk]),
    ]
    others = [reverse("clerk-returned"), reverse("clerk-create")]
    for key in ("draft", "entered", "to_encode", "encoded", "verified", "released"):
        others.append(reverse("clerk-list") + f"?state={key}")
    for key in ("constructed", "energized", "cancelled", "nonsense"):
        others.append(reverse("clerk-list") + f"?state={key}")

    for url in with_an_application + others:
        assert client.get(url).status_code == 200, url
    for url in with_an_application:
        assert 'data-testid="masking"' in _html(client.get(url)), url


def test_the_list_shows_the_desks_applications_but_only_my_own_drafts(
    client, clerk, clerk2, new_application, supervisor, retailer
):
    mine = new_application()
    theirs = services.application_create(acting_user=clerk2, data=application_input(retailer))
    entered_by_them = advance(theirs, "entered", clerk=clerk2, supervisor=supervisor)
    client.force_login(clerk)

    everything = _html(client.get(reverse("clerk-list")))
    drafts = _html(client.get(reverse("clerk-list") + "?state=draft"))

    assert f'data-application="{mine.pk}"' in everything
    assert f'data-application="{entered_by_them.pk}"' in everything
    assert f'data-application="{mine.pk}"' in drafts
    assert f'data-application="{entered_by_them.pk}"' not in drafts


def test_waiting_to_be_encoded_lists_non_affiliated_retailers_first(
    client, clerk, new_application, supervisor
):
    own = make_retailer(code="A0001", name="おきなわ電力小売")
    Retailer.objects.filter(pk=own.pk).update(is_affiliated=True)
    independent = advance(new_application(), "entered", clerk=clerk, supervisor=supervisor)
    affiliated = services.application_create(
        acting_user=clerk, data=application_input(own)
    )  # created later, so newer
    affiliated = advance(affiliated, "entered", clerk=clerk, supervisor=supervisor)
    client.force_login(clerk)

    html = _html(client.get(reverse("clerk-list") + "?state=to_encode"))

    assert html.index(f'data-application="{independent.pk}"') < html.index(
        f'data-application="{affiliated.pk}"'
    )
    assert 'data-testid="affiliated"' in html
    assert 'data-testid="non-affiliated"' in html


def test_the_list_costs_the_same_queries_for_many_applications(
    client, clerk, new_application, django_assert_max_num_queries
):
    new_application()
    client.force_login(clerk)
    with django_assert_max_num_queries(100) as few:
        client.get(reverse("clerk-list"))
    for _ in range(5):
        new_application(retailer=make_retailer().pk)

    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(reverse("clerk-list"))

    assert _html(response).count("data-application=") == 6


def test_the_list_is_paginated_by_fifty(client, clerk, new_application, monkeypatch):
    from apps.web.applications.views import clerk_list as clerk_views

    monkeypatch.setattr(clerk_views, "PAGE_SIZE", 2)
    for _ in range(3):
        new_application()
    client.force_login(clerk)

    first = _html(client.get(reverse("clerk-list")))
    second = _html(client.get(reverse("clerk-list") + "?page=2"))

    assert first.count("data-application=") == 2
    assert second.count("data-application=") == 1
    assert 'rel="next"' in first


# --- create ---------------------------------------------------------------------------------


def test_create_accepts_full_width_digits_and_hyphen_variants_and_normalises_them(
    client, clerk, retailer
):
    client.force_login(clerk)
    data = _typed(
        retailer,
        supply_point_id="１０００ ００００ ００００ ００００ ０７７７ ７７",
        postal_code="〒９００ー０００１",
        contract_capacity_kw="６．０",
        customer_phone="０９０−７３５１―２４６８",  # minus sign and horizontal bar
    )

    response = client.post(reverse("clerk-create"), data)

    assert response.status_code == 302
    app = Application.objects.get()
    assert response["Location"] == reverse("application-detail", args=[app.pk])
    assert app.supply_point_id == "1000000000000000077777"
    assert app.postal_code == "900-0001"
    assert str(app.contract_capacity_kw) == "6.0"
    assert app.state == "draft"
    assert vault_read(app.customer_ref).phone == "090-7351-2468"


def test_the_form_marks_the_inputs_the_browser_normalises_and_the_personal_data(client, clerk):
    client.force_login(clerk)

    html = _html(client.get(reverse("clerk-create")))

    for name in ("supply_point_id", "customer_phone", "contract_capacity_kw"):
        assert 'data-normalize="digits"' in _field(html, name)
    assert 'data-normalize="postal"' in _field(html, "postal_code")
    assert 'type="date"' in _field(html, "requested_start_date")
    assert 'data-personal="true"' in html
    assert "<select" in _field(html, "prefecture")
    assert "<select" in _field(html, "retailer")


def test_create_with_errors_keeps_the_input_and_shows_each_error_next_to_its_field(
    client, clerk, retailer
):
    client.force_login(clerk)
    data = _typed(
        retailer,
        customer_phone="12345",
        municipality="那覇市おもろまち",
        contract_capacity_kw="60",  # too much for low voltage: the service says so
    )

    response = client.post(reverse("clerk-create"), data)

    assert response.status_code == 200
    html = _html(response)
    phone = _field(html, "customer_phone")
    assert "has-error" in phone
    assert 'class="error"' in phone
    assert 'value="12345"' in phone
    assert 'value="那覇市おもろまち"' in _field(html, "municipality")
    assert "has-error" not in _field(html, "municipality")
    # The rule spanning two fields is reported in the same round, not after the phone is fixed.
    assert "has-error" in _field(html, "contract_capacity_kw")
    assert not Application.objects.exists()


@pytest.mark.parametrize(
    ("capacity", "message"),
    [
        ("1e27", "2000 kW以下"),
        ("1e999", "2000 kW以下"),
        ("NaN", "数値"),
        ("-Infinity", "数値"),
        ("-3", "0より大きい"),
    ],
)
def test_a_capacity_no_contract_can_have_is_refused_in_japanese_with_the_input_kept(
    client, clerk, retailer, capacity, message
):
    client.force_login(clerk)

    response = client.post(reverse("clerk-create"), _typed(retailer, contract_capacity_kw=capacity))

    assert response.status_code == 200
    block = _field(_html(response), "contract_capacity_kw")
    assert "has-error" in block
    assert message in block
    assert f'value="{capacity}"' in block
    assert not Application.objects.exists()


def test_editing_to_an_overflowing_capacity_or_a_start_in_year_9999_changes_nothing(
    client, clerk, new_application
):
    app = new_application()
    client.force_login(clerk)
    form = client.get(reverse("clerk-edit", args=[app.pk])).context["form"]

    response = client.post(
        reverse("clerk-edit", args=[app.pk]),
        {
            **form.initial,
            "contract_capacity_kw": "1e999",
            "requested_start_date": "9999-12-31",
            "version": app.version,
        },
    )

    assert response.status_code == 200
    html = _html(response)
    assert "has-error" in _field(html, "contract_capacity_kw")
    assert "以前の日付" in _field(html, "requested_start_date")
    assert 'value="9999-12-31"' in _field(html, "requested_start_date")
    app.refresh_from_db()
    assert app.version == 1


def test_create_refuses_an_invisible_character_naming_the_field_in_japanese(
    client, clerk, retailer
):
    client.force_login(clerk)
    data = _typed(retailer, remarks="引込は東側、カ\u2063ナリア様宅", contractor_name="沖縄電設")

    response = client.post(reverse("clerk-create"), data)

    assert response.status_code == 200
    remarks = _field(_html(response), "remarks")
    assert "has-error" in remarks
    assert "「備考」に、見えない文字" in remarks
    assert "引込は東側" in remarks
    assert "has-error" not in _field(_html(response), "contractor_name")
    assert not Application.objects.exists()


def test_an_error_the_service_finds_is_shown_next_to_its_field_with_the_input_kept(
    client, clerk, retailer, monkeypatch
):
    from django.core.exceptions import ValidationError

    def refuse(**kwargs: Any) -> None:
        raise ValidationError({"supply_point_id": ["既に登録されています。"]})

    monkeypatch.setattr(services, "application_create", refuse)
    client.force_login(clerk)

    response = client.post(reverse("clerk-create"), _typed(retailer, remarks="引込は東側"))

    spid = _field(_html(response), "supply_point_id")
    assert "has-error" in spid
    assert "既に登録されています。" in spid
    assert "引込は東側" in _field(_html(response), "remarks")


# --- edit -----------------------------------------------------------------------------------


def test_the_edit_form_is_prefilled_and_the_read_is_logged_as_edit(client, clerk, new_application):
    app = _canary_app(new_application)
    client.force_login(clerk)

    html = _html(client.get(reverse("clerk-edit", args=[app.pk])))

    assert f'value="{CANARY["customer_phone"]}"' in _field(html, "customer_phone")
    assert f'name="version" value="{app.version}"' in html
    assert 'name="retailer"' not in html
    assert reverse("clerk-change-retailer", args=[app.pk]) in html
    event = AuditEvent.objects.for_object(app).get(action=AuditAction.PII_READ)
    assert event.details["purpose"] == "edit"
    assert event.actor == clerk


def test_editing_saves_a_new_version(client, clerk, new_application):
    app = new_application()
    client.force_login(clerk)
    form = client.get(reverse("clerk-edit", args=[app.pk])).context["form"]
    data = {**form.initial, "remarks": "引込柱は北側。", "version": app.version}

    response = client.post(reverse("clerk-edit", args=[app.pk]), data)

    assert response.status_code == 302
    app.refresh_from_db()
    assert app.version == 2
    assert app.remarks == "引込柱は北側。"


def test_editing_a_stale_version_is_refused_and_keeps_what_was_typed(
    client, clerk, clerk2, new_application
):
    app = new_application()
    client.force_login(clerk)
    form = client.get(reverse("clerk-edit", args=[app.pk])).context["form"]
    services.application_update(
        acting_user=clerk2,
        application_id=app.pk,
        expected_version=1,
        changes={"remarks": "別の担当者の修正"},
    )

    response = client.post(
        reverse("clerk-edit", args=[app.pk]),
        {**form.initial, "remarks": "私の修正", "version": 1},
    )

    assert response.status_code == 200
    html = _html(response)
    assert 'data-testid="stale"' in html
    assert "私の修正" in _field(html, "remarks")
    app.refresh_from_db()
    assert app.remarks == "別の担当者の修正"
    assert app.version == 2


def test_editing_after_encoding_withdraws_the_masking(client, clerk, new_application, supervisor):
    app = advance(new_application(), "encoded", clerk=clerk, supervisor=supervisor)
    client.force_login(clerk)
    form = client.get(reverse("clerk-edit", args=[app.pk])).context["form"]

    client.post(
        reverse("clerk-edit", args=[app.pk]),
        {**form.initial, "contractor_name": "別の電設株式会社", "version": app.version},
    )

    app.refresh_from_db()
    assert app.masking_state == "unmasked"
    assert app.state == "entered"


# --- submit ---------------------------------------------------------------------------------


def test_submitting_a_draft_enters_it(client, clerk, new_application):
    app = new_application()
    client.force_login(clerk)

    response = client.post(reverse("clerk-submit", args=[app.pk]), {"version": app.version})

    assert response.status_code == 302
    assert response["Location"] == reverse("application-detail", args=[app.pk])
    app.refresh_from_db()
    assert app.state == "entered"


def test_submitting_a_stale_version_changes_nothing_and_says_why(client, clerk, new_application):
    app = new_application()
    client.force_login(clerk)

    response = client.post(
        reverse("clerk-submit", args=[app.pk]), {"version": app.version + 1}, follow=True
    )

    app.refresh_from_db()
    assert app.state == "draft"
    assert 'class="message error"' in _html(response)


def test_submit_answers_only_post(client, clerk, new_application):
    app = new_application()
    client.force_login(clerk)

    assert client.get(reverse("clerk-submit", args=[app.pk])).status_code == 405


# --- encode ---------------------------------------------------------------------------------


def test_the_encode_page_shows_the_td_data_beside_what_retail_will_see(
    client, clerk, new_application, supervisor
):
    app = advance(_canary_app(new_application), "entered", clerk=clerk, supervisor=supervisor)
    client.force_login(clerk)

    html = _html(client.get(reverse("clerk-encode", args=[app.pk])))

    td, retail = html.split('data-testid="td-data"')[1].split('data-testid="retail-preview"')
    assert CANARY["customer_name"] in td
    assert _has_no_pii(retail.split('data-testid="encode-form"')[0])
    assert app.pseudonym in retail
    event = AuditEvent.objects.for_object(app).get(action=AuditAction.PII_READ)
    assert event.details["purpose"] == "encode"


def test_encoding_is_refused_with_the_leak_shown_next_to_remarks(
    client, clerk, new_application, supervisor
):
    app = _canary_app(new_application, remarks="施主携帯 ０９０ー７３５１ー２４６８ に連絡")
    app = advance(app, "entered", clerk=clerk, supervisor=supervisor)
    client.force_login(clerk)

    response = client.post(reverse("clerk-encode", args=[app.pk]), {"version": app.version})

    assert response.status_code == 200
    html = _html(response)
    summary = html.split('data-testid="error-summary"')[1].split("</div>")[0]
    assert 'data-error-field="remarks"' in summary
    assert 'href="#leak-remarks"' in summary
    assert _has_no_pii(summary)
    assert 'data-leak="remarks"' in html
    assert reverse("clerk-edit", args=[app.pk]) + "#id_remarks" in html
    app.refresh_from_db()
    assert app.masking_state == "unmasked"
    assert app.state == "entered"
    assert app.encoded_by is None


def test_encoding_succeeds_and_records_who_encoded(client, clerk, new_application, supervisor):
    app = advance(new_application(), "entered", clerk=clerk, supervisor=supervisor)
    client.force_login(clerk)

    response = client.post(reverse("clerk-encode", args=[app.pk]), {"version": app.version})

    assert response.status_code == 302
    assert response["Location"] == reverse("application-detail", args=[app.pk])
    app.refresh_from_db()
    assert app.masking_state == "encoded"
    assert app.state == "encoded"
    assert app.encoded_by == clerk
    detail = _html(client.get(response["Location"]))
    assert "clerk_sato" in detail.split('data-testid="encoded-by"')[1].split("</dd>")[0]


def test_the_encode_page_of_an_application_not_waiting_for_it_sends_back_without_reading_pii(
    client, clerk, new_application
):
    app = new_application()
    client.force_login(clerk)

    response = client.get(reverse("clerk-encode", args=[app.pk]))

    assert response.status_code == 302
    assert not AuditEvent.objects.filter(action=AuditAction.PII_READ).exists()


# --- change retailer ------------------------------------------------------------------------


def test_changing_the_retailer_withdraws_the_masking(client, clerk, new_application, supervisor):
    app = advance(new_application(), "verified", clerk=clerk, supervisor=supervisor)
    other = make_retailer(code="B0009", name="にし新電力")
    client.force_login(clerk)
    page = _html(client.get(reverse("clerk-change-retailer", args=[app.pk])))
    assert 'data-testid="withdraw-warning"' in page

    response = client.post(
        reverse("clerk-change-retailer", args=[app.pk]),
        {"retailer": other.pk, "reason": "スイッチングの申出", "version": app.version},
    )

    assert response.status_code == 302
    app.refresh_from_db()
    assert app.retailer == other
    assert app.masking_state == "unmasked"
    assert not app.is_retail_visible


def test_a_reason_with_personal_data_is_refused_next_to_the_reason(client, clerk, new_application):
    app = _canary_app(new_application)
    other = make_retailer(code="B0010", name="ひがし新電力")
    client.force_login(clerk)

    response = client.post(
        reverse("clerk-change-retailer", args=[app.pk]),
        {"retailer": other.pk, "reason": "本人 090-7351-2468 から依頼", "version": app.version},
    )

    assert response.status_code == 200
    assert "has-error" in _field(_html(response), "reason")
    app.refresh_from_db()
    assert app.retailer != other


# --- returned -------------------------------------------------------------------------------


def test_returned_applications_show_the_supervisors_reason_at_the_top(
    client, clerk, new_application, supervisor
):
    app = advance(new_application(), "encoded", clerk=clerk, supervisor=supervisor)
    services.application_return(
        acting_user=supervisor, application_id=app.pk, reason="備考の記載を見直してください。"
    )
    client.force_login(clerk)

    returned = _html(client.get(reverse("clerk-returned")))
    detail = _html(client.get(reverse("application-detail", args=[app.pk])))

    item = returned.split(f'data-application="{app.pk}"')[1]
    assert item.index('data-testid="return-reason"') < item.index(str(app.reference))
    assert "備考の記載を見直してください。" in item
    assert detail.index('data-testid="return-reason"') < detail.index('data-testid="status"')


# --- the application page ------------------------------------------------------------------


@pytest.mark.parametrize("role", ["clerk", "supervisor", "construction"])
def test_the_application_page_shows_the_pseudonym_and_no_personal_data(
    client, role, request, new_application, clerk, supervisor
):
    app = advance(_canary_app(new_application), "released", clerk=clerk, supervisor=supervisor)
    client.force_login(request.getfixturevalue(role))

    response = client.get(reverse("application-detail", args=[app.pk]))

    assert response.status_code == 200
    html = _html(response)
    assert app.pseudonym in html
    assert _has_no_pii(html)
    assert 'data-testid="masking"' in html


def test_the_application_page_offers_each_role_its_own_actions(
    client, clerk, supervisor, construction, new_application
):
    app = new_application()
    url = reverse("application-detail", args=[app.pk])

    client.force_login(clerk)
    as_clerk = _html(client.get(url))
    client.force_login(supervisor)
    as_supervisor = _html(client.get(url))
    client.force_login(construction)
    as_construction = _html(client.get(url))

    assert 'data-testid="submit-form"' in as_clerk
    assert 'data-testid="edit"' in as_clerk
    assert 'data-testid="supervisor-actions"' not in as_clerk
    assert 'data-testid="clerk-actions"' not in as_supervisor
    assert 'data-testid="supervisor-actions"' in as_supervisor
    assert 'data-testid="clerk-actions"' not in as_construction


def test_construction_is_linked_to_its_own_page_for_released_work(
    client, clerk, supervisor, construction, new_application
):
    app = advance(new_application(), "released", clerk=clerk, supervisor=supervisor)
    client.force_login(construction)

    html = _html(client.get(reverse("application-detail", args=[app.pk])))

    assert reverse("construction-detail", args=[app.pk]) in html


# --- who may open what ----------------------------------------------------------------------

CLERK_ONLY = [
    "clerk-returned",
    "clerk-create",
    "clerk-edit",
    "clerk-encode",
    "clerk-change-retailer",
]
ALL_URLS = ["clerk-list", "application-detail", "clerk-submit", *CLERK_ONLY]


def _url(name: str, app: Application) -> str:
    if name in ("clerk-list", "clerk-returned", "clerk-create"):
        return reverse(name)
    return reverse(name, args=[app.pk])


@pytest.mark.parametrize("name", ALL_URLS)
@pytest.mark.parametrize("method", ["get", "post"])
def test_retail_staff_get_not_found_on_every_clerk_url(
    client, retail_user, new_application, clerk, supervisor, name, method
):
    app = advance(new_application(), "verified", clerk=clerk, supervisor=supervisor)
    client.force_login(retail_user)

    response = getattr(client, method)(_url(name, app))

    assert response.status_code == 404


@pytest.mark.parametrize("role", ["auditor", "administrator"])
@pytest.mark.parametrize("name", ALL_URLS)
def test_auditors_and_administrators_are_refused(client, request, new_application, role, name):
    app = new_application()
    client.force_login(request.getfixturevalue(role))

    assert client.get(_url(name, app)).status_code == 403
    assert client.post(_url(name, app)).status_code == 403
    app.refresh_from_db()
    assert app.state == "draft"


@pytest.mark.parametrize("name", ["clerk-list", "clerk-submit", *CLERK_ONLY])
def test_construction_is_refused_the_clerk_pages(client, construction, new_application, name):
    app = new_application()
    client.force_login(construction)

    assert client.get(_url(name, app)).status_code == 403


@pytest.mark.parametrize("name", ["clerk-submit", *CLERK_ONLY])
def test_supervisors_are_refused_the_clerk_only_pages(client, supervisor, new_application, name):
    app = new_application()
    client.force_login(supervisor)

    assert client.get(_url(name, app)).status_code == 403
    assert client.post(_url(name, app), {"version": app.version}).status_code == 403


def test_supervisors_may_open_the_list(client, supervisor):
    client.force_login(supervisor)

    assert client.get(reverse("clerk-list") + "?state=verified").status_code == 200


# --- personal data never in a URL ---------------------------------------------------------


def test_no_redirect_carries_personal_data(client, clerk, new_application, supervisor, retailer):
    client.force_login(clerk)
    locations = []

    created = client.post(reverse("clerk-create"), _typed(retailer))
    locations.append(created["Location"])
    app = Application.objects.get()
    form = client.get(reverse("clerk-edit", args=[app.pk])).context["form"]
    edited = client.post(
        reverse("clerk-edit", args=[app.pk]), {**form.initial, "remarks": "修正", "version": 1}
    )
    locations.append(edited["Location"])
    for name in ("clerk-submit", "clerk-encode"):
        app.refresh_from_db()
        locations.append(
            client.post(reverse(name, args=[app.pk]), {"version": app.version})["Location"]
        )
    app.refresh_from_db()
    changed = client.post(
        reverse("clerk-change-retailer", args=[app.pk]),
        {"retailer": make_retailer().pk, "version": app.version},
    )
    locations.append(changed["Location"])

    assert len(locations) == 5
    for location in locations:
        assert location == reverse("application-detail", args=[app.pk])
        assert _has_no_pii(location)
