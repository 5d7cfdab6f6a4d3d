"""Reading uploaded workbooks: tolerant of what spreadsheet programs do, strict about meaning.

Tolerated: columns in any order, header and cell text with surrounding spaces, dates typed
as dates, as ``YYYY-MM-DD`` text or as Excel serial numbers (in the workbook's own date
system, 1900 or 1904), and empty rows (trailing ones especially, which programs leave
behind). Refused, with the sheet, row and column named: files that are not xlsx, missing or
unknown columns, values outside an enum, bad dates.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum, StrEnum
from typing import IO, Any, TypeVar

from openpyxl import load_workbook
from openpyxl.utils.datetime import CALENDAR_WINDOWS_1900, from_excel
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet._read_only import ReadOnlyWorksheet

from cmgraph.domain.errors import DomainError, ErrorCode

E = TypeVar("E", bound=Enum)

MAX_UNPACKED_BYTES = 512 * 1024 * 1024
_WHOLE_NUMBER = re.compile(r"-?[0-9]{1,18}")  # ASCII digits only: int("²") raises


class ImportErrorCode(StrEnum):
    NOT_XLSX = "NOT_XLSX"
    MISSING_SHEET = "MISSING_SHEET"
    MISSING_COLUMN = "MISSING_COLUMN"
    UNKNOWN_COLUMN = "UNKNOWN_COLUMN"
    DUPLICATE_COLUMN = "DUPLICATE_COLUMN"
    REQUIRED = "REQUIRED"
    UNKNOWN_VALUE = "UNKNOWN_VALUE"
    BAD_DATE = "BAD_DATE"
    BAD_NUMBER = "BAD_NUMBER"
    UNKNOWN_ID = "UNKNOWN_ID"
    DUPLICATE_ROW = "DUPLICATE_ROW"
    READ_ONLY = "READ_ONLY"  # e.g. a provider action: shown in exports, never edited
    TOO_MANY_ROWS = "TOO_MANY_ROWS"
    TOO_LARGE = "TOO_LARGE"
    # A row the domain rules refuse; the message is the rule's own.
    NOT_FOUND = "NOT_FOUND"
    FORBIDDEN = "FORBIDDEN"
    INVALID = "INVALID"
    DUPLICATE = "DUPLICATE"
    CONFLICT = "CONFLICT"


@dataclass(frozen=True)
class RowError:
    """One problem in a workbook. ``row`` is the spreadsheet's own row number (header = 1)."""

    sheet: str
    row: int
    column: str | None
    code: ImportErrorCode
    message: str

    @classmethod
    def of(cls, sheet: str, row: int, error: DomainError, column: str | None = None) -> RowError:
        """A domain rule's refusal of one row."""
        return cls(sheet, row, column, ImportErrorCode(error.code.value), error.message)


class WorkbookRejected(DomainError):
    """The workbook as a whole cannot be read (wrong file type, missing sheet or columns)."""

    def __init__(self, errors: Sequence[RowError]) -> None:
        super().__init__(ErrorCode.INVALID, "; ".join(e.message for e in errors), "file")
        self.errors = list(errors)


def open_workbook(handle: IO[bytes]) -> Workbook:
    """A read-only workbook, or ``WorkbookRejected`` (NOT_XLSX) for anything else.

    A workbook is a zip archive: one that would unpack to more than ``MAX_UNPACKED_BYTES``
    (a zip bomb, or far more than any upload this server reads) is refused unread.
    """
    try:
        with zipfile.ZipFile(handle) as archive:
            unpacked = sum(member.file_size for member in archive.infolist())
        handle.seek(0)
        if unpacked > MAX_UNPACKED_BYTES:
            raise WorkbookRejected(
                [
                    RowError(
                        "",
                        0,
                        None,
                        ImportErrorCode.TOO_LARGE,
                        f"The workbook unpacks to {unpacked:,} bytes; at most "
                        f"{MAX_UNPACKED_BYTES:,} are read.",
                    )
                ]
            )
        return load_workbook(handle, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError) as exc:
        raise WorkbookRejected(
            [
                RowError(
                    "",
                    0,
                    None,
                    ImportErrorCode.NOT_XLSX,
                    f"This is not an Excel workbook (.xlsx) that can be read: {exc}.",
                )
            ]
        ) from None


def sheet(workbook: Workbook, name: str) -> ReadOnlyWorksheet:
    """A sheet by name, ignoring case and surrounding spaces."""
    for title in workbook.sheetnames:
        if title.strip().lower() == name.lower():
            return workbook[title]
    found = ", ".join(workbook.sheetnames) or "none"
    raise WorkbookRejected(
        [
            RowError(
                name,
                0,
                None,
                ImportErrorCode.MISSING_SHEET,
                f"The workbook has no sheet `{name}` (found: {found}).",
            )
        ]
    )


