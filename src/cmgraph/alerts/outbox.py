"""Administering the outbox: what is queued, and another go for mail that died.

Requeueing resets a dead notification as if it were new (attempts 0, created and due now),
so it gets the full retry schedule and maximum age again, with the same Message-ID.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, cast

from sqlalchemy import CursorResult, and_, func, select, text, update

from cmgraph.adapters import signals
from cmgraph.adapters.db import UnitOfWork
from cmgraph.domain.enums import NotificationKind, NotificationStatus, OrgRole
from cmgraph.domain.errors import DomainError, ErrorCode, not_found
from cmgraph.domain.models import Notification, utcnow
from cmgraph.domain.permissions import Principal, require_org_role

RECENT_DEAD = 20
MAX_RECENT_DEAD = 100
MAX_REQUEUE_IDS = 500


class Executes(Protocol):
    async def execute(self, statement: Any) -> Any: ...


@dataclass(frozen=True)
class QueueSummary:
    pending: int
    sent: int
    dead: int
    oldest_pending_at: datetime | None
    recent_dead: list[Notification]


async def queue_summary(
    reader: Executes, actor: Principal, *, recent: int = RECENT_DEAD
) -> QueueSummary:
    """Counts by status, the oldest pending notification, and the latest dead ones.

    Dead notifications are ordered by when their last attempt was due, newest first.
    """
    require_org_role(actor, OrgRole.ADMINISTRATOR)
    counts = {
        status: count
        for status, count in (
            await reader.execute(
                select(Notification.status, func.count()).group_by(Notification.status)
            )
        ).all()
    }
    # A daily digest is made with its day's first alert but queued from the day's end
    # (its ``created_at``): until then it has not waited at all.
    oldest = (
        await reader.execute(
            select(func.min(Notification.created_at)).where(
                Notification.status == NotificationStatus.PENDING,
                ~and_(
                    Notification.kind == NotificationKind.DIGEST,
                    Notification.created_at > utcnow(),
                ),
            )
        )
    ).scalar()
    dead = list(
        (
            await reader.execute(
                select(Notification)
                .where(Notification.status == NotificationStatus.DEAD)
                .order_by(Notification.next_attempt_at.desc(), Notification.id.desc())
                .limit(max(0, min(recent, MAX_RECENT_DEAD)))
            )
        ).scalars()
    )
    return QueueSummary(
        pending=counts.get(NotificationStatus.PENDING, 0),
        sent=counts.get(NotificationStatus.SENT, 0),
        dead=counts.get(NotificationStatus.DEAD, 0),
        oldest_pending_at=oldest,
        recent_dead=dead,
    )


async def requeue_dead(
    uow: UnitOfWork,
    actor: Principal,
    notification_ids: Sequence[int] | None,
    *,
    now: datetime | None = None,
) -> int:
    """Make dead notifications pending again; all dead ones when no ids are given.

    Named notifications that are not dead (already requeued, or sent) are left alone and
    not counted. Returns how many were requeued.
    """
    require_org_role(actor, OrgRole.ADMINISTRATOR)
    moment = now or utcnow()
    statement = update(Notification).where(Notification.status == NotificationStatus.DEAD)
    if notification_ids is not None:
        ids = list(dict.fromkeys(notification_ids))
        if not ids:
            raise DomainError(
                ErrorCode.INVALID,
                "Name at least one notification, or leave the ids out to requeue all.",
                "notificationIds",
            )
        if len(ids) > MAX_REQUEUE_IDS:
            raise DomainError(
                ErrorCode.INVALID,
                f"At most {MAX_REQUEUE_IDS} notifications at once.",
                "notificationIds",
            )
        found = set(
            await uow.session.scalars(select(Notification.id).where(Notification.id.in_(ids)))
        )
        missing = [i for i in ids if i not in found]
        if missing:
            raise not_found(f"Notification {missing[0]}", "notificationIds")
        statement = statement.where(Notification.id.in_(ids))
    result = await uow.session.execute(
        statement.values(
            status=NotificationStatus.PENDING,
            attempts=0,
            created_at=moment,
            next_attempt_at=moment,
            claimed_until=None,
        ).execution_options(synchronize_session=False)
    )
    # An UPDATE's result is a CursorResult; ``Session.execute`` is typed for any statement.
    count = int(cast("CursorResult[Any]", result).rowcount or 0)
    if count:
        await _wake_sender(uow)
    return count


async def _wake_sender(uow: UnitOfWork) -> None:
    """Tell senders, here and in other processes, that mail is due (only if this commits).

    Requeueing is a bulk UPDATE, which the unit of work's insert tracking does not see.
    """
    if uow.session.get_bind().dialect.name == "postgresql":
        await uow.session.execute(
            text("SELECT pg_notify(:channel, '0')"), {"channel": signals.NOTIFICATIONS_CHANNEL}
        )

    async def fire() -> None:
        signals.notifications_committed.fire()

    uow.after_commit(fire)
