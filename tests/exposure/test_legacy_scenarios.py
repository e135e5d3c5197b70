"""The engine on legacy files, one scenario of the issue per test, every number checked."""

from __future__ import annotations

from pathlib import Path

import pytest

from apps.exposure.legacy import LegacyDataError

from .helpers import headline, legacy_report, write_legacy

EXAMPLE = Path(__file__).resolve().parents[2] / "fixtures" / "legacy-example"
SPID = "10000000000000000000"


def rec(record_id: str, start: str, end: str, *, retailer: str = "A0002", cls: str = "低圧") -> str:
    names = {"A0002": "みなみ新電力", "A0003": "ひがし電力", "K0001": "沖縄でんき小売"}
    affiliated = "true" if retailer.startswith("K") else "false"
    spid = SPID + record_id[-2:].rjust(2, "0")
    return f"{record_id},{spid},{cls},{retailer},{names[retailer]},{affiliated},{start},{end}"


def test_the_example_directory_gives_every_number(db):
    report = legacy_report(EXAMPLE, "2022-04-01", "2023-01-11")
    assert headline(report) == {
        "exposed_customers": 3,
        "exposed_customers_in_period": 3,
        "exposure_first": "2020-06-10T00:00:00+09:00",
        # R003's second window is still open: it ends with the data (the last access).
        "exposure_last": "2023-01-20T09:00:00+09:00",
        "exposure_days_min": 22,
        "exposure_days_max": 946,
        "exposure_days_mean": 360,  # (22 + 946 + 111.375) / 3 = 359.79
        "viewers": 3,
        "customers_viewed": 3,
        "retailers_viewed": 2,
        "switched_after_view": 1,
    }
    assert [
        (r["contract_class"], r["exposed_customers"], r["customers_viewed"])
        for r in report["by_contract_class"]
    ] == [("low", 2, 2), ("high", 1, 1)]
    assert [
        (r["retailer_code"], r["exposed_customers"], r["viewers"], r["switched_after_view"])
        for r in report["by_retailer"]
    ] == [("A0002", 2, 2, 1), ("A0003", 1, 1, 0)]
    details = report["details"]
    assert details["viewers"] == ["u01", "u02", "u04"]
    assert [r["record_id"] for r in details["customers_viewed"]] == ["R001", "R002", "R003"]
    assert details["retailers_viewed"] == ["A0002", "A0003"]
    assert [r["record_id"] for r in details["switched_after_view"]] == ["R002"]
    assert [(a["user_id"], a["record_id"], a["at"]) for a in details["accesses"]] == [
        ("u01", "R001", "2022-04-05T10:00:00+09:00"),
        ("u04", "R002", "2022-06-01T11:00:00+09:00"),
        ("u02", "R003", "2022-11-15T09:30:00+09:00"),
        ("u02", "R003", "2022-11-16T09:30:00+09:00"),
    ]
    assert details["access_events_read"] == 11
    assert details["accesses_counted"] == 4


def test_a_user_transferred_to_retail_with_a_stale_td_role_is_a_viewer(tmp_path, db):
    # given: u1 left T&D for retail on 10 January but the shared system kept the T&D
    # role, so the reveal action still worked
    directory = write_legacy(
        tmp_path,
        records=[rec("R1", "2023-01-01", "2023-02-01")],
        roster=["u1,td,2022-01-01,2023-01-10", "u1,retail,2023-01-10,"],
        access_log=[
            "2023-01-05T10:00:00+09:00,u1,R1,reveal",  # still in T&D: their work
            "2023-01-15T10:00:00+09:00,u1,R1,reveal",  # in retail: a viewer
        ],
    )
    # when
    report = legacy_report(directory, "2023-01-01", "2023-01-31")
    # then
    assert headline(report) == {
        "exposed_customers": 1,
        "exposed_customers_in_period": 1,
        "exposure_first": "2023-01-01T00:00:00+09:00",
        "exposure_last": "2023-02-01T00:00:00+09:00",
        "exposure_days_min": 31,
        "exposure_days_max": 31,
        "exposure_days_mean": 31,
        "viewers": 1,
        "customers_viewed": 1,
        "retailers_viewed": 1,
        "switched_after_view": 0,
    }
    assert [a["at"] for a in report["details"]["accesses"]] == ["2023-01-15T10:00:00+09:00"]
    assert report["details"]["accesses_counted"] == 1


