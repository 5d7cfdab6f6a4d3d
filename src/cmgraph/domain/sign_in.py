"""Password sign-in and browser sessions (the API's people; scripts keep their API tokens).

Passwords are hashed with Argon2id (argon2-cffi's defaults, RFC 9106's second
recommendation). A session's secret is random (256 bits) and stored only as its SHA-256
digest, as API tokens are. A session ends after ``idle`` without a request, at ``expires_at``
whatever the activity, or when its user signs out.

Refused sign-ins are rows in ``sign_in_failure``, so every server process counts the same
ones: past ``max_failures`` for an account, or ``max_failures_per_address`` for a client
address, within ``window``, further attempts are refused without checking the password
until the oldest counted failure leaves the window. A wrong email and a wrong password get
the same answer, and take the same time (a hash is checked either way).
"""

from __future__ import annotations

import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Protocol

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import ColumnElement, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cmgraph.adapters import signals
from cmgraph.adapters.db import UnitOfWork
from cmgraph.config import Settings
from cmgraph.domain.accounts import (
    DISABLED,
    MAX_EMAIL_LENGTH,
    AuthenticationError,
    hash_token,
    principal_of,
)
from cmgraph.domain.credential_cache import CredentialCache, KnownSession
from cmgraph.domain.errors import DomainError, ErrorCode
from cmgraph.domain.models import SignInFailure, SignInSession, User, utcnow
from cmgraph.domain.permissions import Principal

SESSION_PREFIX = "cms_"
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024  # hashing cost grows with the input; nobody types more
WRONG_CREDENTIALS = "Wrong email or password."
SEEN_EVERY = timedelta(minutes=1)  # how often a session's last request is written

_hasher = PasswordHasher()


@cache
def _stand_in_hash() -> str:
    """Checked when the email names nobody, so that both refusals take as long."""
    return _hasher.hash(secrets.token_urlsafe(16))


@dataclass(frozen=True)
class SessionPolicy:
    idle: timedelta
    lifetime: timedelta
    window: timedelta
    max_failures: int
    max_failures_per_address: int

    @classmethod
    def of(cls, settings: Settings) -> SessionPolicy:
        return cls(
            idle=timedelta(minutes=settings.session_idle_minutes),
            lifetime=timedelta(hours=settings.session_lifetime_hours),
            window=timedelta(minutes=settings.sign_in_failure_window_minutes),
            max_failures=settings.sign_in_max_failures,
            max_failures_per_address=settings.sign_in_max_failures_per_address,
        )


class SignInRefused(AuthenticationError):
    """Wrong credentials: the same message whether or not the email names someone."""

    def __init__(self) -> None:
        super().__init__(WRONG_CREDENTIALS)


class TooManyAttempts(AuthenticationError):
    """Too many refused sign-ins lately; ``retry_after`` is in whole seconds."""

    def __init__(self, retry_after: int) -> None:
        unit = "second" if retry_after == 1 else "seconds"
        super().__init__(f"Too many failed sign-ins; try again in {retry_after} {unit}.")
        self.retry_after = retry_after


@dataclass(frozen=True)
class StartedSession:
    user: User
    secret: str  # for the cookie; only its digest is stored
    expires_at: datetime


