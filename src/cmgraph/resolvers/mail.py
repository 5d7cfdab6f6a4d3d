"""Reads and writes of the mail outbox: its summary, and requeueing dead notifications."""

from __future__ import annotations

from typing import Any

import strawberry
from graphql import GraphQLError

from cmgraph.adapters.db import UnitOfWork
from cmgraph.alerts import outbox
from cmgraph.domain.enums import OrgRole
from cmgraph.domain.errors import DomainError
from cmgraph.domain.permissions import Principal, require_org_role
from cmgraph.resolvers.mutations.base import Outcome, node_id, perform


async def mail_queue(info: strawberry.Info, recent_dead: int) -> outbox.QueueSummary:
    if not 0 <= recent_dead <= outbox.MAX_RECENT_DEAD:
        raise GraphQLError(
            f"recentDead must be between 0 and {outbox.MAX_RECENT_DEAD}.",
            extensions={"code": "BAD_USER_INPUT"},
        )
    try:
        return await outbox.queue_summary(
            info.context.reader, info.context.principal, recent=recent_dead
        )
    except DomainError as error:
        raise GraphQLError(error.message, extensions={"code": error.code.value}) from None


async def requeue_dead_notifications(
    info: strawberry.Info, input: Any
) -> Outcome[tuple[int, outbox.QueueSummary]]:
    """How many were requeued, and the outbox after it."""

    async def work(uow: UnitOfWork, actor: Principal) -> tuple[int, outbox.QueueSummary]:
        require_org_role(actor, OrgRole.ADMINISTRATOR)
        ids = (
            None
            if input.notification_ids is None
            else [node_id(g, "Notification", "notificationIds") for g in input.notification_ids]
        )
        count = await outbox.requeue_dead(uow, actor, ids)
        # Read in the same transaction: after the commit, a failed read would report
        # a change that was made as a failure.
        return count, await outbox.queue_summary(uow.session, actor)

    return await perform(info, work)
