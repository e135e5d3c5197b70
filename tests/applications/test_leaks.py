"""The leak scanner finds the customer's data in retail-visible text however it was typed."""

from __future__ import annotations

import dataclasses
import unicodedata

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from apps.applications.leaks import (
    CustomerIdentity,
    Leak,
    LeakKind,
    fold,
    scan,
    scan_text,
)
from apps.applications.textfold import digit_lookalikes

K = LeakKind


@dataclasses.dataclass(frozen=True)
class Customer:
    name: str = "山田　太郎"
    name_kana: str = "ヤマダ タロウ"
    phone: str = "090-1234-5678"
    email: str = "Taro.Yamada@example.com"


YAMADA: CustomerIdentity = Customer()


def kinds(text: str, customer: CustomerIdentity | None = YAMADA) -> list[LeakKind]:
    return scan_text(text=text, customer=customer)


# --- names -------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "山田太郎様宅の引込線",
        "山田　太郎様宅",
        "山田 太郎様宅",
        "お客様 山 田 太 郎",
        "山田-太郎",
    ],
)
def test_full_name_is_found_whatever_the_spaces(text):
    assert K.NAME in kinds(text)


def test_name_stored_without_space_is_found_in_text_with_ideographic_space():
    customer = Customer(name="山田太郎")

    assert K.NAME in kinds("現場は山田　太郎さん宅", customer)


@pytest.mark.parametrize("text", ["山田様に連絡", "山 田様", "太郎さん在宅"])
def test_each_name_part_of_two_characters_is_found(text):
    assert K.NAME in kinds(text)


def test_single_character_name_part_is_not_reported_on_its_own():
    customer = Customer(name="林 一")

    assert K.NAME not in kinds("山林の伐採が必要", customer)


def test_old_kanji_form_of_the_name_is_found():
    customer = Customer(name="髙橋 﨑子")

    assert K.NAME in kinds("高橋様", customer)
    assert K.NAME in kinds("崎子様", customer)


def test_iteration_mark_is_the_repeated_kanji():
    customer = Customer(name="佐々木 健")

    assert K.NAME in kinds("佐佐木様の新築", customer)


def test_variation_selector_in_the_name_does_not_hide_it():
    customer = Customer(name="葛\U000e0100城 次郎")

    assert K.NAME in kinds("葛城様", customer)


def test_latin_name_part_is_not_found_inside_another_word():
    customer = Customer(name="Li Na", name_kana="リ ナ")

    assert kinds("online meter reading", customer) == []


def test_latin_name_in_any_case_and_width_is_found():
    customer = Customer(name="John Smith", name_kana="ジョン スミス")

    assert K.NAME in kinds("contact SMITH", customer)
    assert K.NAME in kinds("ＪＯＨＮ　ＳＭＩＴＨ", customer)


# --- name in kana --------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "やまだ たろう様",
        "やまだ様",
        "ﾔﾏﾀﾞ ﾀﾛｳ",
        "ﾀﾛｳ",
        "ヤマダタロウ",
        "ヤ マ ダ",
    ],
)
def test_kana_name_is_found_in_hiragana_and_half_width_katakana(text):
    assert K.NAME_KANA in kinds(text)


def test_hiragana_kana_name_is_found_in_katakana_text():
    customer = Customer(name_kana="やまだ たろう")

    assert K.NAME_KANA in kinds("ヤマダ様立会い", customer)


def test_kana_name_with_middle_dot_is_found_by_its_parts():
    customer = Customer(name="John Smith", name_kana="ジョン・スミス")

    assert K.NAME_KANA in kinds("すみす様", customer)
    assert K.NAME_KANA in kinds("ｼﾞｮﾝｽﾐｽ", customer)


def test_long_vowel_mark_written_as_a_hyphen_does_not_hide_the_kana():
    customer = Customer(name="John Harvard", name_kana="ハーバード ジョン")

    assert K.NAME_KANA in kinds("ハ－バ－ド邸", customer)
    assert K.NAME_KANA in kinds("ﾊｰﾊﾞｰﾄﾞ邸", customer)


# --- phone -------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "連絡先 090-1234-5678",
        "連絡先 ０９０－１２３４－５６７８",
        "連絡先 ０９０１２３４５６７８",
        "090‐1234‐5678",
        "090−1234−5678",
        "090ー1234ー5678",
        "090－1234－5678",
        "090 ー 1234 ー 5678",
        "090 1234 5678",
        "(090)1234.5678",
        "090・1234・5678",
        "+81 90-1234-5678",
        "＋８１（０）９０１２３４５６７８",
        "〇九〇―一二三四―五六七八",
    ],
)
def test_customer_phone_is_found_whatever_the_width_and_separators(text):
    assert K.PHONE in kinds(text)


def test_customer_phone_stored_in_international_form_is_found():
    customer = Customer(phone="+81 90 1234 5678")

    assert K.PHONE in kinds("携帯09012345678", customer)


def test_a_short_word_between_the_digit_groups_does_not_hide_the_customer_phone():
    # Once this was the opposite: a word broke the number. "098の765の4321" reached
    # retail that way, so any short run of other characters now joins the groups.
    assert K.PHONE in kinds("090 内線 12345678")
    assert K.PHONE in kinds("090の1234の5678")