def test_a_user_in_retail_at_one_access_and_td_at_another_counts_once(tmp_path, db):
    directory = write_legacy(
        tmp_path,
        records=[rec("R1", "2023-01-01", "2023-02-01"), rec("R2", "2023-01-01", "2023-02-01")],
        roster=["u1,retail,2022-01-01,2023-01-10", "u1,td,2023-01-10,"],
        access_log=[
            "2023-01-05T10:00:00+09:00,u1,R1,view",  # retail: counted
            "2023-01-20T10:00:00+09:00,u1,R2,view",  # T&D by then: not
        ],
    )
    report = legacy_report(directory, "2023-01-01", "2023-01-31")
    assert (report["exposed_customers"], report["viewers"], report["customers_viewed"]) == (
        2,
        1,
        1,
    )
    assert report["retailers_viewed"] == 1
    assert report["switched_after_view"] == 0
    assert [r["record_id"] for r in report["details"]["customers_viewed"]] == ["R1"]


def test_accesses_outside_the_period_or_outside_the_window_do_not_count(tmp_path, db):
    directory = write_legacy(
        tmp_path,
        records=[
            rec("R1", "2023-01-10", "2023-01-20"),
            rec("R2", "2023-01-25", "2023-02-10"),
            rec("R3", "2023-01-01", "2023-02-01", retailer="K0001"),  # affiliated: public
        ],
        roster=["u1,retail,2022-01-01,", "u2,retail,2022-01-01,"],
        access_log=[
            "2022-12-31T23:59:59+09:00,u1,R1,view",  # before the period and the window
            "2023-01-05T10:00:00+09:00,u1,R1,view",  # in the period, before the window
            "2023-01-15T10:00:00+09:00,u1,R1,view",  # counted
            "2023-01-20T00:00:00+09:00,u1,R1,view",  # the window has just ended
            "2023-01-24T23:00:00+09:00,u2,R2,view",  # before R2's window
            "2023-01-31T23:59:00+09:00,u2,R2,view",  # last minute of the period: counted
            "2023-02-01T00:00:00+09:00,u2,R2,view",  # in the window, after the period
            "2023-02-05T10:00:00+09:00,u1,R2,view",  # in the window, after the period
            "2023-01-15T10:00:00+09:00,u1,R3,view",  # a public record
        ],
    )
    report = legacy_report(directory, "2023-01-01", "2023-01-31")
    assert headline(report) == {
        "exposed_customers": 2,
        "exposed_customers_in_period": 2,
        "exposure_first": "2023-01-10T00:00:00+09:00",
        "exposure_last": "2023-02-10T00:00:00+09:00",
        "exposure_days_min": 10,
        "exposure_days_max": 16,
        "exposure_days_mean": 13,
        "viewers": 2,
        "customers_viewed": 2,
        "retailers_viewed": 1,
        "switched_after_view": 0,
    }
    assert [(a["user_id"], a["record_id"]) for a in report["details"]["accesses"]] == [
        ("u1", "R1"),
        ("u2", "R2"),
    ]
    assert report["details"]["access_events_read"] == 9