def hash_password(password: str) -> str:
    """The stored form of a new password, after the password rules."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise DomainError(
            ErrorCode.INVALID,
            f"A password needs at least {MIN_PASSWORD_LENGTH} characters.",
            "password",
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise DomainError(
            ErrorCode.INVALID,
            f"A password has at most {MAX_PASSWORD_LENGTH} characters.",
            "password",
        )
    return _hasher.hash(password)


async def set_password(uow: UnitOfWork, user: User, password: str) -> None:
    """Set ``user``'s password and end their sessions (a new password locks others out).

    Unaudited: people set passwords through ``people.set_password``, which records it."""
    user.password_hash = hash_password(password)
    await end_sessions(uow, user.id)


async def end_sessions(uow: UnitOfWork, user_id: int) -> int:
    """End every open session of ``user_id``; how many there were. Open WebSockets signed in
    by them close once this commits (``credentials_changed``)."""
    result = await uow.session.execute(
        update(SignInSession)
        .where(SignInSession.user_id == user_id, SignInSession.ended_at.is_(None))
        .values(ended_at=utcnow())
        .returning(SignInSession.id)
    )
    count = len(result.all())
    if count:
        uow.wake(signals.CREDENTIALS_CHANNEL)
    return count


async def start_session(
    sessions: async_sessionmaker[AsyncSession],
    policy: SessionPolicy,
    email: str,
    password: str,
    *,
    address: str,
    user_agent: str = "",
    now: datetime | None = None,
) -> StartedSession:
    """Check ``email`` and ``password`` and open a session, or refuse (``AuthenticationError``)."""
    now = now or utcnow()
    email = email.strip().lower()[:MAX_EMAIL_LENGTH]
    address = address[:64]
    async with sessions() as session:
        await _refuse_when_limited(session, policy, email, address, now)
        user = await session.scalar(select(User).where(User.email == email))
    if not password_matches(user, password):
        async with UnitOfWork(sessions) as uow:
            uow.session.add(SignInFailure(email=email, address=address, at=now))
            # Rows that no longer count are dropped as new ones come.
            await uow.session.execute(
                delete(SignInFailure).where(SignInFailure.at < now - policy.window)
            )
        raise SignInRefused
    assert user is not None and user.password_hash is not None
    async with UnitOfWork(sessions) as uow:
        if _hasher.check_needs_rehash(user.password_hash):
            await uow.session.execute(
                update(User).where(User.id == user.id).values(password_hash=_hasher.hash(password))
            )
        await uow.session.execute(delete(SignInFailure).where(SignInFailure.email == email))
        return await open_session(
            uow, policy, user, address=address, user_agent=user_agent, now=now
        )


async def open_session(
    uow: UnitOfWork,
    policy: SessionPolicy,
    user: User,
    *,
    address: str,
    user_agent: str,
    now: datetime,
) -> StartedSession:
    """A new session for ``user``, whose identity the caller has checked (password or SSO),
    and found enabled."""
    secret = SESSION_PREFIX + secrets.token_urlsafe(32)
    row = SignInSession(
        user_id=user.id,
        token_hash=hash_token(secret),
        created_at=now,
        last_seen_at=now,
        expires_at=now + policy.lifetime,
        address=address[:64],
        user_agent=user_agent[:300],
    )
    uow.session.add(row)
    return StartedSession(user, secret, row.expires_at)


def password_matches(user: User | None, password: str) -> bool:
    """Automation accounts sign in with tokens only, whatever their row holds; disabled
    people not at all (refused like a wrong password, so the answer tells nothing)."""
    usable = user is not None and not user.is_automation and user.disabled_at is None
    stored = user.password_hash if user is not None and usable else None
    if len(password) > MAX_PASSWORD_LENGTH:
        return False  # no password this long was ever set
    try:
        _hasher.verify(stored or _stand_in_hash(), password)
    except (VerificationError, InvalidHashError):
        return False
    return stored is not None


async def _refuse_when_limited(
    session: AsyncSession, policy: SessionPolicy, email: str, address: str, now: datetime
) -> None:
    since = now - policy.window
    for column, key, limit in (
        (SignInFailure.email, email, policy.max_failures),
        (SignInFailure.address, address, policy.max_failures_per_address),
    ):
        counted: ColumnElement[bool] = (column == key) & (SignInFailure.at > since)
        count, oldest = (
            await session.execute(select(func.count(), func.min(SignInFailure.at)).where(counted))
        ).one()
        if count >= limit:
            wait = (oldest + policy.window - now).total_seconds()
            raise TooManyAttempts(max(1, math.ceil(wait)))


class SessionTimes(Protocol):
    """What limits a session in time: a row, or what the credential cache remembers of one."""

    @property
    def ended_at(self) -> datetime | None: ...

    @property
    def expires_at(self) -> datetime: ...

    @property
    def last_seen_at(self) -> datetime: ...


def session_is_open(signed_in: SessionTimes, policy: SessionPolicy, now: datetime) -> bool:
    """Not signed out or ended, not past its lifetime, and not idle for too long."""
    return (
        signed_in.ended_at is None
        and signed_in.expires_at > now
        and signed_in.last_seen_at + policy.idle > now
    )


async def session_principal(
    sessions: async_sessionmaker[AsyncSession],
    policy: SessionPolicy,
    secret: str,
    *,
    activity: bool = True,
    now: datetime | None = None,
) -> Principal:
    """The signed-in user of a session cookie, noting the request as ``activity`` (which
    keeps the session from its idle timeout) unless told not to; else ``AuthenticationError``.

    From the credential cache while it can vouch for the session and its last request is
    not due to be written (then the session is read again, as a first request is)."""
    now = now or utcnow()
    digest = hash_token(secret)
    cache = CredentialCache.of(sessions)
    known = cache.session(digest)
    if known is not None and session_is_open(known, policy, now) and not _seen_due(known, now):
        return known.principal
    ticket = cache.ticket()
    async with sessions() as session:
        row = (
            await session.execute(
                select(SignInSession, User)
                .join(User, User.id == SignInSession.user_id)
                .where(SignInSession.token_hash == digest)
            )
        ).first()
        if row is None:
            raise AuthenticationError("Your session has ended; sign in again.")
        signed_in, user = row
        if not session_is_open(signed_in, policy, now):
            raise AuthenticationError("Your session has ended; sign in again.")
        if user.disabled_at is not None:
            raise AuthenticationError(DISABLED)
        principal = await principal_of(session, user)
    last_seen_at = signed_in.last_seen_at
    if activity and _seen_due(signed_in, now):
        async with UnitOfWork(sessions) as uow:
            await uow.session.execute(
                update(SignInSession)
                .where(SignInSession.id == signed_in.id)
                .values(last_seen_at=now)
            )
        last_seen_at = now
    known = KnownSession(
        principal, signed_in.id, signed_in.ended_at, signed_in.expires_at, last_seen_at
    )
    cache.store(ticket, digest, known)
    return principal


def _seen_due(signed_in: SessionTimes, now: datetime) -> bool:
    """Whether the session's last request is due to be written (when there is activity)."""
    return now - signed_in.last_seen_at >= SEEN_EVERY


async def end_session(sessions: async_sessionmaker[AsyncSession], secret: str) -> None:
    """Sign out: the session of ``secret`` ends (nothing happens for an unknown one)."""
    async with UnitOfWork(sessions) as uow:
        ended = await uow.session.execute(
            update(SignInSession)
            .where(SignInSession.token_hash == hash_token(secret), SignInSession.ended_at.is_(None))
            .values(ended_at=utcnow())
            .returning(SignInSession.id)
        )
        if ended.all():
            uow.wake(signals.CREDENTIALS_CHANNEL)
