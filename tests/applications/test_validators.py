"""Normalisation and validation of what clerks type into an application."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.core.exceptions import ValidationError

from apps.applications.validators import (
    normalize_contractor_registration,
    normalize_email,
    normalize_kana,
    normalize_person_name,
    normalize_phone,
    normalize_postal_code,
    normalize_supply_point_id,
    phone_digits,
)

Normalizer = Callable[[str], str]

SUPPLY_POINT_ID = "1000123456789012345678"


@pytest.fixture(autouse=True)
def _okinawa_area(settings):
    settings.SHADAN_AREA_CODE = "10"


def rejection(normalize: Normalizer, value: str) -> ValidationError:
    with pytest.raises(ValidationError) as excinfo:
        normalize(value)
    return excinfo.value


# --- 供給地点特定番号 -----------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        SUPPLY_POINT_ID,
        "１０００１２３４５６７８９０１２３４５６７８",
        "10 0012 3456 7890 1234 5678",
        "10　0012　3456　7890　1234　5678",
        "10-0012-3456-7890-1234-5678",
        "10‐0012‑3456−7890－1234ー5678",
        "  1000123456789012345678  ",
    ],
)
def test_supply_point_id_is_accepted_with_any_width_spacing_and_hyphens(value):
    assert normalize_supply_point_id(value) == SUPPLY_POINT_ID


@pytest.mark.parametrize(
    "value",
    [
        "100012345678901234567",  # 21 digits
        "10001234567890123456789",  # 23 digits
        "10001234567890123456AB",
        "10/0012/3456/7890/1234/5678",
        "一〇〇〇一二三四五六七八九〇一二三四五六七八",
    ],
)
def test_supply_point_id_of_wrong_length_or_characters_is_rejected(value):
    assert rejection(normalize_supply_point_id, value).code == "supply_point_id_format"


def test_supply_point_id_of_another_service_area_is_rejected():
    error = rejection(normalize_supply_point_id, "0300123456789012345678")

    assert error.code == "supply_point_id_area"


def test_supply_point_id_area_follows_the_setting(settings):
    settings.SHADAN_AREA_CODE = "03"

    assert normalize_supply_point_id("03-0012-3456-7890-1234-5678") == "0300123456789012345678"
    assert rejection(normalize_supply_point_id, SUPPLY_POINT_ID).code == "supply_point_id_area"


# --- postal code -------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "9000001",
        "900-0001",
        "〒900-0001",
        "〒 900-0001",
        "９００－０００１",
        "〒９００ー０００１",
        "900‐0001",
        "900−0001",
        "900 0001",
        " 900-0001 ",
    ],
)
def test_postal_code_variants_become_three_hyphen_four(value):
    assert normalize_postal_code(value) == "900-0001"


@pytest.mark.parametrize("value", ["90000011", "900-001", "9000-001", "900-000A", "〒〒9000001"])
def test_malformed_postal_code_is_rejected(value):
    assert rejection(normalize_postal_code, value).code == "postal_code_invalid"


# --- phone -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("098-123-4567", "098-123-4567"),
        ("0981234567", "0981234567"),
        ("098(123)4567", "098-123-4567"),
        ("(098)123-4567", "098-123-4567"),
        ("098 (123) 4567", "098-123-4567"),
        ("０９８－１２３－４５６７", "098-123-4567"),
        ("０９８（１２３）４５６７", "098-123-4567"),
        ("090‐1234‐5678", "090-1234-5678"),
        ("090−1234−5678", "090-1234-5678"),
        ("090ー1234ー5678", "090-1234-5678"),
        ("090―1234―5678", "090-1234-5678"),
        ("090 1234 5678", "090-1234-5678"),
        ("090　1234　5678", "090-1234-5678"),
        ("+81 90 1234 5678", "090-1234-5678"),
        ("+81-90-1234-5678", "090-1234-5678"),
        ("+819012345678", "09012345678"),
        ("+81 (0)90-1234-5678", "090-1234-5678"),
        ("＋８１ ９８－１２３－４５６７", "098-123-4567"),
        ("0120-123-456", "0120-123-456"),
        ("0570-012-345", "0570-012-345"),
        ("0800-123-4567", "0800-123-4567"),
        ("050-1234-5678", "050-1234-5678"),
        ("070-1234-5678", "070-1234-5678"),
        ("020-1234-5678", "020-1234-5678"),
        ("03-1234-5678", "03-1234-5678"),
        ("0-9-0-1-2-3-4-5-6-7-8", "09012345678"),
    ],
)
def test_japanese_phone_number_keeps_the_persons_grouping(value, expected):
    assert normalize_phone(value) == expected


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("098-123-456", "phone_invalid"),  # 9 digits
        ("090-1234-56789", "phone_invalid"),  # 12 digits
        ("090-1234-567", "phone_invalid"),  # mobile with 10 digits
        ("0031234567", "phone_invalid"),  # international prefix
        ("98-1234-5678", "phone_invalid"),  # no trunk prefix
        ("0120-123-4567", "phone_invalid"),  # 11 digits not mobile/IP
        ("TEL 098-123-4567", "phone_invalid_characters"),
        ("098-123-4567 内線12", "phone_invalid_characters"),
        ("098/123/4567", "phone_invalid_characters"),
        ("+1 555 123 4567", "phone_foreign"),
        ("+82 10 1234 5678", "phone_foreign"),
    ],
)
def test_phone_that_is_not_a_japanese_number_is_rejected(value, code):
    assert rejection(normalize_phone, value).code == code


def test_phone_digits_are_the_digits_of_the_canonical_number():
    assert phone_digits("+81 (0)98-123-4567") == "0981234567"


def test_phone_digits_reject_an_invalid_number():
    assert rejection(phone_digits, "090-1234").code == "phone_invalid"


# --- e-mail ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("taro@example.com", "taro@example.com"),
        ("  Taro.Yamada@EXAMPLE.COM ", "Taro.Yamada@example.com"),
        ("ｔａｒｏ＠ｅｘａｍｐｌｅ．ｃｏｍ", "taro@example.com"),
        ("Taro+Denki@Mail.Example.CO.JP", "Taro+Denki@mail.example.co.jp"),
    ],
)
def test_email_domain_is_lowercased_and_local_part_kept_as_typed(value, expected):
    assert normalize_email(value) == expected


@pytest.mark.parametrize(
    "value", ["taro", "taro@", "@example.com", "taro@@example.com", "taro yamada@example.com"]
)
def test_malformed_email_is_rejected(value):
    assert rejection(normalize_email, value).code == "email_invalid"


def test_email_rejection_does_not_carry_the_address_in_its_params():
    error = rejection(normalize_email, "not-an-address.example.com")

    assert not error.params


# --- kana --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("ヤマダ タロウ", "ヤマダ タロウ"),
        ("やまだ　たろう", "ヤマダ タロウ"),
        ("ﾔﾏﾀﾞ ﾀﾛｳ", "ヤマダ タロウ"),
        ("  ヤマダ   タロウ  ", "ヤマダ タロウ"),
        ("ｽﾐｽ･ｼﾞｮﾝ", "スミス・ジョン"),
        ("ハーバート", "ハーバート"),
        ("ﾊｰﾊﾞｰﾄ", "ハーバート"),
        ("ハ-バ－ト", "ハーバート"),
        ("ヴァイオレット", "ヴァイオレット"),
        ("ゔぁいおれっと", "ヴァイオレット"),
        ("ササキ", "ササキ"),
    ],
)
def test_kana_is_folded_to_full_width_katakana(value, expected):
    assert normalize_kana(value) == expected


@pytest.mark.parametrize(
    "value",
    ["山田 タロウ", "Yamada Taro", "ヤマダ3", "ヤマダ（タロウ）", "ヤマダ、タロウ", "-ヤマダ"],
)
def test_kana_with_anything_but_katakana_is_rejected(value):
    assert rejection(normalize_kana, value).code == "kana_invalid"


def test_overlong_kana_is_rejected():
    assert rejection(normalize_kana, "ア" * 101).code == "kana_too_long"


# --- person name -------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("山田　太郎", "山田 太郎"),
        ("  山田   太郎 ", "山田 太郎"),
        ("髙橋 一郎", "髙橋 一郎"),
        ("﨑山 花子", "﨑山 花子"),
        ("葛\U000e0100城 次郎", "葛\U000e0100城 次郎"),  # an IVS picks the glyph
        ("ＪＯＨＮ Smith", "ＪＯＨＮ Smith"),
        ("山田\u200b太郎", "山田太郎"),
        ("O'Brien-Smith 3世", "O'Brien-Smith 3世"),
    ],
)
def test_person_name_only_has_its_spaces_collapsed(value, expected):
    assert normalize_person_name(value) == expected


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("山田\x00太郎", "name_invalid_characters"),
        ("山田\u202e太郎", "name_invalid_characters"),
        ("12345", "name_digits_only"),
        ("１２ ３４５", "name_digits_only"),
        ("---", "name_no_letters"),
        ("山" * 101, "name_too_long"),
    ],
)
def test_person_name_that_cannot_be_a_name_is_rejected(value, code):
    assert rejection(normalize_person_name, value).code == code


# --- contractor registration -------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("沖縄県知事登録 第12345号", "沖縄県知事登録 第12345号"),
        ("沖縄県知事登録　第１２３４５号", "沖縄県知事登録 第12345号"),
        ("経済産業大臣(01)第123号", "経済産業大臣(01)第123号"),
        ("経済産業大臣（０１）第１２３号", "経済産業大臣(01)第123号"),
        ("  沖縄県知事  (般-5) 第 678 号 ", "沖縄県知事 (般-5) 第 678 号"),
    ],
)
def test_contractor_registration_is_free_form_with_half_width_digits(value, expected):
    assert normalize_contractor_registration(value) == expected


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("沖縄県知事登録 第号", "registration_no_digit"),
        ("沖縄県知事登録 第12345号" * 5, "registration_too_long"),
        ("沖縄県知事登録\x07第12345号", "registration_invalid_characters"),
    ],
)
def test_insane_contractor_registration_is_rejected(value, code):
    assert rejection(normalize_contractor_registration, value).code == code


# --- common behaviour --------------------------------------------------------

ALL_NORMALIZERS = [
    normalize_supply_point_id,
    normalize_postal_code,
    normalize_phone,
    phone_digits,
    normalize_email,
    normalize_kana,
    normalize_person_name,
    normalize_contractor_registration,
]


@pytest.mark.parametrize("normalize", ALL_NORMALIZERS)
@pytest.mark.parametrize("value", ["", "   ", "　\t"])
def test_blank_input_comes_back_blank_so_the_caller_decides_if_it_is_required(normalize, value):
    assert normalize(value) == ""


@pytest.mark.parametrize(
    ("normalize", "value"),
    [
        (normalize_supply_point_id, "99887766554433"),
        (normalize_supply_point_id, "0398765432109876543210"),
        (normalize_postal_code, "98765-43"),
        (normalize_phone, "090-9876-54321"),
        (normalize_phone, "TEL 090-9876-5432"),
        (normalize_phone, "+44 20 7946 0958"),
        (normalize_email, "yamada.taro@"),
        (normalize_kana, "山田タロウ"),
        (normalize_kana, "ヤ" * 150),
        (normalize_person_name, "山田\x00花子"),
        (normalize_person_name, "98765"),
        (normalize_person_name, "・・・"),
        (normalize_person_name, "花" * 150),
        (normalize_contractor_registration, "登録番号なし"),
        (normalize_contractor_registration, "知事登録" * 20 + "1"),
        (normalize_contractor_registration, "知事\x00登録1"),
    ],
)
def test_error_messages_never_contain_the_input(normalize, value):
    error = rejection(normalize, value)

    messages = error.messages
    assert messages
    for message in messages:
        assert value not in message
    assert value not in repr(error.params)
