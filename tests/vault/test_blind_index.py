from __future__ import annotations

import pytest
from django.test import override_settings

from apps.vault.services import vault_find, vault_store

from .conftest import b64key

pytestmark = pytest.mark.django_db(databases=["default", "vault", "retail"])


@pytest.fixture
def yamada(make_pii):
    return vault_store(
        make_pii(
            name="山田 太郎",
            name_kana="ヤマダ タロウ",
            phone="090-1234-5678",
            email="Taro.Yamada@example.jp",
        )
    )


@pytest.mark.parametrize(
    "written",
    [
        "090-1234-5678",
        "09012345678",
        "０９０－１２３４－５６７８",  # full-width digits and hyphen
        "０９０ー１２３４ー５６７８",  # katakana prolonged sound mark as a dash
        "090‐1234‐5678",  # U+2010 hyphen
        "090−1234−5678",  # U+2212 minus
        "(090) 1234 5678",
    ],
)
def test_phone_is_found_however_digits_and_hyphens_are_written(yamada, written):
    assert vault_find(kind="phone", value=written) == [yamada]


@pytest.mark.parametrize("written", ["山田太郎", "山田 太郎", "山田　太郎", " 山田  太郎 "])
def test_name_is_found_with_or_without_spaces(yamada, written):
    assert vault_find(kind="name", value=written) == [yamada]


@pytest.mark.parametrize(
    "written", ["ヤマダタロウ", "やまだ たろう", "やまだたろう", "ﾔﾏﾀﾞ ﾀﾛｳ", "ヤマダ　タロウ"]
)
def test_kana_is_found_as_hiragana_katakana_or_half_width(yamada, written):
    assert vault_find(kind="name_kana", value=written) == [yamada]


@pytest.mark.parametrize(
    "written", ["taro.yamada@example.jp", "TARO.YAMADA@EXAMPLE.JP", " Taro.Yamada@Example.JP "]
)
def test_email_is_found_in_any_case(yamada, written):
    assert vault_find(kind="email", value=written) == [yamada]


def test_a_different_value_or_another_kind_is_not_found(yamada):
    assert vault_find(kind="phone", value="090-1234-5679") == []
    assert vault_find(kind="name", value="山田花子") == []
    # The kind is part of the digest: a name never matches as an email.
    assert vault_find(kind="email", value="山田太郎") == []


def test_every_record_sharing_a_phone_is_found_in_creation_order(make_pii):
    first = vault_store(make_pii(phone="03-1111-2222"))
    second = vault_store(make_pii(phone="0311112222"))
    vault_store(make_pii(phone="03-1111-3333"))

    assert vault_find(kind="phone", value="03 1111 2222") == [first, second]


def test_empty_values_are_not_indexed(make_pii):
    vault_store(make_pii(email=""))

    assert vault_find(kind="email", value="") == []
    assert vault_find(kind="phone", value="---") == []


def test_the_index_is_keyed_so_another_index_key_finds_nothing(yamada):
    with override_settings(VAULT_INDEX_KEY=b64key(9)):
        assert vault_find(kind="phone", value="090-1234-5678") == []


def test_an_unknown_kind_is_refused(yamada):
    with pytest.raises(ValueError):
        vault_find(kind="address", value="x")