def test_a_sentence_between_two_numbers_breaks_the_customer_phone():
    assert K.PHONE not in kinds("090 は工事店の番号ではありません 12345678")


# --- e-mail ------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "taro.yamada@example.com",
        "TARO.YAMADA@EXAMPLE.COM",
        "ＴＡＲＯ．ＹＡＭＡＤＡ＠ＥＸＡＭＰＬＥ．ＣＯＭ",
        "メールはtaro.yamada＠example.comまで",
        "taro.yamada [at] example.com",
        "taro.yamada @ example.com",
    ],
)
def test_customer_email_is_found_in_any_case_and_width(text):
    assert K.EMAIL in kinds(text)


# --- generic patterns --------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "工事店 098-876-5432 まで",
        "工事店 ０９８（８７６）５４３２",
        "0988765432",
        "携帯 080 9999 8888",
        "0120-987-654",
        "隣家 (098) 876-5432",
        "+81 98 876 5432",
        "03-1111-2222 090-3333-4444",
    ],
)
def test_phone_number_of_someone_else_is_reported_as_a_pattern(text):
    assert kinds(text) == [K.PHONE_PATTERN]


@pytest.mark.parametrize(
    "text",
    [
        "hanako@example.jp",
        "工事店: Info@Denki-Koji.CO.JP まで",
        "ｈａｎａｋｏ＠ｅｘａｍｐｌｅ．ｊｐ",
        "hanako (at) example.jp",
    ],
)
def test_email_of_someone_else_is_reported_as_a_pattern(text):
    assert kinds(text) == [K.EMAIL_PATTERN]


@pytest.mark.parametrize(
    "text",
    [
        "供給地点特定番号 1000123456789012345678",
        "供給地点特定番号 １０００１２３４５６７８９０１２３４５６７８",
        "供給地点特定番号 10-0012-3456-7890-1234-5678",
        "供給地点特定番号 03-1234-5678-9012-3456-7890",
        "供給地点特定番号 ０３－１２３４－５６７８－９０１２－３４５６－７８９０",
        "供給地点特定番号 1001234567890123456780",
    ],
)
def test_supply_point_id_is_not_a_phone_number(text):
    assert kinds(text) == []


@pytest.mark.parametrize(
    "text",
    [
        "〒900-0001 那覇市港町1-2-3 契約容量 6000kVA 2025/04/01 開始",
        "単価@100円で2台",
        "メーター交換、引込線の張替え。EV充電器あり。",
        "",
    ],
)
def test_clean_text_has_no_leak(text):
    assert kinds(text) == []


# --- results -----------------------------------------------------------------


def test_leak_names_the_field_in_field_order_then_kind_order():
    fields = {
        "remarks": "090-1234-5678 山田様 other@example.jp",
        "site_street": "那覇市港町1-2-3",
        "contractor_name": "ヤマダ電設 098-876-5432",
    }

    leaks = scan(fields=fields, customer=YAMADA)

    assert leaks == [
        Leak(field="remarks", kind=K.NAME),
        Leak(field="remarks", kind=K.PHONE),
        Leak(field="remarks", kind=K.PHONE_PATTERN),
        Leak(field="remarks", kind=K.EMAIL_PATTERN),
        Leak(field="contractor_name", kind=K.NAME_KANA),
        Leak(field="contractor_name", kind=K.PHONE_PATTERN),
    ]


def test_one_leak_per_field_and_kind_however_often_it_occurs():
    leaks = scan(fields={"remarks": "山田 山田 山田太郎"}, customer=YAMADA)

    assert leaks == [Leak(field="remarks", kind=K.NAME)]


def test_without_a_customer_only_the_generic_patterns_are_checked():
    text = "山田太郎 ヤマダタロウ 090-1234-5678 taro.yamada@example.com"

    assert kinds(text, customer=None) == [K.PHONE_PATTERN, K.EMAIL_PATTERN]


def test_customer_with_blank_fields_matches_nothing_of_its_own():
    customer = Customer(name="", name_kana="", phone="", email="")

    assert kinds("山田太郎 やまだ", customer) == []


def test_leak_holds_no_matched_text():
    leaks = scan(fields={"remarks": "山田太郎 090-1234-5678"}, customer=YAMADA)

    assert [field.name for field in dataclasses.fields(Leak)] == ["field", "kind"]
    for leak in leaks:
        assert "山田" not in repr(leak)
        assert "1234" not in repr(leak)


def test_every_leak_kind_has_a_label():
    assert all(str(kind.label) for kind in LeakKind)


def test_fold_makes_the_typing_variants_equal():
    assert fold("やまだ　ﾀﾛｳ") == fold("ヤマダタロウ") == "ヤマダタロウ"
    assert fold("ＴＡＲＯ－Ｙａｍａｄａ") == fold("taro yamada") == "taroyamada"
    assert fold("090‐1234−5678") == "09012345678"


# --- properties --------------------------------------------------------------

