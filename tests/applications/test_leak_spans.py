"""Locating what the leak scanner found, for the clerk's encode page."""

from __future__ import annotations

from apps.applications.leak_spans import locate
from apps.applications.leaks import LeakKind, scan
from apps.vault.types import CustomerPII

CUSTOMER = CustomerPII(
    name="山田 花子", name_kana="ヤマダ ハナコ", phone="090-1234-5678", email="hanako.y@example.com"
)


def _located(text: str):
    leaks = scan(fields={"remarks": text}, customer=CUSTOMER)
    (found,) = locate(leaks=leaks, texts={"remarks": text}, customer=CUSTOMER)
    return found, [text[s.start : s.end] for s in found.spans]


def test_the_customers_own_number_is_named_once_not_also_as_a_phone_number():
    found, pieces = _located("連絡先 ０９０ー１２３４ー５６７８ です")

    assert found.kinds == [LeakKind.PHONE]
    assert pieces == ["０９０ー１２３４ー５６７８"]


def test_another_number_beside_it_is_still_named_as_a_phone_number():
    found, pieces = _located("本人 090-1234-5678、現場 03-9999-8888")

    assert found.kinds == [LeakKind.PHONE, LeakKind.PHONE_PATTERN]
    assert pieces == ["090-1234-5678", "03-9999-8888"]


def test_the_name_is_found_wherever_it_is_written():
    found, pieces = _located("山田様より。工事後に山田花子様へ報告")

    assert found.kinds == [LeakKind.NAME]
    assert "".join(pieces[1:]) == "山田花子" and pieces[0] == "山田"


def test_no_piece_is_cut_out_of_a_longer_number():
    # Cut anywhere, the 22-digit supply point id would hold phone-shaped pieces.
    found, pieces = _located("03-9999-8888 の件、供給地点 1034567890123456789012")

    assert found.kinds == [LeakKind.PHONE_PATTERN]
    assert pieces == ["03-9999-8888"]
