"""The sender: claims due notifications, sends them outside any transaction, records outcomes.

Delivery is at least once, never silently lost: a claim is a lease (``claimed_until``)
committed before anything is sent, so a sender killed mid-batch leaves rows that become due
again when the lease runs out, and the retry carries the same Message-ID. Only a crash after
the server accepted a message and before the outcome was recorded can send it twice, and
mail clients recognise the duplicate by that Message-ID.

``attempts`` counts sends started: it is raised and committed right before each send (and
only while the lease is still this sender's), so a send whose outcome could not be recorded
still counts, and its repeat shows 2. A message that cannot be rendered counts one attempt
when that is recorded; claimed rows never started count nothing.

Claims: PostgreSQL picks rows with ``SELECT ... FOR UPDATE SKIP LOCKED``, so concurrent
senders take disjoint rows without waiting, then sets the lease on exactly those; SQLite
serialises writers, and the claim is one conditional ``UPDATE ... RETURNING`` that re-checks
the row is still free.

Temporary failures retry after ``mail_retry_seconds * 2 ** (attempts - 1)``, times a random
factor between 0.5 and 1.5, at most an hour, and never later than the notification's maximum
age; a temporary failure at or past that age (``mail_max_age_seconds`` after ``created_at``)
is final. Permanent failures are final at once. Final means ``DEAD``; administrators can
requeue dead notifications.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any, cast

from sqlalchemy import CursorResult, Update, and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cmgraph.adapters.db import UnitOfWork, read_session
from cmgraph.alerts.messages import RenderError, render
from cmgraph.alerts.transports import DeliveryError, PermanentFailure, TemporaryFailure, Transport
from cmgraph.config import Settings
from cmgraph.domain.enums import NotificationStatus
from cmgraph.domain.models import Notification, utcnow

log = logging.getLogger("cmgraph.mail")

LEASE_SECONDS = 300
MAX_BACKOFF_SECONDS = 3600
JITTER = (0.5, 1.5)
MAX_ERROR_LENGTH = 2000


def due_clause(now: datetime) -> Any:
    """Pending, due, and not leased to a live sender."""
    return and_(
        Notification.status == NotificationStatus.PENDING,
        Notification.next_attempt_at <= now,
        or_(Notification.claimed_until.is_(None), Notification.claimed_until <= now),
    )


def retry_delay(attempts: int, base_seconds: float, jitter: float) -> float:
    """Seconds before the next try after ``attempts`` tries: exponential, jittered, capped."""
    exponent = min(max(attempts - 1, 0), 30)
    return min(MAX_BACKOFF_SECONDS, max(base_seconds, 1.0) * 2**exponent * jitter)


async def claim_due(
    sessions: async_sessionmaker[AsyncSession],
    now: datetime,
    *,
    batch: int = 50,
    lease_seconds: float = LEASE_SECONDS,
) -> list[Notification]:
    """Lease up to ``batch`` due notifications to this sender and commit the lease."""
    lease = now + timedelta(seconds=lease_seconds)
    pick = (
        select(Notification.id)
        .where(due_clause(now))
        .order_by(Notification.next_attempt_at, Notification.id)
        .limit(batch)
    )
    async with UnitOfWork(sessions) as uow:
        session = uow.session
        if session.get_bind().dialect.name == "postgresql":
            # Lock first, then update by id: inside ``UPDATE ... WHERE id IN (SELECT ...
            # LIMIT n FOR UPDATE SKIP LOCKED)`` PostgreSQL may re-run the sub-select per row
            # and claim far more than ``batch``.
            ids = list(await session.scalars(pick.with_for_update(skip_locked=True)))
            if not ids:
                return []
            target = Notification.id.in_(ids)
        else:
            # One conditional UPDATE ... RETURNING under SQLite's single-writer lock.
            target = Notification.id.in_(pick)
        claim = (
            update(Notification)
            .where(target, due_clause(now))
            .values(claimed_until=lease)
            .returning(Notification)
            .execution_options(synchronize_session=False)
        )
        rows = list(await session.scalars(claim))
    return sorted(rows, key=lambda row: (row.next_attempt_at, row.id))


@dataclass(frozen=True)
class Outcome:
    """What became of one attempt: no error means sent."""

    error: DeliveryError | None = None


async def send_due(
    sessions: async_sessionmaker[AsyncSession],
    transport: Transport,
    settings: Settings,
    *,
    now: datetime | None = None,
    batch: int = 50,
    lease_seconds: float = LEASE_SECONDS,
    jitter: Callable[[], float] | None = None,
) -> int:
    """Send one batch of due notifications; returns how many were attempted (sent or not).

    A full batch suggests more is due: call again. ``now`` lets tests move the clock; time
    spent sending is added to it. One notification's failure never stops the others.
    """
    started = now or utcnow()
    t0 = time.monotonic()

    def clock() -> datetime:
        return started + timedelta(seconds=time.monotonic() - t0)

    rows = await claim_due(sessions, started, batch=batch, lease_seconds=lease_seconds)
    if not rows:
        return 0
    lease = started + timedelta(seconds=lease_seconds)
    draw = jitter or (lambda: random.uniform(*JITTER))
    # Stop early rather than send on a lease that may run out: another sender could then
    # take the same row while this one is still talking to the server.
    budget_end = lease - timedelta(seconds=lease_seconds / 5)
    attempted = 0
    done = 0  # rows dealt with (or no longer ours); the rest are handed back on a failure
    try:
        messages = await _render_all(sessions, rows, settings)
        for row in rows:
            if clock() >= budget_end:
                await _release(sessions, [r.id for r in rows[done:]], lease)
                log.warning("mail batch out of time; released %d notifications", len(rows) - done)
                break
            message = messages[row.id]
            if isinstance(message, Outcome):
                outcome = message
            elif await _start(sessions, row, lease):
                outcome = await _send(transport, message, row)
            else:
                log.warning("notification %s changed hands before it was sent", row.id)
                done += 1
                continue
            await _record(sessions, row, lease, outcome, clock(), settings, draw)
            attempted += 1
            done += 1
    except BaseException:
        # Shutting down (or the database failed): hand back what is left, the message in
        # flight included, instead of leaving it leased. If even that fails, leases run out.
        try:
            await asyncio.shield(_release(sessions, [r.id for r in rows[done:]], lease))
        except Exception:
            log.exception("could not release claimed notifications")
        raise
    return attempted


async def next_due_at(sessions: async_sessionmaker[AsyncSession]) -> datetime | None:
    """When the earliest pending notification becomes due (or its lease runs out)."""
    async with read_session(sessions) as session:
        rows = (
            await session.execute(
                select(Notification.next_attempt_at, Notification.claimed_until)
                .where(Notification.status == NotificationStatus.PENDING)
                .order_by(Notification.next_attempt_at)
                .limit(100)
            )
        ).all()
    times = [max(due, claimed) if claimed else due for due, claimed in rows]
    return min(times, default=None)


async def _render_all(
    sessions: async_sessionmaker[AsyncSession], rows: list[Notification], settings: Settings
) -> dict[int, EmailMessage | Outcome]:
    """Messages from one short read: nothing is held open while mail is sent."""
    result: dict[int, EmailMessage | Outcome] = {}
    async with read_session(sessions) as session:
        for row in rows:
            try:
                result[row.id] = await render(session, row, settings)
            except RenderError as error:
                result[row.id] = Outcome(PermanentFailure(f"cannot render: {error}"))
            except Exception as error:
                log.exception("rendering notification %s failed", row.id)
                result[row.id] = Outcome(TemporaryFailure(f"cannot render: {error!r}"))
    return result


def _while_ours(row: Notification, lease: datetime) -> Update:
    """An update of ``row`` that changes nothing once its lease is no longer this sender's."""
    return (
        update(Notification)
        .where(
            Notification.id == row.id,
            Notification.status == NotificationStatus.PENDING,
            Notification.claimed_until == lease,
        )
        .execution_options(synchronize_session=False)
    )


