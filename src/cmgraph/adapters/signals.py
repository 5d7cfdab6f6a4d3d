"""Wake-ups after commit: in-process broadcasts, fed across processes by PostgreSQL NOTIFY.

A ``Signal`` only says "something of this kind was committed, go and look": consumers read
what is new from the database, so a lost, doubled or coalesced wake-up costs at most one
poll interval, never a change. The unit of work fires them after commit (see ``db``); on
PostgreSQL, ``PgListener`` turns notifications sent by other processes into the same
signals, so a hub or worker never needs to know where a change came from.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

log = logging.getLogger("cmgraph.signals")


class Signal:
    """A broadcast that wakes every waiting coroutine, on whichever event loop it waits.

    ``generation`` counts firings. A consumer remembers the generation it has handled and
    passes it to ``wait``, which returns at once if the signal fired in between: a firing
    during the consumer's work is never lost.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.generation = 0
        self._waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = set()

    def fire(self) -> None:
        self.generation += 1
        waiters, self._waiters = self._waiters, set()
        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        for loop, future in waiters:
            if loop is running:
                _wake(future)
            elif not loop.is_closed():
                loop.call_soon_threadsafe(_wake, future)

    async def wait(self, seen: int, seconds: float | None = None) -> int:
        """Wait until the generation differs from ``seen`` (at most ``seconds``); return it."""
        if self.generation != seen:
            return self.generation
        loop = asyncio.get_running_loop()
        waiter = (loop, loop.create_future())
        self._waiters.add(waiter)
        try:
            await asyncio.wait_for(waiter[1], seconds)
        except TimeoutError:
            pass
        finally:
            self._waiters.discard(waiter)
        return self.generation


