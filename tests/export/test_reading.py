"""Reading uploaded workbooks: what is tolerated and what is refused before any row is read."""

from __future__ import annotations

import io
from datetime import date, datetime

import pytest
from openpyxl import Workbook

from cmgraph.export import reading
from cmgraph.export.downloads import check_ticket
from cmgraph.storage import LinkInvalid


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


@pytest.mark.parametrize("value", ["01/03/2025", "yesterday", True, -3])
def test_other_dates_are_refused(value: object) -> None:
    with pytest.raises(reading.CellError) as refused:
        reading.as_date(value)
    assert refused.value.code is reading.ImportErrorCode.BAD_DATE


def test_a_link_token_with_foreign_characters_is_invalid_not_an_error() -> None:
    with pytest.raises(LinkInvalid):
        check_ticket(b"k" * 32, "payload.mäc", "improvement-actions")
