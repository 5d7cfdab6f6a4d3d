"""Background work: the alert evaluator, the mail sender and the scheduler, as loops that
never give up.

Each loop does its step, then sleeps until woken (a commit signal in this process, or a
PostgreSQL NOTIFY from another one, relayed by ``signals.PgListener``) or until its poll
interval passes, which also picks up work whose lease ran out after a crash. A failing step
is logged and retried with exponential backoff; it never ends the loop. Any number of
processes may run these loops at once: the evaluator and the sender claim their rows in the
database, so each event is evaluated once and each mail sent once; the scheduler's findings
are keyed by item and day (``alerts.schedule``), so each is reported once a day.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cmgraph.adapters import signals
from cmgraph.adapters.db import database_unavailable
from cmgraph.config import Settings
from cmgraph.domain.models import utcnow

log = logging.getLogger("cmgraph.background")

POLL_SECONDS = 5.0
EVALUATE_BATCH = 200
SEND_BATCH = 50
MAX_BACKOFF_SECONDS = 60.0
STOP_GRACE_SECONDS = 10.0


def backoff_seconds(failures: int) -> float:
    """1, 2, 4 ... seconds (at most a minute), jittered so that workers do not retry together."""
    return min(MAX_BACKOFF_SECONDS, 2 ** min(failures - 1, 10)) * random.uniform(0.5, 1.0)


class BackgroundWork:
    """The evaluator, sender and scheduler loops of one process; ``start`` and ``stop`` them."""

    def __init__(
        self,
        settings: Settings,
        sessions: async_sessionmaker[AsyncSession],
        *,
        transport: Any = None,
        poll_seconds: float = POLL_SECONDS,
        evaluate_batch: int = EVALUATE_BATCH,
        send_batch: int = SEND_BATCH,
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.transport = transport
        self.poll_seconds = poll_seconds
        self.evaluate_batch = evaluate_batch
        self.send_batch = send_batch
        self._stop = signals.Signal("stop")
        self._stopping = False
        self._tasks: list[asyncio.Task[None]] = []
        self.evaluated = 0
        self.attempted = 0
        self.scheduled_runs = 0

    async def start(self) -> None:
        if self.transport is None:
            from cmgraph.alerts.transports import make_transport

            self.transport = make_transport(self.settings)  # a bad CMGRAPH_SMTP_URL stops here
        self._stopping = False
        self._tasks = [
            asyncio.create_task(
                self._loop("evaluator", self._evaluate, [signals.events_committed], self._poll),
                name="cmgraph-evaluator",
            ),
            asyncio.create_task(
                self._loop(
                    "sender", self._send, [signals.notifications_committed], self._until_due
                ),
                name="cmgraph-sender",
            ),
            asyncio.create_task(
                self._loop("scheduler", self._schedule, [], self._until_next_run),
                name="cmgraph-scheduler",
            ),
        ]

    async def stop(self, grace: float = STOP_GRACE_SECONDS) -> None:
        """Let a step in progress finish (a mail half sent would be sent again), then end."""
        self._stopping = True
        self._stop.fire()
        if not self._tasks:
            return
        _done, pending = await asyncio.wait(self._tasks, timeout=grace)
        for task in pending:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []

    async def _loop(
        self,
        name: str,
        step: Callable[[], Awaitable[bool]],
        wake: list[signals.Signal],
        idle: Callable[[], Awaitable[float]],
    ) -> None:
        failures = 0
        while not self._stopping:
            seen = {signal: signal.generation for signal in [*wake, self._stop]}
            try:
                more = await step()
                failures = 0
            except Exception as error:
                failures += 1
                delay = backoff_seconds(failures)
                if database_unavailable(error):
                    log.warning(
                        "%s: database unavailable (%d in a row); retrying in %.1f s: %r",
                        name,
                        failures,
                        delay,
                        error,
                    )
                else:
                    log.exception(
                        "%s failed (%d in a row); retrying in %.1f s", name, failures, delay
                    )
                await signals.wait_any({self._stop: self._stop.generation}, delay)
                continue
            if more:
                continue  # a full batch: there is probably more waiting
            try:
                timeout = await idle()
            except Exception:
                log.exception("%s: cannot tell when work is next due", name)
                timeout = self.poll_seconds
            await signals.wait_any(seen, timeout)

    async def _evaluate(self) -> bool:
        from cmgraph.alerts.evaluator import evaluate_pending

        # Its commits wake the sender (new notifications) and the hub (alerts) themselves.
        count = await evaluate_pending(self.sessions, batch=self.evaluate_batch)
        self.evaluated += count
        return count >= self.evaluate_batch

    async def _send(self) -> bool:
        from cmgraph.alerts.sender import send_due

        count = await send_due(
            self.sessions,
            self.transport,
            self.settings,
            batch=self.send_batch,
            lease_seconds=self.settings.mail_lease_seconds,
        )
        self.attempted += count
        return count >= self.send_batch

    async def _schedule(self) -> bool:
        from cmgraph.alerts.schedule import run_schedule

        await run_schedule(self.sessions)
        self.scheduled_runs += 1
        return False

    async def _until_next_run(self) -> float:
        from cmgraph.alerts.schedule import seconds_until_next_run

        return seconds_until_next_run(self.settings.schedule_seconds)

    async def _poll(self) -> float:
        return self.poll_seconds

    async def _until_due(self) -> float:
        """Sleep until the next retry is due (within the poll interval), not a fixed period."""
        from cmgraph.alerts.sender import next_due_at

        due: datetime | None = await next_due_at(self.sessions)
        if due is None:
            return self.poll_seconds
        return min(self.poll_seconds, max(0.05, (due - utcnow()).total_seconds()))


def database_url(sessions: async_sessionmaker[AsyncSession]) -> str:
    return sessions.kw["bind"].url.render_as_string(hide_password=False)


@asynccontextmanager
async def running(
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    *,
    hub: Any = None,
    background: bool = False,
    transport: Any = None,
) -> AsyncIterator[BackgroundWork | None]:
    """What a process runs beside (or instead of) serving requests, started and stopped in order.

    On PostgreSQL one LISTEN connection relays other processes' commits to this process's
    signals; then the subscription hub (servers) and the background work (when enabled).
    """
    from cmgraph.adapters.db import is_sqlite

    listener = None
    work = None
    url = database_url(sessions)
    try:
        if not is_sqlite(url):
            listener = signals.PgListener(url)
            await listener.start()
        if hub is not None:
            await hub.start()
        if background:
            work = BackgroundWork(settings, sessions, transport=transport)
            await work.start()
        yield work
    finally:
        if work is not None:
            await work.stop()
        if hub is not None:
            await hub.stop()
        if listener is not None:
            await listener.stop()