def test_a_switch_before_the_view_does_not_count_and_one_after_does(tmp_path, db):
    directory = write_legacy(
        tmp_path,
        records=[
            rec("R1", "2023-01-01", "2023-02-01"),
            rec("R2", "2023-01-01", "2023-02-01", retailer="A0003"),
            rec("R3", "2023-01-01", "2023-02-01"),
        ],
        roster=["u1,retail,2022-01-01,"],
        access_log=[
            "2023-01-15T10:00:00+09:00,u1,R1,view",
            "2023-01-15T10:00:00+09:00,u1,R2,view",
            "2023-01-15T10:00:00+09:00,u1,R3,view",
            "2023-01-05T10:00:00+09:00,u1,R3,view",  # the first view of R3, out of order
        ],
        switches=[
            "R1,2023-01-10T00:00:00+09:00,B0001,A0002",  # before the view: not counted
            "R2,2023-01-20T00:00:00+09:00,A0003,K0001",  # after: counted
            "R3,2023-01-10T00:00:00+09:00,A0002,B0001",  # after the first view: counted
        ],
    )
    report = legacy_report(directory, "2023-01-01", "2023-01-31")
    assert report["switched_after_view"] == 2
    assert report["details"]["switched_after_view"] == [
        {
            "record_id": "R2",
            "first_access": "2023-01-15T10:00:00+09:00",
            "retailer_at_access": "A0003",
            "switched_at": "2023-01-20T00:00:00+09:00",
            "to_retailer_code": "K0001",
        },
        {
            "record_id": "R3",
            "first_access": "2023-01-05T10:00:00+09:00",
            "retailer_at_access": "A0002",
            "switched_at": "2023-01-10T00:00:00+09:00",
            "to_retailer_code": "B0001",
        },
    ]
    assert (report["viewers"], report["customers_viewed"], report["retailers_viewed"]) == (1, 3, 2)
    assert [(r["retailer_code"], r["switched_after_view"]) for r in report["by_retailer"]] == [
        ("A0002", 1),
        ("A0003", 1),
    ]


def test_overlapping_windows_of_one_record_are_one_exposure(tmp_path, db):
    directory = write_legacy(
        tmp_path,
        records=[
            rec("R1", "2023-01-01", "2023-01-11"),
            rec("R1", "2023-01-05", "2023-01-21"),  # overlaps the first
            rec("R1", "2023-03-01", "2023-03-02"),  # apart
            rec("R2", "2023-01-01", "2023-01-03", cls="高圧"),
        ],
        roster=["u1,retail,2022-01-01,"],
        access_log=[
            "2023-01-08T10:00:00+09:00,u1,R1,view",  # inside both overlapping windows: once
            "2023-02-01T10:00:00+09:00,u1,R1,view",  # between the windows
        ],
    )
    report = legacy_report(directory, "2023-01-01", "2023-03-31")
    assert headline(report) == {
        "exposed_customers": 2,
        "exposed_customers_in_period": 2,
        "exposure_first": "2023-01-01T00:00:00+09:00",
        "exposure_last": "2023-03-02T00:00:00+09:00",
        "exposure_days_min": 2,
        "exposure_days_max": 21,  # 20 days of the merged windows + 1
        "exposure_days_mean": 12,  # 11.5, halves up
        "viewers": 1,
        "customers_viewed": 1,
        "retailers_viewed": 1,
        "switched_after_view": 0,
    }
    r1 = report["details"]["exposed_records"][0]
    assert r1["windows"] == [
        ["2023-01-01T00:00:00+09:00", "2023-01-21T00:00:00+09:00"],
        ["2023-03-01T00:00:00+09:00", "2023-03-02T00:00:00+09:00"],
    ]
    assert report["details"]["accesses_counted"] == 1
    assert [
        (r["contract_class"], r["exposed_customers"], r["exposure_days_mean"])
        for r in report["by_contract_class"]
    ] == [("low", 1, 21), ("high", 1, 2)]


