"""Business-rule violations. The API turns them into ``userErrors`` entries."""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    NOT_FOUND = "NOT_FOUND"
    FORBIDDEN = "FORBIDDEN"
    INVALID = "INVALID"
    DUPLICATE = "DUPLICATE"
    CONFLICT = "CONFLICT"
    # The assignee has no role or grant that lets them read the action.
    ASSIGNEE_CANNOT_READ = "ASSIGNEE_CANNOT_READ"
    # The change would leave the organisation without an active owner.
    LAST_OWNER = "LAST_OWNER"
    # An owner may not disable their own account.
    CANNOT_DISABLE_SELF = "CANNOT_DISABLE_SELF"


class DomainError(Exception):
    """A change the rules refuse; nothing of it is applied."""

    def __init__(self, code: ErrorCode, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field


def forbidden(message: str = "You do not have permission to do this.") -> DomainError:
    return DomainError(ErrorCode.FORBIDDEN, message)


def not_found(kind: str, field: str | None = None) -> DomainError:
    return DomainError(ErrorCode.NOT_FOUND, f"{kind} not found.", field)