def _wake(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


async def wait_any(signals: dict[Signal, int], seconds: float) -> None:
    """Wait until any of ``signals`` moves past its generation, at most ``seconds``."""
    if any(signal.generation != seen for signal, seen in signals.items()):
        return
    waits = [asyncio.ensure_future(s.wait(seen, seconds)) for s, seen in signals.items()]
    try:
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in waits:
            task.cancel()
        await asyncio.gather(*waits, return_exceptions=True)


# What a committed unit of work wrote, by table: the signal to fire and, on PostgreSQL, the
# channel to NOTIFY inside the transaction (delivered to listeners only if it commits).
events_committed = Signal("events")
alerts_committed = Signal("alerts")
notifications_committed = Signal("notifications")
# A person was disabled, enabled or given another role, a grant given or taken, a token
# revoked, sessions ended: connections signed in with credentials (open WebSockets) check
# theirs again, and the credential cache forgets what it knew. Fired by ``UnitOfWork.wake``.
credentials_changed = Signal("credentials")

EVENTS_CHANNEL = "cmgraph_events"
ALERTS_CHANNEL = "cmgraph_alerts"
NOTIFICATIONS_CHANNEL = "cmgraph_notifications"
CREDENTIALS_CHANNEL = "cmgraph_credentials"

CHANNELS: dict[str, Signal] = {
    EVENTS_CHANNEL: events_committed,
    ALERTS_CHANNEL: alerts_committed,
    NOTIFICATIONS_CHANNEL: notifications_committed,
    CREDENTIALS_CHANNEL: credentials_changed,
}
# Table name -> channel. Alerts wake on updates too (status changes), the others on inserts.
TABLE_CHANNELS: dict[str, str] = {
    "event": EVENTS_CHANNEL,
    "alert": ALERTS_CHANNEL,
    "notification": NOTIFICATIONS_CHANNEL,
}
UPDATE_TABLES = frozenset({"alert"})


def fire_channels(channels: set[str] | dict[str, Any]) -> None:
    for channel in channels:
        signal = CHANNELS.get(channel)
        if signal is not None:
            signal.fire()


# (DSN, channel) -> LISTEN connections in place now: whether this process hears that
# channel from the others (``relayed``). Set and cleared by ``PgListener``.
_relaying: dict[tuple[str, str], int] = {}


def relayed(dsn: str, channel: str) -> bool:
    """Whether a connected ``PgListener`` relays ``channel`` of the PostgreSQL database at
    ``dsn`` (``asyncpg_dsn``) now: while none does, other processes' changes go unheard, so
    nothing may trust the quiet."""
    return _relaying.get((dsn, channel), 0) > 0


class FileBeacon:
    """SQLite's stand-in for NOTIFY on one channel: a file beside the database that a unit
    of work replaces after committing a wake-up of that channel, so that another process on
    the same database file (the CLI beside the server) sees the change by reading it.

    A reader compares ``state`` with the one it saw; the content is random, and replaced
    atomically, so any replacement reads as a change whatever the clock's resolution.
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def beside(cls, database_url: str, channel: str) -> FileBeacon | None:
        """The beacon of a SQLite database file; None for other databases and memory ones."""
        from sqlalchemy.engine import make_url

        url = make_url(database_url)
        if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
            return None
        return cls(Path(f"{url.database}-{channel}"))

    def ring(self) -> None:
        """Replace the file (best effort: a failure is logged, the change is committed)."""
        temporary = self.path.with_name(f"{self.path.name}.{uuid.uuid4().hex}")
        try:
            temporary.write_text(uuid.uuid4().hex)
            os.replace(temporary, self.path)
        except OSError as error:
            log.warning("could not ring %s: %r", self.path, error)
            temporary.unlink(missing_ok=True)

    def state(self) -> str | None:
        """The file's content now (None: never rung, or unreadable)."""
        try:
            return self.path.read_text()
        except OSError:
            return None


def asyncpg_dsn(database_url: str) -> str | None:
    """The plain ``postgresql://`` DSN asyncpg takes, or None for other databases."""
    from sqlalchemy.engine import make_url

    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        return None
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


class PgListener:
    """One dedicated asyncpg connection LISTENing on the cmgraph channels for this process.

    Each notification fires the matching local signal. If the connection drops it reconnects
    with backoff and fires every signal once reconnected, so consumers catch up on whatever
    was committed while nobody listened. While connected, ``relayed`` says so for its
    channels (a cache of what other processes change trusts itself only then).
    """

    def __init__(
        self,
        database_url: str,
        channels: dict[str, Signal] | None = None,
        *,
        on_notify: Callable[[str, str], None] | None = None,
    ) -> None:
        dsn = asyncpg_dsn(database_url)
        if dsn is None:
            raise ValueError("PgListener needs a PostgreSQL database URL")
        self._dsn = dsn
        self._channels = dict(channels or CHANNELS)
        self._on_notify = on_notify
        self._task: asyncio.Task[None] | None = None
        self._connected = asyncio.Event()
        self._stopping = False

    async def start(self, ready_within: float = 10.0) -> None:
        """Start listening; returns once LISTEN is in place (or after ``ready_within`` s)."""
        self._task = asyncio.create_task(self._run(), name="cmgraph-pg-listener")
        try:
            await asyncio.wait_for(self._connected.wait(), ready_within)
        except TimeoutError:
            log.warning(
                "LISTEN connection not ready after %.0f s; retrying in background", ready_within
            )

    async def stop(self) -> None:
        self._stopping = True
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _run(self) -> None:
        import asyncpg

        delay = 0.5
        while not self._stopping:
            connection = None
            lost = asyncio.Event()
            try:
                connection = await asyncpg.connect(self._dsn, timeout=10)
                connection.add_termination_listener(lambda _c, lost=lost: lost.set())
                for channel in self._channels:
                    await connection.add_listener(channel, self._notified)
                self._connected.set()
                self._relay(+1)
                delay = 0.5
                fire_channels(self._channels)  # catch up on what happened while away
                while not lost.is_set():
                    # A quiet connection can die without a termination callback (a
                    # firewall, a restarted server); a cheap query now and then notices.
                    try:
                        await asyncio.wait_for(lost.wait(), 15)
                    except TimeoutError:
                        await connection.execute("SELECT 1", timeout=10)
                log.warning("LISTEN connection closed; reconnecting")
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("LISTEN connection failed (%s); retrying in %.1f s", exc, delay)
            finally:
                if self._connected.is_set():
                    self._relay(-1)
                self._connected.clear()
                if connection is not None and not connection.is_closed():
                    try:
                        await asyncio.wait_for(connection.close(), 5)
                    except Exception:
                        connection.terminate()
            if self._stopping:
                return
            await asyncio.sleep(delay * (1 + random.random() / 2))
            delay = min(delay * 2, 30.0)

    def _relay(self, step: int) -> None:
        for channel in self._channels:
            key = (self._dsn, channel)
            _relaying[key] = _relaying.get(key, 0) + step
            if _relaying[key] <= 0:
                del _relaying[key]

    def _notified(self, _connection: Any, _pid: int, channel: str, payload: str) -> None:
        signal = self._channels.get(channel)
        if signal is not None:
            signal.fire()
        if self._on_notify is not None:
            self._on_notify(channel, payload)
