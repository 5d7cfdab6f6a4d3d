"""Root fields of the mail outbox: ``mailQueue`` and ``requeueDeadNotifications``."""

from __future__ import annotations

from typing import Annotated

import strawberry
from graphql import GraphQLError

from cmgraph.adapters.db import UnitOfWork
from cmgraph.alerts import outbox
from cmgraph.domain.enums import OrgRole
from cmgraph.domain.errors import DomainError
from cmgraph.domain.permissions import Principal, require_org_role
from cmgraph.resolvers.mutations.base import node_id, perform
from cmgraph.schema.mail import (
    MailQueue,
    RequeueDeadNotificationsInput,
    RequeueDeadNotificationsPayload,
)


async def _summary(info: strawberry.Info, recent: int = outbox.RECENT_DEAD) -> MailQueue:
    return MailQueue.of(
        await outbox.queue_summary(info.context.reader, info.context.principal, recent=recent)
    )


@strawberry.type
class OutboxQueries:
    @strawberry.field(
        description="Counts of the mail outbox by status, the oldest pending notification and "
        "the latest dead ones (administrators)."
    )
    async def mail_queue(
        self,
        info: strawberry.Info,
        recent_dead: Annotated[
            int,
            strawberry.argument(
                description=f"How many dead notifications to list, 0 to {outbox.MAX_RECENT_DEAD}."
            ),
        ] = outbox.RECENT_DEAD,
    ) -> MailQueue:
        if not 0 <= recent_dead <= outbox.MAX_RECENT_DEAD:
            raise GraphQLError(
                f"recentDead must be between 0 and {outbox.MAX_RECENT_DEAD}.",
                extensions={"code": "BAD_USER_INPUT"},
            )
        try:
            return await _summary(info, recent_dead)
        except DomainError as error:
            raise GraphQLError(error.message, extensions={"code": error.code.value}) from None


@strawberry.type
class OutboxMutations:
    @strawberry.mutation(
        description="Send dead notifications again (administrators): each becomes pending "
        "with its attempts reset and its maximum age counted from now."
    )
    async def requeue_dead_notifications(
        self, info: strawberry.Info, input: RequeueDeadNotificationsInput
    ) -> RequeueDeadNotificationsPayload:
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

        outcome = await perform(info, work)
        if outcome.value is None:
            return RequeueDeadNotificationsPayload(
                requeued_count=None, mail_queue=None, user_errors=outcome.user_errors
            )
        count, summary = outcome.value
        return RequeueDeadNotificationsPayload(
            requeued_count=count, mail_queue=MailQueue.of(summary), user_errors=[]
        )
