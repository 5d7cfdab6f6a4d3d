"""Who a token or session signs in, remembered per process so a request needs no query.

Every request names its caller by an API token or a session cookie; looking that up costs
two statements (the credential and its user, then the grants). This cache keeps, per
database and by the credential's SHA-256 digest (never the secret), what the last look-up
found: the ``Principal`` and the times that limit the credential. The callers
(``accounts.sign_in``, ``sign_in.session_principal``) re-check those times against their
own rules on every request and use an entry only while no write is due; it never refuses
anyone: whatever it cannot vouch for is looked up again.

Trust rests on being told of every change. Each change to tokens, sessions, roles,
disabled accounts and grants wakes ``signals.CREDENTIALS_CHANNEL`` in its unit of work, and
the whole cache is dropped whenever that signal's generation moves (changes are rare; one
rule is safer than working out which entries a change touched). Other processes' changes
arrive on PostgreSQL through ``PgListener``: while none is connected the cache neither
serves nor stores. On a SQLite file they arrive through the channel's ``FileBeacon``, read
on every look-up. A look-up's result is stored only if nothing moved while it was read, so
a change committed meanwhile cannot be overwritten by what was read before it.

Entries also age out once their credential's last use is due to be written (a minute), so
even a wake-up lost to a connection that died unnoticed is corrected within that minute.
"""

from __future__ import annotations

import weakref
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from cmgraph.adapters import signals
from cmgraph.domain.permissions import Principal

SIZE = 4096  # credentials remembered per database; the least recently used go first

Kind = Literal["token", "session"]


@dataclass(frozen=True)
class KnownToken:
    """An API token that signed its (enabled) user in, as read then."""

    principal: Principal
    token_id: int
    revoked_at: datetime | None
    expires_at: datetime | None
    last_used_at: datetime | None  # as written in the database


@dataclass(frozen=True)
class KnownSession:
    """An open browser session of an enabled user, as read then."""

    principal: Principal
    session_id: int
    ended_at: datetime | None
    expires_at: datetime
    last_seen_at: datetime  # as written in the database


# What the cache had heard when a look-up began: the signal's generation and the beacon.
Stamp = tuple[int, str | None]


@dataclass(frozen=True)
class Ticket:
    """Taken before reading the database; ``store`` keeps the result only if the stamp holds."""

    stamp: Stamp | None  # None: the cache could not vouch for anything then


class CredentialCache:
    """The per-process cache of one database (see the module's docstring)."""

    def __init__(self, database_url: str, size: int = SIZE) -> None:
        self._size = size
        self._dsn = signals.asyncpg_dsn(database_url)
        self._beacon = signals.FileBeacon.beside(database_url, signals.CREDENTIALS_CHANNEL)
        self._entries: OrderedDict[tuple[Kind, str], KnownToken | KnownSession] = OrderedDict()
        self._stamp: Stamp | None = None

    @classmethod
    def of(cls, sessions: async_sessionmaker[AsyncSession]) -> CredentialCache:
        """The cache of the database ``sessions`` open (one per engine in this process)."""
        engine: AsyncEngine = sessions.kw["bind"]
        cache = _caches.get(engine)
        if cache is None:
            url = engine.url.render_as_string(hide_password=False)
            cache = _caches[engine] = cls(url)
        return cache

    def _current(self) -> Stamp | None:
        """What has been heard now, or None while other processes' changes could go unheard."""
        if self._dsn is not None and not signals.relayed(self._dsn, signals.CREDENTIALS_CHANNEL):
            return None
        state = self._beacon.state() if self._beacon is not None else None
        return (signals.credentials_changed.generation, state)

    def _heard(self) -> Stamp | None:
        """The stamp now, the entries dropped first if it moved since they were stored."""
        stamp = self._current()
        if stamp != self._stamp:
            self._entries.clear()
            self._stamp = stamp
        return stamp

    def token(self, digest: str) -> KnownToken | None:
        known = self._lookup("token", digest)
        return known if isinstance(known, KnownToken) else None

    def session(self, digest: str) -> KnownSession | None:
        known = self._lookup("session", digest)
        return known if isinstance(known, KnownSession) else None

    def _lookup(self, kind: Kind, digest: str) -> KnownToken | KnownSession | None:
        if self._heard() is None:
            return None
        known = self._entries.get((kind, digest))
        if known is not None:
            self._entries.move_to_end((kind, digest))
        return known

    def ticket(self) -> Ticket:
        return Ticket(self._heard())

    def store(self, ticket: Ticket, digest: str, known: KnownToken | KnownSession) -> None:
        """Remember ``known`` unless anything was heard (or could have gone unheard) since
        ``ticket`` was taken."""
        if ticket.stamp is None or self._heard() != ticket.stamp:
            return
        kind: Kind = "token" if isinstance(known, KnownToken) else "session"
        self._entries[(kind, digest)] = known
        self._entries.move_to_end((kind, digest))
        while len(self._entries) > self._size:
            self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)


_caches: weakref.WeakKeyDictionary[AsyncEngine, CredentialCache] = weakref.WeakKeyDictionary()
