"""Writing sheets that open cleanly in a spreadsheet program, in openpyxl's write-only mode.

Write-only mode keeps one row in memory at a time, so a sheet of any length costs the same
memory. Every sheet gets a bold header row, frozen below the header, an autofilter, column
widths, and typed cells: dates and times as real dates with a display format, numbers as
numbers, and text always as text (a note that starts with ``=`` stays a note, never a
formula).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum, StrEnum
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm:ss"
PERCENT_FORMAT = "0.0%"
MAX_CELL_TEXT = 32_767  # Excel's limit for one cell
_HEADER_FONT = Font(bold=True)
_WRAP = Alignment(wrap_text=True, vertical="top")


class CellType(StrEnum):
    TEXT = "text"
    LONG_TEXT = "long_text"  # wrapped
    NUMBER = "number"
    PERCENT = "percent"  # a fraction 0..1 shown as a percentage
    DATE = "date"
    DATETIME = "datetime"  # shown in UTC


@dataclass(frozen=True)
class Column:
    header: str
    width: float = 16
    type: CellType = CellType.TEXT


def new_workbook() -> Workbook:
    return Workbook(write_only=True)


class SheetWriter:
    """One sheet: the header is written on creation, then ``append`` one row at a time."""

    def __init__(
        self, workbook: Workbook, title: str, columns: Sequence[Column], *, filter: bool = True
    ) -> None:
        self.columns = tuple(columns)
        self.sheet: WriteOnlyWorksheet = workbook.create_sheet(title=title)
        for index, column in enumerate(self.columns, start=1):
            self.sheet.column_dimensions[get_column_letter(index)].width = column.width
        self.sheet.freeze_panes = "A2"
        if filter and self.columns:
            self.sheet.auto_filter.ref = f"A1:{get_column_letter(len(self.columns))}1"
        header = []
        for column in self.columns:
            cell = WriteOnlyCell(self.sheet, column.header)
            cell.font = _HEADER_FONT
            header.append(cell)
        self.sheet.append(header)
        self.rows = 0

    def append(self, values: Sequence[Any]) -> None:
        self.sheet.append(
            [self._cell(column, value) for column, value in zip(self.columns, values, strict=True)]
        )
        self.rows += 1

    def extend(self, rows: Iterable[Sequence[Any]]) -> None:
        for row in rows:
            self.append(row)

    def _cell(self, column: Column, value: Any) -> Any:
        if value is None or value == "":
            return None
        kind = column.type
        if kind is CellType.DATE or kind is CellType.DATETIME:
            if isinstance(value, datetime):
                value = value.replace(tzinfo=None)  # stored in UTC; Excel has no time zones
                kind = CellType.DATETIME
            cell = WriteOnlyCell(self.sheet, value)
            cell.number_format = DATE_FORMAT if kind is CellType.DATE else DATETIME_FORMAT
            return cell
        if kind is CellType.NUMBER:
            return value
        if kind is CellType.PERCENT:
            cell = WriteOnlyCell(self.sheet, value)
            cell.number_format = PERCENT_FORMAT
            return cell
        cell = WriteOnlyCell(self.sheet, None)
        cell.value = text(value)
        cell.data_type = "s"  # never a formula, whatever the text starts with
        if kind is CellType.LONG_TEXT:
            cell.alignment = _WRAP
        return cell


def text(value: Any) -> str:
    """A cell's text: enums by value, control characters removed, clipped to Excel's limit."""
    if isinstance(value, Enum):
        value = value.value
    elif isinstance(value, datetime | date):
        value = value.isoformat()
    result = ILLEGAL_CHARACTERS_RE.sub("", str(value))
    return result if len(result) <= MAX_CELL_TEXT else result[: MAX_CELL_TEXT - 1] + "…"