def test_bad_rows_are_reported_with_file_line_and_reason(tmp_path, db):
    directory = write_legacy(
        tmp_path,
        records=[
            rec("R1", "2023-01-01", "2023-02-01"),  # line 2: fine
            rec("R2", "2023-01-01", "2023-02-01", cls="中圧"),  # 3: contract class
            rec("R3", "2023-01-01", "2023-02-01").replace(",false,", ",yes,"),  # 4
            rec("R4", "2023/01/01", "2023-02-01"),  # 5: not ISO 8601
            rec("R5", "2023-02-01", "2023-01-01"),  # 6: ends before it starts
            rec("R1", "2023-03-01", "2023-04-01", retailer="A0003"),  # 7: R1 differently
        ],
        roster=[
            "u1,retail,2022-01-01,",  # 2
            "u2,sales,2022-01-01,",  # 3: no such division
            "u3,td,2023-01-01T09:00:00,",  # 4: a time without an offset
            "u1,td,2022-06-01,",  # 5: overlaps u1's first row
        ],
        access_log=[
            "2023-01-15T10:00:00+09:00,u1,R1,view",  # 2: fine
            "2023-01-15T10:00:00+09:00,u1,R9,view",  # 3: unknown record
            "15/01/2023 10:00,u1,R1,view",  # 4: not ISO 8601
            "2023-01-15T10:00:00+09:00,u1,R1",  # 5: a column short
            "2023-01-16T10:00:00+09:00,u9,R1,view",  # 6: nobody knows u9's division
            "2023-01-16T10:00:00+09:00,,R1,view",  # 7: no user
        ],
        switches=["R9,2023-01-20,A0002,A0003"],  # 2: unknown record
    )
    with pytest.raises(LegacyDataError) as raised:
        legacy_report(directory, "2023-01-01", "2023-01-31")
    found = [(p.file, p.line) for p in raised.value.problems]
    assert sorted(found) == sorted(
        [
            ("records.csv", 3),
            ("records.csv", 4),
            ("records.csv", 5),
            ("records.csv", 6),
            ("records.csv", 7),
            ("roster.csv", 3),
            ("roster.csv", 4),
            ("roster.csv", 5),
            ("access_log.csv", 3),
            ("access_log.csv", 4),
            ("access_log.csv", 5),
            ("access_log.csv", 6),
            ("access_log.csv", 7),
            ("switches.csv", 2),
        ]
    )
    assert raised.value.count == 14
    assert all(p.reason for p in raised.value.problems)


def test_a_missing_file_or_header_column_is_reported(tmp_path, db):
    directory = write_legacy(
        tmp_path, records=[rec("R1", "2023-01-01", "2023-02-01")], roster=[], access_log=[]
    )
    (directory / "switches.csv").unlink()
    (directory / "roster.csv").write_text("user_id,division,valid_from\n", encoding="utf-8")
    with pytest.raises(LegacyDataError) as raised:
        legacy_report(directory, "2023-01-01", "2023-01-31")
    assert sorted((p.file, p.line) for p in raised.value.problems) == [
        ("roster.csv", 1),
        ("switches.csv", 0),
    ]


def test_a_date_alone_is_midnight_in_tokyo_and_an_offset_is_honoured(tmp_path, db):
    directory = write_legacy(
        tmp_path,
        records=[rec("R1", "2023-01-10", "2023-01-11")],
        roster=["u1,retail,2022-01-01,"],
        access_log=[
            "2023-01-09T15:00:00Z,u1,R1,view",  # = 10 Jan 00:00 in Tokyo: inside
            "2023-01-09T14:59:59Z,u1,R1,view",  # one second earlier: outside
        ],
    )
    report = legacy_report(directory, "2023-01-01", "2023-01-31")
    assert report["details"]["accesses_counted"] == 1
    assert report["details"]["accesses"][0]["at"] == "2023-01-10T00:00:00+09:00"


def test_columns_in_another_order_or_extra_columns_read_the_same(tmp_path, db):
    directory = write_legacy(
        tmp_path,
        records=[rec("R1", "2023-01-01", "2023-02-01")],
        roster=["u1,retail,2022-01-01,"],
        access_log=[],
    )
    (directory / "access_log.csv").write_text(
        "action,record_id,note,user_id,timestamp\n"
        "view,R1,,u1,2023-01-15T10:00:00+09:00\n"
        "view,R1,u1,2023-01-16T10:00:00+09:00\n"  # line 3: a column short
        "\n"
        "view,R1,x,u1,2023-01-17\n",
        encoding="utf-8",
    )
    with pytest.raises(LegacyDataError) as raised:
        legacy_report(directory, "2023-01-01", "2023-01-31")
    assert [(p.file, p.line) for p in raised.value.problems] == [("access_log.csv", 3)]
    (directory / "access_log.csv").write_text(
        "action,record_id,note,user_id,timestamp\n"
        "view,R1,,u1,2023-01-15T10:00:00+09:00\n"
        "\n"
        "view,R1,x,u1,2023-01-17\n",
        encoding="utf-8",
    )
    report = legacy_report(directory, "2023-01-01", "2023-01-31")
    assert [(a["user_id"], a["at"]) for a in report["details"]["accesses"]] == [
        ("u1", "2023-01-15T10:00:00+09:00"),
        ("u1", "2023-01-17T00:00:00+09:00"),
    ]
    assert report["details"]["access_events_read"] == 2


