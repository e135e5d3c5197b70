"""`apps.core.dates.formatted` writes a moment as the `date` template filter does
(issue 17: the queue's and the auditors' rows), for every format the pages use, in both
languages and time zones, at the hours the English formats spell out (noon, midnight)."""

from __future__ import annotations

import datetime as dt
import itertools
import zoneinfo

import pytest
from django.template.defaultfilters import date as date_filter
from django.utils import timezone, translation

from apps.core.dates import _parts, formatted

FORMATS = [
    "DATE_FORMAT",
    "DATETIME_FORMAT",
    "SHORT_DATE_FORMAT",
    "SHORT_DATETIME_FORMAT",
    "TIME_FORMAT",
    "Y年n月j日 G時i分",
    r"\Y\e\a\r: Y, \w\e\e\k W, N jS, P, a A f g h e O T U",
]
MOMENTS = [
    dt.datetime(2026, 12, 4, 12, 0, tzinfo=dt.UTC),
    dt.datetime(2026, 1, 1, 0, 0, 59, tzinfo=dt.UTC),
    dt.datetime(2024, 2, 29, 23, 30, 5, 123456, tzinfo=dt.UTC),
    dt.datetime(2026, 7, 8, 15, 4, tzinfo=dt.UTC),
]


@pytest.mark.parametrize("language", ["ja", "en"])
@pytest.mark.parametrize("zone", ["Asia/Tokyo", "UTC", "America/New_York"])
def test_a_moment_reads_as_the_date_filter_writes_it(language, zone):
    with translation.override(language), timezone.override(zoneinfo.ZoneInfo(zone)):
        for moment, name in itertools.product(MOMENTS, FORMATS):
            local = timezone.localtime(moment)
            assert formatted(local, name) == date_filter(local, name), (moment, name)
            assert formatted(moment, name) == date_filter(moment, name), (moment, name)


def test_anything_but_a_datetime_goes_through_the_filter():
    day = dt.date(2026, 12, 4)
    assert formatted(day, "SHORT_DATE_FORMAT") == date_filter(day, "SHORT_DATE_FORMAT")
    assert formatted(None, "DATE_FORMAT") == ""


def test_a_format_is_split_once_into_codes_and_text():
    assert _parts(r"Y/m \a\t H") == (
        (True, "Y"),
        (False, "/"),
        (True, "m"),
        (False, " at "),
        (True, "H"),
    )
