"""The audit trail of changes to people and their access, and the codes that name them.

Each row is written by the service that makes the change, in its unit of work, so a change
and its record commit or roll back together. ``actor_id`` is None for the operator at the
server's command line (and for rows whose author was since removed).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from cmgraph.adapters.db import UnitOfWork
from cmgraph.domain.models import AuditEvent, utcnow


class AuditAction(StrEnum):
    USER_INVITED = "USER_INVITED"
    USER_CREATED = "USER_CREATED"  # without an invitation: by single sign-on or the CLI
    USER_UPDATED = "USER_UPDATED"  # name or organisation role
    USER_DISABLED = "USER_DISABLED"
    USER_ENABLED = "USER_ENABLED"
    ACCESS_GRANTED = "ACCESS_GRANTED"
    GRANT_REVOKED = "GRANT_REVOKED"
    TOKEN_CREATED = "TOKEN_CREATED"
    TOKEN_REVOKED = "TOKEN_REVOKED"
    SESSION_ENDED = "SESSION_ENDED"
    SESSIONS_ENDED = "SESSIONS_ENDED"
    PASSWORD_SET = "PASSWORD_SET"


async def record(
    uow: UnitOfWork,
    actor_id: int | None,
    action: AuditAction,
    target_user_id: int | None,
    **detail: Any,
) -> AuditEvent:
    """Append one audit row to ``uow``; ``detail`` holds JSON values only."""
    row = AuditEvent(
        actor_id=actor_id,
        action=action.value,
        target_user_id=target_user_id,
        detail=detail,
        created_at=utcnow(),
    )
    uow.session.add(row)
    await uow.session.flush()
    return row