def test_a_malformed_clock_is_never_read_as_a_time(tmp_path, db):
    directory = write_legacy(
        tmp_path,
        records=[rec("R1", "2023-01-01", "2023-02-01")],
        roster=["u1,retail,2022-01-01,"],
        access_log=[
            "2023-01-15T10:00:00+09:00,u1,R1,view",  # teaches the fast path this hour
            "2023-01-15T10:61:00+09:00,u1,R1,view",  # 3: no such minute
            "2023-01-15T10x00:00+09:00,u1,R1,view",  # 4: not a time
            "2023-01-15T10:0５:00+09:00,u1,R1,view",  # 5: a full-width digit
        ],
    )
    with pytest.raises(LegacyDataError) as raised:
        legacy_report(directory, "2023-01-01", "2023-01-31")
    assert [(p.file, p.line) for p in raised.value.problems] == [
        ("access_log.csv", 3),
        ("access_log.csv", 4),
        ("access_log.csv", 5),
    ]


def test_blank_lines_are_not_access_events(tmp_path, db):
    directory = write_legacy(
        tmp_path,
        records=[rec("R1", "2023-01-01", "2023-02-01")],
        roster=["u1,retail,2022-01-01,"],
        access_log=["", "2023-01-15T10:00:00+09:00,u1,R1,view", "", ""],
    )
    report = legacy_report(directory, "2023-01-01", "2023-01-31")
    assert report["details"]["access_events_read"] == 1
    assert report["details"]["accesses_counted"] == 1


NINE_MONTHS = ("2022-04-01", "2022-12-31")
LAST_THREE = ("2022-10-01", "2022-12-31")


def exposed_before_during_across_and_after(directory: Path) -> Path:
    """Non-public records exposed before, during, across the start of and after the
    investigation periods (nine months and their last three), as the utility's logs
    grew from three months to nine."""
    return write_legacy(
        directory,
        records=[
            rec("R01", "2020-06-10", "2021-03-01"),  # before both periods: 264 days
            rec("R02", "2021-05-01", "2021-05-23", retailer="A0003", cls="高圧"),  # before: 22
            rec("R03", "2022-01-01", "2022-05-01"),  # across the nine's start: 120
            rec("R04", "2022-06-01", "2022-07-01", retailer="A0003"),  # the nine only: 30
            rec("R05", "2022-11-01", "2022-11-15", cls="高圧"),  # inside both: 14
            rec("R06", "2022-09-01", "2022-10-31"),  # across the three's start: 60
            rec("R07", "2022-12-01", "2023-01-31"),  # across the end, whole: 61
            rec("R08", "2021-01-01", "2021-01-11"),  # before: 10 days, and
            rec("R08", "2023-02-01", "2023-02-11"),  # a window after the end: not counted
            rec("R09", "2023-02-01", "2023-03-01"),  # after the end only: not exposed
            rec("R10", "2022-05-01", "2022-06-01", retailer="K0001"),  # affiliated: public
        ],
        roster=["u1,retail,2020-01-01,", "u2,retail,2020-01-01,", "u3,retail,2020-01-01,"],
        access_log=[
            "2020-07-01T10:00:00+09:00,u1,R01,view",  # inside its window, before the periods
            "2022-04-10T10:00:00+09:00,u3,R03,view",  # the nine only
            "2022-06-15T10:00:00+09:00,u1,R04,view",  # the nine only
            "2022-10-05T10:00:00+09:00,u2,R06,view",  # both
            "2022-11-05T10:00:00+09:00,u1,R05,view",  # both
            "2023-01-10T10:00:00+09:00,u2,R07,view",  # inside its window, after the periods
            "2023-02-05T10:00:00+09:00,u1,R09,view",  # after the periods
        ],
    )


# The exposed customers are the same whatever the period's start: every non-public record
# with a window that began before the period ended, each window counted whole.
EXPOSED_WHATEVER_THE_START = {
    "exposed_customers": 8,  # R01–R08; not R09 (after the end) nor R10 (public)
    "exposure_first": "2020-06-10T00:00:00+09:00",
    "exposure_last": "2023-01-31T00:00:00+09:00",  # R07 whole; not R08's later window
    "exposure_days_min": 10,
    "exposure_days_max": 264,
    "exposure_days_mean": 73,  # (264 + 22 + 120 + 30 + 14 + 60 + 61 + 10) / 8 = 72.6
}


