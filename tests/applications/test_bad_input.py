"""Bad input on every service: a clear, field-named error, and nothing stored."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest
from django.core.exceptions import ValidationError
from django.forms.models import model_to_dict
from django.utils import timezone, translation

from apps.applications import reveal, services
from apps.applications.models import Application
from apps.audit.models import AuditEvent
from apps.core.errors import NotFound, ServiceError, WrongState
from apps.vault.models import CustomerRecord
from apps.vault.services import vault_read
from tests.conftest import advance
from tests.factories import application_input

pytestmark = pytest.mark.django_db(databases=["default", "vault", "retail"])


@contextlib.contextmanager
def nothing_stored(app: Application | None = None) -> Iterator[None]:
    before = (
        Application.objects.count(),
        AuditEvent.objects.count(),
        CustomerRecord.objects.count(),
    )
    row = model_to_dict(Application.objects.get(pk=app.pk)) if app else None
    yield
    after = (
        Application.objects.count(),
        AuditEvent.objects.count(),
        CustomerRecord.objects.count(),
    )
    assert after == before
    if app is not None:
        assert model_to_dict(Application.objects.get(pk=app.pk)) == row


def _fields(exc: pytest.ExceptionInfo[ValidationError]) -> set[str]:
    return set(exc.value.message_dict)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("supply_point_id", "1000000000000000000001"[:-1]),  # 21 digits
        ("supply_point_id", "0300000000000000000001"),  # another utility's area
        ("postal_code", "90000"),
        ("prefecture", "48"),
        ("contract_class", "extra-high"),
        ("contract_capacity_kw", "abc"),
        ("contract_capacity_kw", "0"),
        ("contract_capacity_kw", "80"),  # too much for low voltage
        # Numbers Decimal reads but no kW can be: each gave a 500 once.
        ("contract_capacity_kw", "1e27"),
        ("contract_capacity_kw", "1e999"),
        ("contract_capacity_kw", "１ｅ９９９"),
        ("contract_capacity_kw", "9" * 5000),
        ("contract_capacity_kw", "-5"),
        ("contract_capacity_kw", "-0"),
        ("contract_capacity_kw", "NaN"),
        ("contract_capacity_kw", "sNaN"),
        ("contract_capacity_kw", "Infinity"),
        ("contract_capacity_kw", "-Infinity"),
        ("contract_capacity_kw", "1e-999"),
        ("requested_start_date", "2020-01-01"),
        ("requested_start_date", "0001-01-01"),
        ("requested_start_date", "9999-12-31"),
        ("requested_start_date", "10000-01-01"),
        ("requested_start_date", "31/12/2026"),
        ("retailer", 999999),
        ("retailer", "abc"),
        ("retailer", 2**70),
        ("retailer", -1),
        ("customer_name", ""),
        ("customer_name_kana", "Yamada Taro"),
        ("customer_phone", "12345"),
        ("customer_email", "not-an-address"),
        ("contractor_registration", "登録なし"),
        ("municipality", "那" * 61),
    ],
)
def test_create_refuses_bad_field_and_stores_nothing(clerk, retailer, field, value):
    with nothing_stored(), pytest.raises(ValidationError) as refused:
        services.application_create(
            acting_user=clerk, data=application_input(retailer, **{field: value})
        )
    assert field in _fields(refused)


def test_create_names_every_missing_required_field_at_once(clerk, retailer):
    data = application_input(retailer, supply_point_id="", customer_phone=" ", remarks="")

    with nothing_stored(), pytest.raises(ValidationError) as refused:
        services.application_create(acting_user=clerk, data=data)
    assert _fields(refused) == {"supply_point_id", "customer_phone"}


def test_create_refuses_unknown_fields_instead_of_dropping_them(clerk, retailer):
    with nothing_stored(), pytest.raises(ValidationError) as refused:
        services.application_create(
            acting_user=clerk, data=application_input(retailer, customer_fax="098-000-0000")
        )
    assert "__all__" in _fields(refused)


def test_create_accepts_full_width_digits_and_other_hyphens(clerk, retailer):
    app = services.application_create(
        acting_user=clerk,
        data=application_input(
            retailer,
            supply_point_id="１０" + "０" * 19 + "７",
            postal_code="〒９００ー０００１",
            customer_phone="０９８−１２３−４５６７",
        ),
    )
    assert app.supply_point_id == "10" + "0" * 19 + "7"
    assert app.postal_code == "900-0001"


def test_update_refuses_bad_value_and_keeps_the_record(new_application, clerk):
    app = new_application()
    with nothing_stored(app), pytest.raises(ValidationError) as refused:
        services.application_update(
            acting_user=clerk,
            application_id=app.pk,
            expected_version=app.version,
            changes={"customer_phone": "電話なし", "postal_code": "x"},
        )
    assert _fields(refused) == {"customer_phone", "postal_code"}


# Characters nobody sees: each one hid personal data from the scanner or the supervisor.
INVISIBLE = [
    "\u202e",  # right-to-left override (a reversed phone number reads right)
    "\u2066",  # left-to-right isolate
    "\u2063",  # invisible separator
    "\u200b",  # zero-width space
    "\u00ad",  # soft hyphen
    "\u034f",  # combining grapheme joiner
    "\u3164",  # hangul filler
    "\u115f",  # hangul choseong filler
    "\uffa0",  # half-width hangul filler
    "\ufe0f",  # variation selector
    "\U000e0100",  # ideographic variation selector
    "\u2800",  # braille blank
]
TYPED_TEXT = {
    "municipality": "那覇{}市",
    "street_address": "港町1-2{}-3",
    "contractor_name": "沖縄{}電設",
    "contractor_registration": "沖縄県知事登録 第1234{}5号",
    "remarks": "引込は{}東側",
    "customer_name": "山田{}太郎",
    "customer_name_kana": "ヤマダ{}タロウ",
    "customer_phone": "090-1234{}-5678",
    "customer_email": "taro{}@example.com",
    "supply_point_id": "10000000000000{}00077777",
    "postal_code": "900-{}0001",
}


@pytest.mark.parametrize("field", sorted(TYPED_TEXT))
@pytest.mark.parametrize("char", ["\u202e", "\u2063", "\u3164"])
def test_create_refuses_invisible_characters_in_every_typed_field(clerk, retailer, field, char):
    data = application_input(retailer, **{field: TYPED_TEXT[field].format(char)})

    with nothing_stored(), pytest.raises(ValidationError) as refused:
        services.application_create(acting_user=clerk, data=data)

    assert _fields(refused) == {field}
    [error] = refused.value.error_dict[field]
    assert error.code == "invisible_characters"


@pytest.mark.parametrize("char", INVISIBLE)
def test_every_kind_of_invisible_character_is_refused_in_the_remarks(clerk, retailer, char):
    data = application_input(retailer, remarks=f"工事日程は{char}来週")

    with nothing_stored(), pytest.raises(ValidationError) as refused:
        services.application_create(acting_user=clerk, data=data)

    assert refused.value.error_dict["remarks"][0].code == "invisible_characters"


def test_the_refusal_names_the_field_in_japanese(clerk, retailer):
    data = application_input(retailer, contractor_name="沖縄\u2063電設")

    with pytest.raises(ValidationError) as refused:
        services.application_create(acting_user=clerk, data=data)

    with translation.override("ja"):
        [message] = refused.value.message_dict["contractor_name"]
    assert "「電気工事店」" in message
    assert "見えない文字" in message


def test_an_ideographic_variation_selector_in_the_customer_name_is_kept(clerk, retailer):
    # 葛 with an IVS is how some people write their name (異体字); it never reaches retail.
    name = "葛\U000e0100城 次郎"

    app = services.application_create(
        acting_user=clerk, data=application_input(retailer, customer_name=name)
    )

    assert vault_read(app.customer_ref).name == name


def test_line_breaks_in_the_remarks_are_not_invisible_characters(clerk, retailer):
    app = services.application_create(
        acting_user=clerk, data=application_input(retailer, remarks="1行目\r\n2行目\t補足")
    )

    assert app.remarks == "1行目\r\n2行目\t補足"


def test_update_refuses_a_direction_control_and_keeps_the_record(new_application, clerk):
    app = new_application()
    with nothing_stored(app), pytest.raises(ValidationError) as refused:
        services.application_update(
            acting_user=clerk,
            application_id=app.pk,
            expected_version=app.version,
            changes={"remarks": "連絡先 \u202e1234-567-890\u202c"},
        )
    assert _fields(refused) == {"remarks"}


def test_update_of_a_missing_application_is_not_found(clerk):
    with pytest.raises(NotFound):
        services.application_update(
            acting_user=clerk, application_id=424242, expected_version=1, changes={}
        )


def test_change_retailer_to_an_unknown_retailer_is_refused(new_application, clerk):
    app = new_application()
    with nothing_stored(app), pytest.raises(ValidationError) as refused:
        services.application_change_retailer(
            acting_user=clerk, application_id=app.pk, expected_version=1, retailer_id=999999
        )
    assert _fields(refused) == {"retailer"}


def test_submit_twice_is_refused_the_second_time(new_application, clerk):
    app = services.application_submit(acting_user=clerk, application_id=new_application().pk)
    with nothing_stored(app), pytest.raises(WrongState):
        services.application_submit(acting_user=clerk, application_id=app.pk)


@pytest.mark.parametrize(
    "reason",
    ["", "   ", "090-1111-2222 に連絡のこと", "連絡先 someone@example.com", "x" * 1001],
)
def test_return_refuses_empty_or_personal_reasons(new_application, clerk, supervisor, reason):
    app = advance(new_application(), "encoded", clerk=clerk, supervisor=supervisor)
    with nothing_stored(app), pytest.raises(ValidationError) as refused:
        services.application_return(acting_user=supervisor, application_id=app.pk, reason=reason)
    assert _fields(refused) == {"reason"}


def test_return_refuses_the_customers_own_name_in_the_reason(new_application, clerk, supervisor):
    app = advance(new_application(), "encoded", clerk=clerk, supervisor=supervisor)
    name = vault_read(app.customer_ref).name

    with nothing_stored(app), pytest.raises(ValidationError):
        services.application_return(
            acting_user=supervisor, application_id=app.pk, reason=f"{name}様の件で確認"
        )


def test_cancel_refuses_a_reason_with_the_customers_phone(new_application, supervisor):
    app = new_application()
    phone = vault_read(app.customer_ref).phone.replace("-", "")

    with nothing_stored(app), pytest.raises(ValidationError):
        services.application_cancel(
            acting_user=supervisor, application_id=app.pk, reason=f"折返し {phone}"
        )


def _codes(refused: pytest.ExceptionInfo[ValidationError]) -> set[str]:
    return {error.code or "" for errors in refused.value.error_dict.values() for error in errors}


@pytest.mark.parametrize("hidden", ["\u202e", "\u200b", "\u3164"])
def test_return_and_cancel_name_invisible_characters_in_the_reason(
    new_application, clerk, supervisor, hidden
):
    app = advance(new_application(), "encoded", clerk=clerk, supervisor=supervisor)
    reason = f"図面{hidden}の確認をお願いします"

    for service in (services.application_return, services.application_cancel):
        with nothing_stored(app), pytest.raises(ValidationError) as refused:
            service(acting_user=supervisor, application_id=app.pk, reason=reason)
        assert _fields(refused) == {"reason"}
        assert _codes(refused) == {"invisible_characters"}


def test_reveal_names_invisible_characters_in_the_other_reason(
    new_application, clerk, supervisor, construction
):
    app = advance(new_application(), "released", clerk=clerk, supervisor=supervisor)
    with nothing_stored(app), pytest.raises(ValidationError) as refused:
        reveal.application_reveal_customer(
            acting_user=construction,
            application_id=app.pk,
            purpose="other",
            reason_text="現地\u2063確認",
        )
    assert _codes(refused) == {"invisible_characters"}


def test_completion_with_an_unreadable_date_is_refused(
    new_application, clerk, supervisor, construction
):
    app = advance(new_application(), "released", clerk=clerk, supervisor=supervisor)
    with nothing_stored(app), pytest.raises(ValidationError) as refused:
        services.application_complete(
            acting_user=construction, application_id=app.pk, completed_on="昨日"
        )
    assert _fields(refused) == {"completed_on"}


def test_energization_before_completion_is_refused(
    new_application, clerk, supervisor, construction
):
    import datetime

    app = advance(
        new_application(),
        "constructed",
        clerk=clerk,
        supervisor=supervisor,
        construction=construction,
    )
    with nothing_stored(app), pytest.raises(ValidationError) as refused:
        services.application_energize(
            acting_user=construction,
            application_id=app.pk,
            energized_on=timezone.localdate() - datetime.timedelta(days=1),
        )
    assert _fields(refused) == {"energized_on"}


@pytest.mark.parametrize(
    ("purpose", "text", "field"),
    [("gossip", "", "purpose"), ("other", "", "reason_text"), ("other", "x" * 501, "reason_text")],
)
def test_reveal_refuses_a_missing_or_bad_reason(
    new_application, clerk, supervisor, construction, purpose, text, field
):
    app = advance(new_application(), "released", clerk=clerk, supervisor=supervisor)
    with nothing_stored(app), pytest.raises(ValidationError) as refused:
        reveal.application_reveal_customer(
            acting_user=construction, application_id=app.pk, purpose=purpose, reason_text=text
        )
    assert _fields(refused) == {field}


def test_every_refusal_message_is_a_translated_sentence(new_application, clerk, supervisor):
    app = advance(new_application(), "encoded", clerk=clerk, supervisor=supervisor)
    with pytest.raises(ServiceError) as refused:
        services.application_encode(acting_user=clerk, application_id=app.pk)
    assert str(refused.value).strip()
    assert refused.value.code == "wrong_state"
