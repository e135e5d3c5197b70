"""Input data and objects for tests, built through the services wherever a rule applies."""

from __future__ import annotations

import datetime
import itertools
from typing import Any, cast

import factory
from django.utils import timezone

from apps.retailers.models import Retailer

_serial = itertools.count(1)


def supply_point_id(n: int | None = None, *, area: str = "10") -> str:
    n = next(_serial) if n is None else n
    return f"{area}{n:020d}"


class ApplicationInputFactory(factory.DictFactory):
    """A valid application as a clerk would type it (customer fields included)."""

    supply_point_id = factory.Sequence(lambda n: supply_point_id(n + 1))
    postal_code = "900-0001"
    prefecture = "47"
    municipality = "那覇市"
    street_address = factory.Sequence(lambda n: f"試験町{n % 9 + 1}丁目{n + 1}番地")
    contract_class = "low"
    contract_capacity_kw = "6.0"
    requested_start_date = factory.LazyFunction(
        lambda: (timezone.localdate() + datetime.timedelta(days=30)).isoformat()
    )
    contractor_name = "試験電設株式会社"
    contractor_registration = "沖縄県知事登録 第01234号"
    retailer = None  # set by the caller (an id)
    remarks = "新築戸建て。引込柱の位置は現地で確認。"
    customer_name = factory.Sequence(lambda n: f"見本 {_kanji(n)}郎")
    customer_name_kana = factory.Sequence(lambda n: f"ミホン {_kana(n)}ロウ")
    customer_phone = factory.Sequence(lambda n: f"098-{(n // 10000) % 900 + 100}-{n % 10000:04d}")
    customer_email = factory.Sequence(lambda n: f"shiken{n}@example.invalid")


_KANJI = "一二三四五六七八九十"
_KANA = "イニサシゴロナハクジ"


def _kanji(n: int) -> str:
    return "".join(_KANJI[int(d)] for d in str(n))


def _kana(n: int) -> str:
    return "".join(_KANA[int(d)] for d in str(n))


class RetailerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Retailer
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"T{n:04d}")
    name = factory.Sequence(lambda n: f"試験でんき{n}")


def make_retailer(**fields: Any) -> Retailer:
    return cast(Retailer, RetailerFactory(**fields))


def application_input(for_retailer: Retailer, **overrides: Any) -> dict[str, Any]:
    data = cast(dict[str, Any], ApplicationInputFactory(retailer=for_retailer.pk))
    data.update(overrides)
    return data
