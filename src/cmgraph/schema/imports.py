"""What imports report: every problem with its place in the workbook."""

from __future__ import annotations

import strawberry

from cmgraph.export import reading

ImportErrorCode = strawberry.enum(
    reading.ImportErrorCode, description="Why a workbook, or one of its rows, was refused."
)


@strawberry.type(description="One problem in an uploaded workbook.")
class ImportRowError:
    sheet: str = strawberry.field(description="Sheet name; empty for the file as a whole.")
    row: int = strawberry.field(
        description="Row number as the spreadsheet shows it (the header is row 1); 0 for the "
        "file or sheet as a whole."
    )
    column: str | None = strawberry.field(description="Column header, when one is at fault.")
    code: ImportErrorCode  # type: ignore[valid-type]
    message: str

    @classmethod
    def of(cls, error: reading.RowError) -> ImportRowError:
        return cls(
            sheet=error.sheet,
            row=error.row,
            column=error.column,
            code=error.code,
            message=error.message,
        )
