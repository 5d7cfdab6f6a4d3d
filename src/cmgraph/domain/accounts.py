"""Users, API tokens and scoped grants; turning a bearer token into a ``Principal``.

Tokens are random (256 bits) and stored only as SHA-256 digests: a leaked database does not
leak usable tokens, and a fast digest is enough for secrets of that entropy.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cmgraph.adapters import signals
from cmgraph.adapters.db import UnitOfWork
from cmgraph.domain import text
from cmgraph.domain.credential_cache import CredentialCache, KnownToken
from cmgraph.domain.enums import GRANTABLE_ROLES, OrgRole
from cmgraph.domain.errors import DomainError, ErrorCode, not_found
from cmgraph.domain.models import ApiToken, Assessment, Grant, Regulation, User, utcnow
from cmgraph.domain.permissions import Principal

TOKEN_PREFIX = "cmg_"
DISABLED = "This account is disabled."
MAX_EMAIL_LENGTH = 320  # RFC 5321: 64 for the local part, @, 255 for the domain
USED_EVERY = timedelta(minutes=1)  # how often a token's last use is written


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token_secret() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def derived_token(secret: bytes, label: str) -> str:
    """A stable token for ``label`` under ``secret`` (the demo prints the same ones each start)."""
    digest = hmac.new(secret, label.encode(), hashlib.sha256).hexdigest()
    return f"{TOKEN_PREFIX}{digest}"


async def create_user(
    uow: UnitOfWork,
    email: str,
    name: str,
    role: OrgRole | None,
    *,
    is_automation: bool = False,
) -> User:
    email = text.clean_name(
        email, "A user", field="email", max_length=MAX_EMAIL_LENGTH, required=False
    ).lower()
    if "@" not in email:
        raise DomainError(ErrorCode.INVALID, f"Not an email address: {email!r}.", "email")
    name = text.clean_name(name, "A user", required=False) or email[: text.MAX_NAME_LENGTH]
    if await uow.session.scalar(select(User.id).where(User.email == email)) is not None:
        raise DomainError(ErrorCode.DUPLICATE, f"A user with email {email} exists.", "email")
    user = User(email=email, name=name, role=role, is_automation=is_automation)
    uow.session.add(user)
    await uow.session.flush()
    return user


async def user_by_email(uow: UnitOfWork, email: str) -> User:
    user = await uow.session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise not_found(f"User {email}", "email")
    return user


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    secret: str  # shown once; only its digest is stored


async def create_token(
    uow: UnitOfWork,
    user: User,
    name: str,
    *,
    expires_in: timedelta | None = None,
    secret: str | None = None,
) -> IssuedToken:
    name = text.clean_name(name, "A token")
    secret = secret or new_token_secret()
    token = ApiToken(
        user_id=user.id,
        name=name,
        token_hash=hash_token(secret),
        prefix=secret[: len(TOKEN_PREFIX) + 6],
        expires_at=utcnow() + expires_in if expires_in else None,
    )
    uow.session.add(token)
    await uow.session.flush()
    return IssuedToken(token, secret)


class TokenTimes(Protocol):
    """What limits a token in time: a row, or what the credential cache remembers of one."""

    @property
    def revoked_at(self) -> datetime | None: ...

    @property
    def expires_at(self) -> datetime | None: ...


def token_refusal(token: TokenTimes, now: datetime, *, user_disabled: bool) -> str | None:
    """Why ``token`` signs nobody in now, or None when it does."""
    if token.revoked_at is not None:
        return "This API token was revoked."
    if token.expires_at is not None and token.expires_at <= now:
        return "This API token has expired."
    if user_disabled:
        return DISABLED
    return None


def token_is_active(token: ApiToken, now: datetime, *, user_disabled: bool) -> bool:
    """Whether ``token`` signs its user in now: not revoked, not expired, user enabled."""
    return token_refusal(token, now, user_disabled=user_disabled) is None


async def revoke_token(uow: UnitOfWork, token_id: int) -> tuple[ApiToken, bool]:
    """Revoke a token at once (open WebSockets signed in with it close once this commits);
    the token, and whether it was revoked just now (False: it was already)."""
    token = await uow.session.get(ApiToken, token_id, with_for_update=True)
    if token is None:
        raise not_found("Token", "tokenId")
    if token.revoked_at is not None:
        return token, False
    token.revoked_at = utcnow()
    uow.wake(signals.CREDENTIALS_CHANNEL)
    return token, True


def check_grantable(role: OrgRole) -> None:
    if role not in GRANTABLE_ROLES:
        raise DomainError(
            ErrorCode.INVALID, "Scoped grants are READER, CONTRIBUTOR or ASSESSOR.", "role"
        )


async def grant(
    uow: UnitOfWork,
    user: User,
    role: OrgRole,
    *,
    assessment_id: int | None = None,
    regulation_id: int | None = None,
) -> Grant:
    """A scoped role on one assessment or one regulation (all its assessments)."""
    check_grantable(role)
    if (assessment_id is None) == (regulation_id is None):
        raise DomainError(ErrorCode.INVALID, "Grant on one assessment or one regulation.")
    if assessment_id is not None and await uow.session.get(Assessment, assessment_id) is None:
        raise not_found("Assessment", "assessmentId")
    if regulation_id is not None and await uow.session.get(Regulation, regulation_id) is None:
        raise not_found("Regulation", "regulationId")
    row = Grant(
        user_id=user.id, role=role, assessment_id=assessment_id, regulation_id=regulation_id
    )
    uow.session.add(row)
    await uow.session.flush()
    uow.wake(signals.CREDENTIALS_CHANNEL)  # what the holder may do changed
    return row


class AuthenticationError(Exception):
    """The request carries no usable credentials; the HTTP layer answers 401."""


async def authenticate(uow: UnitOfWork, secret: str, *, now: datetime | None = None) -> Principal:
    """The token's user, recording its use inside ``uow``."""
    now = now or utcnow()
    principal, token = await _identify(uow.session, hash_token(secret), now)
    if _use_due(token.last_used_at, now):
        await _record_use(uow, token.id, now)
    return principal


