"""What imports report: every problem with its place in the workbook."""

from __future__ import annotations

import strawberry

from cmgraph.exchange import reading

# ``strawberry.enum`` registers the class it is given and returns it: the name is the domain
# class itself (an alias mypy accepts as a type), registered by a plain call.
ImportErrorCode = reading.ImportErrorCode
strawberry.enum(ImportErrorCode, description="Why a workbook, or one of its rows, was refused.")


@strawberry.type(description="One problem in an uploaded workbook.")
class ImportRowError:
    sheet: str = strawberry.field(description="Sheet name; empty for the file as a whole.")
    row: int = strawberry.field(
        description="Row number as the spreadsheet shows it (the header is row 1); 0 for the "
        "file or sheet as a whole."
    )
    column: str | None = strawberry.field(description="Column header, when one is at fault.")
    code: ImportErrorCode
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
