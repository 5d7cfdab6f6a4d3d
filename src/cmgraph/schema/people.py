"""The audit trail of changes to people, for owners: ``auditEvents``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from strawberry.scalars import JSON

from cmgraph import global_ids
from cmgraph.domain.audit import AuditAction
from cmgraph.domain.models import AuditEvent as AuditEventRow
from cmgraph.resolvers import people
from cmgraph.resolvers.pages import PageRequest
from cmgraph.schema.connections import Connection, connection
from cmgraph.schema.types import User, loaders

strawberry.enum(AuditAction, description="What an audited change did.")


@strawberry.type(description="One change to a person or their access: who, when, what.")
class AuditEvent:
    id: strawberry.ID
    action: AuditAction
    created_at: datetime
    detail: JSON = strawberry.field(
        description="What changed, e.g. `{role: {from, to}}` or `{grantId, role, assessmentId}`; "
        "ids in it are database ids."
    )
    actor_id: strawberry.Private[int | None]
    target_user_id: strawberry.Private[int | None]

    @classmethod
    def from_row(cls, row: AuditEventRow) -> AuditEvent:
        return cls(
            id=strawberry.ID(global_ids.encode("AuditEvent", row.id)),
            action=AuditAction(row.action),
            created_at=row.created_at,
            detail=JSON(row.detail),
            actor_id=row.actor_id,
            target_user_id=row.target_user_id,
        )

    @strawberry.field(description="Who made the change; null from the command line.")
    async def actor(self, info: strawberry.Info) -> User | None:
        return await _user(info, self.actor_id)

    @strawberry.field(description="Whose account or access changed.")
    async def target_user(self, info: strawberry.Info) -> User | None:
        return await _user(info, self.target_user_id)


async def _user(info: strawberry.Info, user_id: int | None) -> User | None:
    if user_id is None:
        return None
    row: Any = await loaders(info).user.load(user_id)
    return User.from_row(row) if row is not None else None


@strawberry.type
class AuditQueries:
    @strawberry.field(
        description="Changes to people and their access (invitations, roles, disabling, "
        "grants, tokens, sessions, passwords), newest first; `userId` keeps those to one "
        "person. Owners only."
    )
    async def audit_events(
        self,
        info: strawberry.Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        user_id: strawberry.ID | None = None,
    ) -> Connection[AuditEvent]:
        page = await people.audit_events(info, user_id, PageRequest(first, after, last, before))
        return connection(page, AuditEvent.from_row)
