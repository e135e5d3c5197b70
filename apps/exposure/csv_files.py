"""Reading CSV files with a header row, every bad row reported by file, line and reason
(the reasons name the column, never the value), times parsed without guessing a clock.
The legacy source (legacy.py) names the files and columns and reads them."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import Any, ClassVar

from django.utils.translation import gettext as _

from .types import TOKYO

MAX_LISTED_PROBLEMS = 1000


@dataclass(frozen=True)
class BadRow:
    file: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.reason}"


class LegacyDataError(Exception):
    """The files hold bad rows; `problems` lists them (the first MAX_LISTED_PROBLEMS),
    `count` is the total."""

    def __init__(self, problems: list[BadRow], count: int) -> None:
        self.problems = problems
        self.count = count
        super().__init__(f"{count} bad rows")


def parse_time(value: str) -> float:
    """ISO 8601 with a UTC offset, or a date alone meaning 00:00 in Tokyo. A time of day
    without an offset is refused: which clock it was read from would be a guess."""
    if len(value) == 10:
        return datetime.combine(date.fromisoformat(value), time(), tzinfo=TOKYO).timestamp()
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise ValueError("no offset")
    return moment.timestamp()


class CsvFiles:
    """The files of one directory; `columns` names each file's required columns."""

    columns: ClassVar[dict[str, tuple[str, ...]]] = {}

    def __init__(self, directory: Path | str) -> None:
        self.directory = Path(directory)
        self.problems: list[BadRow] = []
        self.problem_count = 0
        self.latest = float("-inf")

    # --- problems ------------------------------------------------------------------------

    def bad(self, file: str, line: int, reason: str) -> None:
        self.problem_count += 1
        if len(self.problems) < MAX_LISTED_PROBLEMS:
            self.problems.append(BadRow(file, line, reason))

    def raise_if_bad(self) -> None:
        if self.problem_count:
            raise LegacyDataError(self.problems, self.problem_count)

    # --- reading -------------------------------------------------------------------------

    def _rows(self, name: str) -> Iterator[tuple[int, dict[str, str]]]:
        """(line, row by column) of a small file; header and shape problems reported."""
        for line, row, index in self._raw(name):
            yield line, {column: row[i].strip() for column, i in index.items()}

    def _header(self, name: str, reader: Any) -> tuple[dict[str, int], int] | None:
        header = next(reader, None)
        if header is None:
            self.bad(name, 1, _("The file is empty: a header row is required."))
            return None
        names = [column.strip() for column in header]
        missing = [c for c in self.columns[name] if c not in names]
        if missing:
            self.bad(
                name,
                1,
                _("Columns missing from the header: %(columns)s") % {"columns": ", ".join(missing)},
            )
            return None
        return {column: names.index(column) for column in self.columns[name]}, len(names)

    def _wrong_width(self, name: str, line: int, expected: int, found: int) -> None:
        self.bad(
            name,
            line,
            _("Expected %(expected)s columns, found %(found)s.")
            % {"expected": expected, "found": found},
        )

    def _raw(self, name: str) -> Iterator[tuple[int, list[str], dict[str, int]]]:
        path = self.directory / name
        if not path.is_file():
            self.bad(name, 0, _("The file is missing."))
            return
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            try:
                found = self._header(name, reader)
                if found is None:
                    return
                index, width = found
                for row in reader:
                    if len(row) != width:
                        if row:  # a blank line holds nothing to lose
                            self._wrong_width(name, reader.line_num, width, len(row))
                        continue
                    yield reader.line_num, row, index
            except UnicodeDecodeError:
                self.bad(name, reader.line_num + 1, _("The file is not valid UTF-8."))
            except csv.Error:
                self.bad(name, reader.line_num, _("The line is not valid CSV."))

    def _time(self, name: str, line: int, column: str, value: str, *, required: bool) -> Any:
        """The moment in seconds, None when empty and allowed, False when bad."""
        if not value:
            if required:
                self.bad(name, line, _("%(column)s is empty.") % {"column": column})
                return False
            return None
        try:
            moment = parse_time(value)
        except ValueError:
            self.bad(
                name,
                line,
                _("%(column)s is not an ISO 8601 date or a date and time with a UTC offset.")
                % {"column": column},
            )
            return False
        self.latest = max(self.latest, moment)
        return moment

    def _required(self, name: str, line: int, row: dict[str, str], *columns: str) -> bool:
        empty = [c for c in columns if not row[c]]
        for column in empty:
            self.bad(name, line, _("%(column)s is empty.") % {"column": column})
        return not empty


class WrongWidth:
    """A row of the wrong width, standing in for it so that unpacking it fails."""

    def __init__(self, width: int) -> None:
        self.width = width

    def __len__(self) -> int:
        return self.width


def in_order(reader: Any, order: tuple[int, ...], width: int) -> Iterator[Any]:
    """Rows of a file whose columns are in another order (or more of them), as
    (timestamp, user_id, record_id, action): the fast path expects that shape."""
    for row in reader:
        if len(row) != width:
            yield WrongWidth(len(row)) if row else []
        else:
            yield tuple(row[i] for i in order)