async def _start(
    sessions: async_sessionmaker[AsyncSession], row: Notification, lease: datetime
) -> bool:
    """Count the attempt before sending, so that a send whose outcome is lost still counts.

    False when the lease is no longer this sender's (it ran out and another sender took the
    row): then nothing may be sent.
    """
    async with UnitOfWork(sessions) as uow:
        result = await uow.session.execute(
            _while_ours(row, lease).values(attempts=row.attempts + 1)
        )
    return cast("CursorResult[Any]", result).rowcount == 1


async def _send(transport: Transport, message: EmailMessage, row: Notification) -> Outcome:
    try:
        await transport.send(message, [row.recipient_email])
    except DeliveryError as error:
        return Outcome(error)
    except Exception as error:
        # A fault in a transport is not the message's fault: keep it for another try.
        log.exception("transport failed on notification %s", row.id)
        return Outcome(TemporaryFailure(f"unexpected error: {error!r}"))
    return Outcome()


async def _record(
    sessions: async_sessionmaker[AsyncSession],
    row: Notification,
    lease: datetime,
    outcome: Outcome,
    now: datetime,
    settings: Settings,
    draw: Callable[[], float],
) -> None:
    attempts = row.attempts + 1  # already counted by ``_start`` when a send was started
    values: dict[str, Any] = {"attempts": attempts, "claimed_until": None}
    error = outcome.error
    if error is None:
        values.update(status=NotificationStatus.SENT, sent_at=now)
    else:
        values["last_error"] = str(error)[:MAX_ERROR_LENGTH]
        deadline = row.created_at + timedelta(seconds=settings.mail_max_age_seconds)
        if isinstance(error, PermanentFailure):
            values["status"] = NotificationStatus.DEAD
        elif now >= deadline:
            values["status"] = NotificationStatus.DEAD
            values["last_error"] = (
                f"gave up after {attempts} attempts (older than "
                f"{settings.mail_max_age_seconds} s): {error}"
            )[:MAX_ERROR_LENGTH]
        else:
            delay = retry_delay(attempts, settings.mail_retry_seconds, draw())
            values["next_attempt_at"] = min(now + timedelta(seconds=delay), deadline)
    async with UnitOfWork(sessions) as uow:
        result = await uow.session.execute(_while_ours(row, lease).values(**values))
    if cast("CursorResult[Any]", result).rowcount != 1:
        log.warning("notification %s changed hands before its outcome was recorded", row.id)
    elif error is None:
        log.info("sent notification %s to %s", row.id, row.recipient_email)
    else:
        log.warning(
            "notification %s to %s: %s (%s)",
            row.id,
            row.recipient_email,
            error,
            values.get("status", "will retry"),
        )


async def _release(
    sessions: async_sessionmaker[AsyncSession], ids: list[int], lease: datetime
) -> None:
    async with UnitOfWork(sessions) as uow:
        await uow.session.execute(
            update(Notification)
            .where(Notification.id.in_(ids), Notification.claimed_until == lease)
            .values(claimed_until=None)
            .execution_options(synchronize_session=False)
        )