async def sign_in(
    sessions: async_sessionmaker[AsyncSession], secret: str, *, now: datetime | None = None
) -> Principal:
    """The token's user, for every request: from the credential cache while it can vouch
    for it and no write is due; else a read, and a write only when the use is due.

    The last use is recorded at most once a minute, in a unit of work of its own, so that
    signing in does not take the database's write lock on every request.
    """
    now = now or utcnow()
    digest = hash_token(secret)
    cache = CredentialCache.of(sessions)
    known = cache.token(digest)
    if known is not None and _still_signs_in(known, now):
        return known.principal
    ticket = cache.ticket()
    async with sessions() as session:
        principal, token = await _identify(session, digest, now)
    last_used_at = token.last_used_at
    if _use_due(last_used_at, now):
        async with UnitOfWork(sessions) as uow:
            await _record_use(uow, token.id, now)
        last_used_at = now
    known = KnownToken(principal, token.id, token.revoked_at, token.expires_at, last_used_at)
    cache.store(ticket, digest, known)
    return principal


def _use_due(last_used_at: datetime | None, now: datetime) -> bool:
    return last_used_at is None or now - last_used_at > USED_EVERY


def _still_signs_in(known: KnownToken, now: datetime) -> bool:
    """Whether a remembered token signs in now without a look-up: its time rules hold and
    its use is not due to be written (its user was enabled, or the cache would be empty)."""
    refusal = token_refusal(known, now, user_disabled=False)
    return refusal is None and not _use_due(known.last_used_at, now)


async def _identify(
    session: AsyncSession, digest: str, now: datetime
) -> tuple[Principal, ApiToken]:
    row = (
        await session.execute(
            select(ApiToken, User)
            .join(User, User.id == ApiToken.user_id)
            .where(ApiToken.token_hash == digest)
        )
    ).first()
    if row is None:
        raise AuthenticationError("Invalid API token.")
    token, user = row
    refusal = token_refusal(token, now, user_disabled=user.disabled_at is not None)
    if refusal is not None:
        raise AuthenticationError(refusal)
    return await principal_of(session, user), token


async def _record_use(uow: UnitOfWork, token_id: int, now: datetime) -> None:
    await uow.session.execute(
        update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=now)
    )


async def link_principal(session: AsyncSession, user_id: int) -> Principal:
    """The person a signed link (a download, an export) was issued to, with their access
    now; ``AuthenticationError`` when they no longer exist or are disabled."""
    user = await session.get(User, user_id)
    if user is None:
        raise AuthenticationError("The user of this link no longer exists.")
    if user.disabled_at is not None:
        raise AuthenticationError(DISABLED)
    return await principal_of(session, user)


async def principal_for(uow: UnitOfWork, user: User) -> Principal:
    return await principal_of(uow.session, user)


async def principals_for(uow: UnitOfWork, users: Iterable[User]) -> dict[int, Principal]:
    """``principal_for`` of several users at once (one grant read), keyed by user id."""
    users = list(users)
    grants: dict[int, list[Grant]] = {u.id: [] for u in users}
    if grants:
        for grant in await uow.session.scalars(
            select(Grant).where(Grant.user_id.in_(list(grants)))
        ):
            grants[grant.user_id].append(grant)
    return {u.id: _principal(u, grants[u.id]) for u in users}


async def principal_of(session: AsyncSession, user: User) -> Principal:
    """What ``user`` may do, from their role and grants (no unit of work needed: a read)."""
    grants = (await session.scalars(select(Grant).where(Grant.user_id == user.id))).all()
    return _principal(user, grants)


def _principal(user: User, grants: Iterable[Grant]) -> Principal:
    grants = list(grants)
    return Principal(
        user_id=user.id,
        role=user.role,
        assessment_grants=_highest(
            (g.assessment_id, g.role) for g in grants if g.assessment_id is not None
        ),
        regulation_grants=_highest(
            (g.regulation_id, g.role) for g in grants if g.regulation_id is not None
        ),
        is_automation=user.is_automation,
    )


def _highest(pairs: Iterable[tuple[int, OrgRole]]) -> dict[int, OrgRole]:
    result: dict[int, OrgRole] = {}
    for key, role in pairs:
        if key not in result or role.rank > result[key].rank:
            result[key] = role
    return result
