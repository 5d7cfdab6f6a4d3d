"""User errors: business-rule refusals returned in a payload, never in ``errors``."""

from __future__ import annotations

from collections.abc import Iterable
from enum import Enum

import strawberry

from cmgraph.domain.errors import DomainError


@strawberry.enum(description="Why a mutation was refused.")
class UserErrorCode(Enum):
    NOT_FOUND = "NOT_FOUND"
    FORBIDDEN = "FORBIDDEN"
    INVALID = "INVALID"
    DUPLICATE = "DUPLICATE"
    CONFLICT = "CONFLICT"
    ASSIGNEE_CANNOT_READ = "ASSIGNEE_CANNOT_READ"
    LAST_OWNER = "LAST_OWNER"
    CANNOT_DISABLE_SELF = "CANNOT_DISABLE_SELF"


@strawberry.type(description="A refused change: what, where, and why.")
class UserError:
    field: list[str] | None = strawberry.field(
        description='Path to the input field at fault, e.g. ["input", "name"].'
    )
    code: UserErrorCode
    message: str

    @classmethod
    def of(cls, error: DomainError) -> UserError:
        return cls(
            field=["input", error.field] if error.field else None,
            code=UserErrorCode(error.code.value),
            message=error.message,
        )


def user_errors(errors: Iterable[DomainError]) -> list[UserError]:
    return [UserError.of(error) for error in errors]
