"""GraphQL types of the mail outbox: notifications, the queue summary, requeueing."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Annotated, Any

import strawberry
from sqlalchemy import select
from strawberry import relay

from cmgraph import global_ids
from cmgraph.alerts import outbox
from cmgraph.domain import enums as domain
from cmgraph.domain import models
from cmgraph.domain.enums import OrgRole
from cmgraph.resolvers import mail as resolvers
from cmgraph.schema.errors import UserError, user_errors
from cmgraph.schema.types import User, loaders

# ``strawberry.enum`` registers the class it is given and returns it: the names are the
# domain classes themselves (aliases mypy accepts as types), registered by plain calls.
NotificationKind = domain.NotificationKind
NotificationStatus = domain.NotificationStatus

strawberry.enum(NotificationKind, description="What a notification email is about.")
strawberry.enum(
    NotificationStatus,
    description="PENDING until sent; DEAD after a permanent failure or the maximum age.",
)


@strawberry.type(description="One email to one recipient, as queued in the outbox.")
class Notification(relay.Node):
    id: relay.NodeID[int]
    kind: NotificationKind
    status: NotificationStatus
    recipient_email: str
    attempts: int = strawberry.field(
        description="Sends started, counted before each send: a send whose outcome could not "
        "be recorded still counts, and sending it again (same messageId) counts again."
    )
    last_error: str = strawberry.field(description="Empty until an attempt fails.")
    message_id: str = strawberry.field(description="The Message-ID every attempt carries.")
    created_at: datetime = strawberry.field(
        description="When it was queued (or requeued); the maximum age counts from here."
    )
    next_attempt_at: datetime
    sent_at: datetime | None
    recipient_id: strawberry.Private[int | None]

    @strawberry.field(description="Null once the user was removed.")
    async def recipient(self, info: strawberry.Info) -> User | None:
        if self.recipient_id is None:
            return None
        row = await loaders(info).user.load(self.recipient_id)
        return User.from_row(row) if row is not None else None

    @classmethod
    def from_row(cls, row: models.Notification) -> Notification:
        return cls(
            id=row.id,
            kind=row.kind,
            status=row.status,
            recipient_email=row.recipient_email,
            attempts=row.attempts,
            last_error=row.last_error,
            message_id=row.message_id,
            created_at=row.created_at,
            next_attempt_at=row.next_attempt_at,
            sent_at=row.sent_at,
            recipient_id=row.recipient_id,
        )

    @classmethod
    async def resolve_nodes(
        cls, *, info: strawberry.Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Any]:
        ids = [global_ids.parse_row_id(i) for i in node_ids]
        if not info.context.principal.has_org_role(OrgRole.ADMINISTRATOR):
            return [None for _ in ids]
        wanted = [i for i in ids if i is not None]
        rows = (
            (
                await info.context.reader.execute(
                    select(models.Notification).where(models.Notification.id.in_(wanted))
                )
            ).scalars()
            if wanted
            else []
        )
        found = {row.id: cls.from_row(row) for row in rows}
        return [found.get(i) if i is not None else None for i in ids]


@strawberry.type(description="The outbox at a glance (administrators).")
class MailQueue:
    pending_count: int = strawberry.field(description="Waiting to be sent, or being sent.")
    sent_count: int
    dead_count: int
    oldest_pending_created_at: datetime | None = strawberry.field(
        description="How long the oldest pending notification has waited; null when none do."
    )
    recent_dead: list[Notification] = strawberry.field(
        description="The latest dead notifications, newest first, with their last error."
    )

    @classmethod
    def of(cls, summary: outbox.QueueSummary) -> MailQueue:
        return cls(
            pending_count=summary.pending,
            sent_count=summary.sent,
            dead_count=summary.dead,
            oldest_pending_created_at=summary.oldest_pending_at,
            recent_dead=[Notification.from_row(row) for row in summary.recent_dead],
        )


@strawberry.input
class RequeueDeadNotificationsInput:
    notification_ids: list[strawberry.ID] | None = strawberry.field(
        default=None,
        description="Dead notifications to send again; every dead one when omitted. Named "
        "ones that are not dead are left alone.",
    )


@strawberry.type
class RequeueDeadNotificationsPayload:
    requeued_count: int | None
    mail_queue: MailQueue | None = strawberry.field(description="The outbox after requeueing.")
    user_errors: list[UserError]


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
        return MailQueue.of(await resolvers.mail_queue(info, recent_dead))


@strawberry.type
class OutboxMutations:
    @strawberry.mutation(
        description="Send dead notifications again (administrators): each becomes pending "
        "with its attempts reset and its maximum age counted from now."
    )
    async def requeue_dead_notifications(
        self, info: strawberry.Info, input: RequeueDeadNotificationsInput
    ) -> RequeueDeadNotificationsPayload:
        outcome = await resolvers.requeue_dead_notifications(info, input)
        if outcome.value is None:
            return RequeueDeadNotificationsPayload(
                requeued_count=None, mail_queue=None, user_errors=user_errors(outcome.errors)
            )
        count, summary = outcome.value
        return RequeueDeadNotificationsPayload(
            requeued_count=count, mail_queue=MailQueue.of(summary), user_errors=[]
        )
