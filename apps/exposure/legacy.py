"""Reading a legacy shared system's logs: a directory of UTF-8 CSV files with a header row.

records.csv   record_id,supply_point_id,contract_class,retailer_code,retailer_name,
              affiliated,unmasked_from,unmasked_until   (one row per window; a record
              with several windows has several rows with the same attributes)
roster.csv    user_id,division,valid_from,valid_until
access_log.csv timestamp,user_id,record_id,action
switches.csv  record_id,switched_at,from_retailer_code,to_retailer_code

Every bad row is reported with its file, line and reason, and a report is only made
from files without any: the import never skips a row silently and never guesses.
Reasons name the column, never the value (a stray name in a legacy column stays out
of logs and pages). The access log is streamed; the other files are small.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

from django.utils.translation import gettext as _

from .csv_files import CsvFiles, LegacyDataError, WrongWidth, in_order, parse_time
from .engine import PROGRESS_EVERY, UnresolvedDivision, exposed_record_ids, exposure_report
from .types import DIVISIONS, HIGH, LOW, Access, Record, RosterEntry, Switch, Window

__all__ = ["COLUMNS", "LegacyDataError", "LegacySource", "report_from_legacy"]

RECORDS = "records.csv"
ROSTER = "roster.csv"
ACCESS_LOG = "access_log.csv"
SWITCHES = "switches.csv"

COLUMNS = {
    RECORDS: (
        "record_id",
        "supply_point_id",
        "contract_class",
        "retailer_code",
        "retailer_name",
        "affiliated",
        "unmasked_from",
        "unmasked_until",
    ),
    ROSTER: ("user_id", "division", "valid_from", "valid_until"),
    ACCESS_LOG: ("timestamp", "user_id", "record_id", "action"),
    SWITCHES: ("record_id", "switched_at", "from_retailer_code", "to_retailer_code"),
}
CONTRACT_CLASS = {"低圧": LOW, "高圧": HIGH, "low": LOW, "high": HIGH}
BOOLEAN = {"true": True, "false": False}


class LegacySource(CsvFiles):
    """Load the small files with `load()`, then stream `accesses()` into the engine.
    Problems accumulate in `problems`; call `raise_if_bad()` once everything was read."""

    columns = COLUMNS

    def __init__(self, directory: Path | str) -> None:
        super().__init__(directory)
        self.records: dict[str, Record] = {}
        self.windows: list[Window] = []
        self.roster: list[RosterEntry] = []
        self.switches: list[Switch] = []
        self.rows_read = 0
        self.progress: Callable[[int], None] | None = None
        self._access_line = 0
        self._hours: dict[str, float] = {}
        self._tails: dict[str, float] = {}

    def bad_access(self, reason: str) -> None:
        """For the engine: the access log row being processed is the reader's current one."""
        self.bad(ACCESS_LOG, self._access_line, reason)

    def load(self) -> LegacySource:
        self._load_records()
        self._load_roster()
        self._load_switches()
        return self

    def _load_records(self) -> None:
        for line, row in self._rows(RECORDS):
            ok = self._required(RECORDS, line, row, "record_id", "supply_point_id", "retailer_code")
            contract_class = CONTRACT_CLASS.get(row["contract_class"])
            if contract_class is None:
                ok = False
                self.bad(RECORDS, line, _("contract_class must be 低圧, 高圧, low or high."))
            affiliated = BOOLEAN.get(row["affiliated"].lower())
            if affiliated is None:
                ok = False
                self.bad(RECORDS, line, _("affiliated must be true or false."))
            start = self._time(RECORDS, line, "unmasked_from", row["unmasked_from"], required=False)
            end = self._time(RECORDS, line, "unmasked_until", row["unmasked_until"], required=False)
            if start is False or end is False or not ok:
                continue
            if start is None and end is not None:
                self.bad(RECORDS, line, _("unmasked_until is given without unmasked_from."))
                continue
            if start is not None and end is not None and end <= start:
                self.bad(RECORDS, line, _("unmasked_until is not after unmasked_from."))
                continue
            assert contract_class is not None and affiliated is not None
            record = Record(
                record_id=row["record_id"],
                supply_point_id=row["supply_point_id"],
                contract_class=contract_class,
                retailer_code=row["retailer_code"],
                retailer_name=row["retailer_name"],
                affiliated=affiliated,
            )
            known = self.records.setdefault(record.record_id, record)
            if known != record:
                self.bad(
                    RECORDS,
                    line,
                    _("The record appeared before with other attributes than on this row."),
                )
                continue
            if start is not None:
                self.windows.append(Window(record.record_id, start, end))

    def _load_roster(self) -> None:
        rows: dict[str, list[tuple[int, RosterEntry]]] = {}
        for line, row in self._rows(ROSTER):
            ok = self._required(ROSTER, line, row, "user_id")
            division = row["division"].lower()
            if division not in DIVISIONS:
                ok = False
                self.bad(ROSTER, line, _("division must be td, retail, audit, admin or other."))
            start = self._time(ROSTER, line, "valid_from", row["valid_from"], required=True)
            end = self._time(ROSTER, line, "valid_until", row["valid_until"], required=False)
            if start is False or end is False or not ok:
                continue
            if end is not None and end <= start:
                self.bad(ROSTER, line, _("valid_until is not after valid_from."))
                continue
            entry = RosterEntry(row["user_id"], division, start, end)
            rows.setdefault(entry.user_id, []).append((line, entry))
        for user_rows in rows.values():
            user_rows.sort(key=lambda item: item[1].valid_from)
            previous: RosterEntry | None = None
            for line, entry in user_rows:
                if previous is not None and (
                    previous.valid_until is None or entry.valid_from < previous.valid_until
                ):
                    self.bad(
                        ROSTER,
                        line,
                        _("The user's rows overlap: a user is in one division at a time."),
                    )
                    continue
                self.roster.append(entry)
                previous = entry

    def _load_switches(self) -> None:
        for line, row in self._rows(SWITCHES):
            ok = self._required(
                SWITCHES, line, row, "record_id", "from_retailer_code", "to_retailer_code"
            )
            moment = self._time(SWITCHES, line, "switched_at", row["switched_at"], required=True)
            if moment is False or not ok:
                continue
            if row["record_id"] not in self.records:
                self.bad(SWITCHES, line, _("record_id is not in records.csv."))
                continue
            self.switches.append(
                Switch(row["record_id"], moment, row["from_retailer_code"], row["to_retailer_code"])
            )

    def accesses(self, relevant: set[str] | frozenset[str]) -> Iterator[Access]:
        """The access log, one event at a time: the hot loop of the whole report.
        Every row is checked (a bad row anywhere is reported), but only accesses to
        `relevant` records (those that could count) go on to the engine as events;
        `rows_read` and `latest` account for all of them. Values are taken exactly as
        written (no trimming): an id with a stray space is an unknown id, reported."""
        # One piece on purpose: it runs per row of a log of millions, on local names, and
        # a call per row for a helper would cost more than the checks it makes.
        path = self.directory / ACCESS_LOG
        if not path.is_file():
            self.bad(ACCESS_LOG, 0, _("The file is missing."))
            return
        # One look-up per row tells unknown (None), cannot count (False), may count.
        kinds = {record_id: record_id in relevant for record_id in self.records}
        bad = self.bad
        hours = self._hours
        tails = self._tails
        progress = self.progress
        mark = PROGRESS_EVERY if progress is not None else -1
        latest = self.latest
        n = skipped = 0
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            found = self._header(ACCESS_LOG, reader)
            if found is None:
                return
            index, width = found
            order = tuple(index[c] for c in COLUMNS[ACCESS_LOG])
            rows: Iterator[Any] = reader
            if order != (0, 1, 2, 3) or width != 4:
                rows = in_order(reader, order, width)
            try:
                for n, row in enumerate(rows, 1):
                    try:
                        value, user_id, record_id, action = row
                    except (ValueError, TypeError):
                        skipped += 1  # blank, or reported: not an access event
                        self._access_line = reader.line_num
                        if row:
                            found_width = row.width if isinstance(row, WrongWidth) else len(row)
                            self._wrong_width(ACCESS_LOG, reader.line_num, width, found_width)
                        continue
                    if n == mark:
                        assert progress is not None
                        progress(n)
                        mark += PROGRESS_EVERY
                    # The common shape 2023-01-15T10:00:00+09:00 costs two look-ups, each
                    # filled (and checked) by a full parse the first time: the hour
                    # "2023-01-15T10" as if it were UTC, and ":00:00+09:00", the minutes
                    # and seconds less the offset. Anything else is parsed in full.
                    try:
                        at = hours[value[:13]] + tails[value[13:]]
                    except KeyError:
                        try:
                            at = self._slow_time(value)
                        except ValueError:
                            bad(ACCESS_LOG, reader.line_num, _bad_timestamp())
                            continue
                    if at > latest:
                        latest = at
                    if not user_id or not action:
                        bad(ACCESS_LOG, reader.line_num, _("user_id and action must not be empty."))
                        continue
                    try:
                        if not kinds[record_id]:
                            continue
                    except KeyError:
                        bad(ACCESS_LOG, reader.line_num, _("record_id is not in records.csv."))
                        continue
                    self._access_line = reader.line_num
                    yield Access(at, user_id, record_id, action, None)
            except UnicodeDecodeError:
                bad(ACCESS_LOG, reader.line_num + 1, _("The file is not valid UTF-8."))
            except csv.Error:
                bad(ACCESS_LOG, reader.line_num, _("The line is not valid CSV."))
            finally:
                self.latest = latest
                self.rows_read = n - skipped

    def _slow_time(self, value: str) -> float:
        """Any accepted time; remembers the parts of the common shape for the fast path."""
        at = parse_time(value)
        if len(value) >= 20 and value[13] == ":" and value[16] == ":" and value[19] in "+-Z":
            head = datetime.fromisoformat(value[:13] + ":00:00+00:00").timestamp()
            self._hours.setdefault(value[:13], head)
            self._tails.setdefault(value[13:], at - head)
        return at


def _bad_timestamp() -> str:
    return _("timestamp is not an ISO 8601 date or a date and time with a UTC offset.")


def report_from_legacy(
    *,
    directory: Path | str,
    period_from: date,
    period_to: date,
    progress: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Raises LegacyDataError listing every bad row (file, line, reason) instead of a
    report when the files hold any."""
    source = LegacySource(directory).load()
    source.progress = progress
    relevant = exposed_record_ids(source.records.values(), source.windows)

    def unresolved(problem: UnresolvedDivision) -> None:
        source.bad_access(_("No roster row says which division the user was in at that time."))

    report = exposure_report(
        period_from=period_from,
        period_to=period_to,
        records=source.records.values(),
        windows=source.windows,
        roster=source.roster,
        switches=source.switches,
        accesses=source.accesses(relevant),
        on_unresolved=unresolved,
        latest_elsewhere=lambda: source.latest,
    )
    source.raise_if_bad()
    report["details"]["access_events_read"] = source.rows_read
    if progress is not None:
        progress(source.rows_read)
    return report
