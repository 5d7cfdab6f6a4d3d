"""Reading uploaded workbooks: what is tolerated and what is refused before any row is read."""

from __future__ import annotations

import io
from datetime import date, datetime

import pytest
from openpyxl import Workbook
from openpyxl.utils.datetime import CALENDAR_MAC_1904, CALENDAR_WINDOWS_1900

from cmgraph.adapters.links import LinkInvalid
from cmgraph.exchange import reading
from cmgraph.exchange.downloads import check_ticket


def workbook_bytes() -> bytes:
    workbook = Workbook()
    workbook.active.append(["Title"])
    workbook.active.append(["x" * 5_000])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def test_a_workbook_that_unpacks_too_large_is_refused_unread(monkeypatch) -> None:
    data = workbook_bytes()
    assert reading.open_workbook(io.BytesIO(data)).sheetnames == ["Sheet"]
    monkeypatch.setattr(reading, "MAX_UNPACKED_BYTES", 4_000)
    with pytest.raises(reading.WorkbookRejected) as refused:
        reading.open_workbook(io.BytesIO(data))
    assert [e.code for e in refused.value.errors] == [reading.ImportErrorCode.TOO_LARGE]


@pytest.mark.parametrize("content", [b"", b"Title\nx\n", b"PK\x03\x04 broken", b"%PDF-1.7"])
def test_anything_but_a_workbook_is_not_xlsx(content: bytes) -> None:
    with pytest.raises(reading.WorkbookRejected) as refused:
        reading.open_workbook(io.BytesIO(content))
    assert [e.code for e in refused.value.errors] == [reading.ImportErrorCode.NOT_XLSX]


@pytest.mark.parametrize(
    "value",
    [date(2025, 3, 1), datetime(2025, 3, 1, 14, 30), "2025-03-01", " 2025-03-01 ", 45717, 45717.0],
)
def test_dates_are_read_as_typed_written_or_serial(value: object) -> None:
    assert reading.as_date(value) == date(2025, 3, 1)


@pytest.mark.parametrize(
    "value", ["01/03/2025", "yesterday", True, -3, 0, 0.5, 2_958_466, 1e300, float("nan")]
)
def test_other_dates_are_refused(value: object) -> None:
    with pytest.raises(reading.CellError) as refused:
        reading.as_date(value)
    assert refused.value.code is reading.ImportErrorCode.BAD_DATE


def dates_sheet(*values: object, epoch: datetime = CALENDAR_WINDOWS_1900) -> bytes:
    """A workbook with a `Due` column holding ``values``, saved in the date system ``epoch``."""
    workbook = Workbook()
    workbook.epoch = epoch
    sheet = workbook.active
    sheet.append(["Due"])
    for value in values:
        sheet.append([value])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def read_dates(data: bytes) -> list[date | None]:
    """The `Due` column as the importers read it: through the table, in its workbook's system."""
    workbook = reading.open_workbook(io.BytesIO(data))
    try:
        table = reading.read_table(reading.sheet(workbook, "Sheet"), "Sheet", required=["Due"])
        return [
            reading.as_date(reading.cell(table, cells, "Due"), table.epoch)
            for _, cells in table.rows
        ]
    finally:
        workbook.close()


def load_epoch(data: bytes) -> datetime:
    workbook = reading.open_workbook(io.BytesIO(data))
    try:
        return workbook.epoch
    finally:
        workbook.close()


def test_a_1904_dated_workbook_reads_dates_and_serials_in_its_own_date_system() -> None:
    # Excel for Mac's 1904 system counts from 1904-01-01 = 0; in it 2025-03-01 is 44255,
    # which is what such a workbook shows as 2025-03-01 (the 1900 system's 2021-02-28).
    data = dates_sheet(date(2025, 3, 1), 44255, 44255.75, "2025-03-01", epoch=CALENDAR_MAC_1904)
    assert load_epoch(data) == CALENDAR_MAC_1904
    assert read_dates(data) == [date(2025, 3, 1)] * 4
    # The same serial in a 1900-dated workbook is the date Excel for Windows shows.
    assert read_dates(dates_sheet(44255)) == [date(2021, 2, 28)]
    assert read_dates(dates_sheet(45717)) == [date(2025, 3, 1)]


@pytest.mark.parametrize(
    ("serial", "shown"),
    [
        (1, date(1900, 1, 1)),
        (2, date(1900, 1, 2)),
        (31, date(1900, 1, 31)),
        (59, date(1900, 2, 28)),
        (59.5, date(1900, 2, 28)),
        (61, date(1900, 3, 1)),  # Excel counts a 1900-02-29 (serial 60) that never was
        (45717, date(2025, 3, 1)),
    ],
)
def test_serials_below_60_are_the_dates_excel_shows(serial: float, shown: date) -> None:
    assert reading.as_date(serial) == shown
    # Typed as a date in one cell and left as its bare serial number in another (a column
    # formatted as numbers, or pasted values), both read as the same date.
    assert read_dates(dates_sheet(shown, serial)) == [shown, shown]


def test_a_link_token_with_foreign_characters_is_invalid_not_an_error() -> None:
    with pytest.raises(LinkInvalid):
        check_ticket(b"k" * 32, "payload.mäc", "improvement-actions")