KANJI = "山田太郎佐藤鈴木高橋伊藤渡辺中村小林加藤吉田花子比嘉金城大城宮城新垣"
KATAKANA = "".join(
    chr(code) for code in range(ord("ァ"), ord("ヶ") + 1) if unicodedata.name(chr(code), "")
)
KANA_WITH_HALF_WIDTH: dict[str, str] = {}
for _code in range(0xFF66, 0xFF9E):
    _half = chr(_code)
    for _suffix in ("", "ﾞ", "ﾟ"):
        _full = unicodedata.normalize("NFKC", _half + _suffix)
        if len(_full) == 1 and _full in KATAKANA:
            KANA_WITH_HALF_WIDTH.setdefault(_full, _half + _suffix)
NAME_KANA_ALPHABET = "".join(sorted(KANA_WITH_HALF_WIDTH))

HALF_TO_FULL_DIGITS = str.maketrans("0123456789", "０１２３４５６７８９")
PHONE_SEPARATORS = ["", "", "", "-", "‐", "‑", "−", "ー", "－", "―", " ", "　", "(", ")", ".", "・"]
PATTERN_SEPARATORS = ["", "", "-", "‐", "−", "ー", "－", " ", "　", "(", ") ", " - ", "."]
VOICED_MARKS = "ﾞﾟ゛゜\u3099\u309a"
KANJI_NUMERALS = "〇一二三四五六七八九"

phones = st.one_of(
    st.from_regex(r"0[1-9][0-9]{8}", fullmatch=True),
    st.builds(
        lambda prefix, rest: prefix + rest,
        st.sampled_from(["020", "050", "070", "080", "090"]),
        st.from_regex(r"[0-9]{8}", fullmatch=True),
    ),
)
kanji_names = st.builds(
    lambda family, given, space: family + space + given,
    st.text(KANJI, min_size=1, max_size=3),
    st.text(KANJI, min_size=1, max_size=3),
    st.sampled_from(["", " ", "　"]),
)
kana_names = st.builds(
    lambda family, given: f"{family} {given}",
    st.text(NAME_KANA_ALPHABET, min_size=2, max_size=6),
    st.text(NAME_KANA_ALPHABET, min_size=2, max_size=6),
)
customers = st.builds(
    Customer,
    name=kanji_names,
    name_kana=kana_names,
    phone=phones,
    email=st.emails(),
)
# Surrounding text: anything, except marks that would combine with the embedded value.
surroundings = st.text(
    st.characters(blacklist_categories=("Cs", "Mn", "Mc", "Me"), blacklist_characters=VOICED_MARKS),
    max_size=30,
)


def _has_no_digit(char: str) -> bool:
    # Letters that pass for digits (O, l…, accented too: Ò) are digits next to digits.
    folded = unicodedata.normalize("NFKD", char)
    return (
        char not in KANJI_NUMERALS
        and not any(c.isdigit() or c in digit_lookalikes() for c in folded)
        and char != "+"
    )


digit_free_surroundings = st.text(
    st.characters(
        blacklist_categories=("Cs", "Mn", "Mc", "Me", "Nd", "Nl", "No"),
        blacklist_characters=VOICED_MARKS,
    ).filter(_has_no_digit),
    max_size=30,
)


@st.composite
def written_phones(draw: st.DrawFn, phone: str, separators: list[str]) -> str:
    written = []
    for index, digit in enumerate(phone):
        if index:
            written.append(draw(st.sampled_from(separators)))
        written.append(digit.translate(HALF_TO_FULL_DIGITS) if draw(st.booleans()) else digit)
    return "".join(written)


@st.composite
def written_kana(draw: st.DrawFn, kana: str) -> str:
    written = []
    for char in kana.replace(" ", ""):
        forms = [char, KANA_WITH_HALF_WIDTH[char]]
        hiragana = chr(ord(char) - 0x60)
        if unicodedata.name(hiragana, "").startswith("HIRAGANA"):
            forms.append(hiragana)
        written.append(draw(st.sampled_from(forms)))
        written.append(draw(st.sampled_from(["", "", "", " ", "　"])))
    return "".join(written)


@hypothesis_settings(deadline=None)
@given(customer=customers, before=surroundings, after=surroundings, data=st.data())
def test_customer_phone_embedded_in_any_text_is_always_found(customer, before, after, data):
    written = data.draw(written_phones(customer.phone, PHONE_SEPARATORS))

    assert K.PHONE in kinds(before + written + after, customer)


@hypothesis_settings(deadline=None)
@given(phone=phones, before=digit_free_surroundings, after=digit_free_surroundings, data=st.data())
def test_any_phone_between_digit_free_text_is_reported_as_a_pattern(phone, before, after, data):
    written = data.draw(written_phones(phone, PATTERN_SEPARATORS))

    assert K.PHONE_PATTERN in kinds(before + written + after, customer=None)


@hypothesis_settings(deadline=None)
@given(customer=customers, before=surroundings, after=surroundings, data=st.data())
def test_customer_kana_embedded_in_any_text_is_always_found(customer, before, after, data):
    written = data.draw(written_kana(customer.name_kana))

    assert K.NAME_KANA in kinds(before + written + after, customer)