def clean_header(value: Any) -> str:
    return " ".join(str(value).split()).lower() if value is not None else ""


@dataclass(frozen=True)
class Table:
    """A sheet read as header + rows; ``index`` maps each known column to its position."""

    name: str
    index: dict[str, int]
    rows: Iterator[tuple[int, tuple[Any, ...]]]  # (row number, cells), empty rows skipped
    # The workbook's date system, for date serials in cells not formatted as dates.
    epoch: datetime = CALENDAR_WINDOWS_1900


def read_table(
    worksheet: ReadOnlyWorksheet,
    name: str,
    *,
    required: Sequence[str],
    optional: Sequence[str] = (),
    allow_unknown: bool = False,
) -> Table:
    """Match the header row against the expected column names (case and spacing ignored).

    Every missing required column and every unknown column is reported at once.
    """
    rows = worksheet.iter_rows(values_only=True)
    header = next(rows, ())
    wanted = {clean_header(c): c for c in (*required, *optional)}
    index: dict[str, int] = {}
    errors: list[RowError] = []
    for position, cell in enumerate(header):
        key = clean_header(cell)
        if not key:
            continue
        column = wanted.get(key)
        if column is None:
            if not allow_unknown:
                errors.append(
                    RowError(
                        name,
                        1,
                        str(cell).strip(),
                        ImportErrorCode.UNKNOWN_COLUMN,
                        f"Unknown column `{str(cell).strip()}`.",
                    )
                )
            continue
        if column in index:
            errors.append(
                RowError(
                    name,
                    1,
                    column,
                    ImportErrorCode.DUPLICATE_COLUMN,
                    f"The column `{column}` appears twice.",
                )
            )
            continue
        index[column] = position
    errors.extend(
        RowError(
            name, 1, column, ImportErrorCode.MISSING_COLUMN, f"The column `{column}` is missing."
        )
        for column in required
        if column not in index
    )
    if errors:
        raise WorkbookRejected(errors)
    return Table(name, index, _data_rows(rows), worksheet.parent.epoch)


def _data_rows(rows: Iterator[tuple[Any, ...]]) -> Iterator[tuple[int, tuple[Any, ...]]]:
    for number, cells in enumerate(rows, start=2):
        if any(not _blank(c) for c in cells):
            yield number, cells


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


class CellError(Exception):
    """A cell that cannot be read as its column's type; becomes a ``RowError``."""

    def __init__(self, code: ImportErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def cell(table: Table, cells: tuple[Any, ...], column: str) -> Any:
    """A cell's value by column name; text trimmed, blank as None, absent columns as None."""
    position = table.index.get(column)
    if position is None or position >= len(cells):
        return None
    value = cells[position]
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


def as_text(value: Any) -> str:
    """Free text (notes): blank is the empty string; numbers keep their written form."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def as_enum(value: Any, enum: type[E]) -> E | None:
    """An enum member by value, case and spaces forgiven (``not implemented`` works)."""
    if value is None:
        return None
    key = "_".join(str(value).split()).upper()
    try:
        return enum(key)
    except ValueError:
        allowed = ", ".join(str(m.value) for m in enum)
        raise CellError(
            ImportErrorCode.UNKNOWN_VALUE, f"`{value}` is not one of: {allowed}."
        ) from None


def as_date(value: Any, epoch: datetime = CALENDAR_WINDOWS_1900) -> date | None:
    """A date typed as a date, as ISO text (``2024-05-31``) or as an Excel serial number.

    A serial counts days in the workbook's date system, ``epoch`` (``Table.epoch``): 1 is
    1900-01-01 in the 1900 system (whose fictitious 1900-02-29 Excel still counts) and
    1904-01-02 in the 1904 one. Serials below 1, which are times of day, are not dates.
    """
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        if value >= 1:
            try:
                return from_excel(value, epoch).date()
            except (OverflowError, ValueError):
                pass  # after 9999-12-31
    elif isinstance(value, str):
        text = value.strip()
        for parse in (date.fromisoformat, lambda t: datetime.fromisoformat(t).date()):
            try:
                return parse(text)
            except ValueError:
                continue
    raise CellError(ImportErrorCode.BAD_DATE, f"`{value}` is not a date; write it as YYYY-MM-DD.")


def as_int(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise CellError(ImportErrorCode.BAD_NUMBER, f"`{value}` is not a whole number.")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and _WHOLE_NUMBER.fullmatch(value.strip()):
        return int(value.strip())
    raise CellError(ImportErrorCode.BAD_NUMBER, f"`{value}` is not a whole number.")