def test_every_customer_exposed_before_the_period_ends_counts_whatever_the_start(tmp_path, db):
    # given
    directory = exposed_before_during_across_and_after(tmp_path)
    # when
    report = legacy_report(directory, *NINE_MONTHS)
    # then
    assert headline(report) == {
        **EXPOSED_WHATEVER_THE_START,
        "exposed_customers_in_period": 5,  # R03, R04, R05, R06, R07
        "viewers": 3,
        "customers_viewed": 4,
        "retailers_viewed": 2,
        "switched_after_view": 0,
    }
    exposed = {row["record_id"]: row for row in report["details"]["exposed_records"]}
    assert list(exposed) == ["R01", "R02", "R03", "R04", "R05", "R06", "R07", "R08"]
    assert [rid for rid, row in exposed.items() if row["in_period"]] == [
        "R03",
        "R04",
        "R05",
        "R06",
        "R07",
    ]
    assert exposed["R07"]["windows"] == [["2022-12-01T00:00:00+09:00", "2023-01-31T00:00:00+09:00"]]
    assert exposed["R08"]["windows"] == [["2021-01-01T00:00:00+09:00", "2021-01-11T00:00:00+09:00"]]
    assert exposed["R08"]["days"] == 10.0
    assert [
        (
            r["contract_class"],
            r["exposed_customers"],
            r["exposed_customers_in_period"],
            r["exposure_days_min"],
            r["exposure_days_max"],
            r["exposure_days_mean"],
        )
        for r in report["by_contract_class"]
    ] == [("low", 6, 4, 10, 264, 91), ("high", 2, 1, 14, 22, 18)]
    assert [
        (
            r["retailer_code"],
            r["exposed_customers"],
            r["exposed_customers_in_period"],
            r["exposure_days_mean"],
            r["viewers"],
        )
        for r in report["by_retailer"]
    ] == [("A0002", 6, 4, 88, 3), ("A0003", 2, 1, 26, 1)]


def test_three_months_and_nine_report_the_same_exposed_customers_and_different_views(tmp_path, db):
    directory = exposed_before_during_across_and_after(tmp_path)
    nine = legacy_report(directory, *NINE_MONTHS)
    three = legacy_report(directory, *LAST_THREE)

    def exposed(report):
        return (
            {k: report[k] for k in EXPOSED_WHATEVER_THE_START},
            report["details"]["exposed_records"],
            [
                (r["retailer_code"], r["exposed_customers"], r["exposure_days_mean"])
                for r in report["by_retailer"]
            ],
        )

    # the affected customers are a fact of the data, not of how much log was read
    assert exposed(three)[0] == exposed(nine)[0] == EXPOSED_WHATEVER_THE_START
    assert [(r["record_id"], r["windows"]) for r in exposed(three)[1]] == [
        (r["record_id"], r["windows"]) for r in exposed(nine)[1]
    ]
    assert exposed(three)[2] == exposed(nine)[2]
    # how many of them were readable during the period, and who looked, are not
    assert (three["exposed_customers_in_period"], nine["exposed_customers_in_period"]) == (3, 5)
    assert [r["record_id"] for r in three["details"]["exposed_records"] if r["in_period"]] == [
        "R05",
        "R06",
        "R07",
    ]
    assert {k: three[k] for k in ("viewers", "customers_viewed", "retailers_viewed")} == {
        "viewers": 2,
        "customers_viewed": 2,
        "retailers_viewed": 1,
    }
    assert {k: nine[k] for k in ("viewers", "customers_viewed", "retailers_viewed")} == {
        "viewers": 3,
        "customers_viewed": 4,
        "retailers_viewed": 2,
    }
    assert three["details"]["viewers"] == ["u1", "u2"]
    assert nine["details"]["viewers"] == ["u1", "u2", "u3"]
    assert [
        (r["retailer_code"], r["exposed_customers_in_period"]) for r in three["by_retailer"]
    ] == [("A0002", 3), ("A0003", 0)]
