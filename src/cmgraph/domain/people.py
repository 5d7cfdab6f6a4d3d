"""Owners manage people: names, roles, disabling, scoped grants, API tokens and sessions.

Every change here writes its audit row (``domain.audit``) in the same unit of work. An
``actor`` of None is the operator at the server's command line, who needs no role (the CLI
already holds the database); over the API the actor is always a signed-in owner.

Owners cannot lock the organisation out: the last active owner can be neither demoted nor
disabled, and no owner disables themself (another owner does it). A disabled person's
sessions end at once; their API tokens stay but are refused while they are disabled, so
enabling an automation account again brings its tokens back.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from cmgraph.adapters import signals
from cmgraph.adapters.db import UnitOfWork
from cmgraph.domain import audit, text
from cmgraph.domain.accounts import (
    IssuedToken,
    check_grantable,
    create_token,
    grant,
    revoke_token,
)
from cmgraph.domain.audit import AuditAction
from cmgraph.domain.enums import OrgRole
from cmgraph.domain.errors import DomainError, ErrorCode, not_found
from cmgraph.domain.models import ApiToken, Grant, SignInSession, User, utcnow
from cmgraph.domain.permissions import Principal, require_may_manage_people
from cmgraph.domain.sign_in import end_sessions as end_open_sessions
from cmgraph.domain.sign_in import set_password as store_password

USER_FIELDS = ("name", "role", "disabled")
MAX_TOKEN_LIFETIME_DAYS = 3660  # ten years and leap days: beyond that, use no expiry


def _require_owner(actor: Principal | None) -> None:
    if actor is not None:
        require_may_manage_people(actor)


def _actor_id(actor: Principal | None) -> int | None:
    return actor.user_id if actor is not None else None


async def user_to_manage(uow: UnitOfWork, user_id: int, field: str = "userId") -> User:
    # A user read earlier in this transaction is read again, locked (populate_existing);
    # changes not yet flushed are written first, so that reading again keeps them.
    await uow.session.flush()
    user = await uow.session.get(User, user_id, with_for_update=True, populate_existing=True)
    if user is None:
        raise not_found("User", field)
    return user


async def _active_owners(uow: UnitOfWork) -> list[int]:
    """The active owners, locked in id order before anything else (so that two owners
    demoting each other at the same moment wait for one another instead of deadlocking,
    and the second sees the first's change) on PostgreSQL; SQLite's writers queue anyway."""
    rows = await uow.session.scalars(
        select(User.id)
        .where(
            User.role == OrgRole.OWNER,
            User.disabled_at.is_(None),
            User.is_automation.is_(False),
        )
        .order_by(User.id)
        .with_for_update()
    )
    return list(rows)


async def update_user(
    uow: UnitOfWork, actor: Principal | None, user_id: int, changes: Mapping[str, Any]
) -> User:
    """Change a person's name, organisation role (None: grants only) or disabled state.

    ``changes`` holds only what the caller sent (keys of ``USER_FIELDS``).
    """
    _require_owner(actor)
    unknown = set(changes) - set(USER_FIELDS)
    if unknown:
        raise DomainError(ErrorCode.INVALID, "This field cannot be edited.", sorted(unknown)[0])
    owners = await _active_owners(uow) if {"role", "disabled"} & set(changes) else []
    user = await user_to_manage(uow, user_id)
    name = text.clean_name(changes["name"], "A user") if "name" in changes else user.name
    role: OrgRole | None = changes.get("role", user.role)
    disabled = bool(changes.get("disabled", user.disabled_at is not None))
    if disabled and user.disabled_at is None and actor is not None and user.id == actor.user_id:
        raise DomainError(
            ErrorCode.CANNOT_DISABLE_SELF,
            "You cannot disable your own account; another owner can.",
            "disabled",
        )
    _refuse_last_owner(owners, user, role, disabled=disabled)
    changed: dict[str, dict[str, Any]] = {}
    if name != user.name:
        changed["name"] = {"from": user.name, "to": name}
        user.name = name
    if role != user.role:
        changed["role"] = _role_change(uow, user, role)
    who = _actor_id(actor)
    if changed:
        await audit.record(uow, who, AuditAction.USER_UPDATED, user.id, **changed)
    if disabled and user.disabled_at is None:
        user.disabled_at = utcnow()
        ended = await end_open_sessions(uow, user.id)
        uow.wake(signals.CREDENTIALS_CHANNEL)  # their tokens stop working too
        await audit.record(uow, who, AuditAction.USER_DISABLED, user.id, sessionsEnded=ended)
    elif not disabled and user.disabled_at is not None:
        user.disabled_at = None
        uow.wake(signals.CREDENTIALS_CHANNEL)
        await audit.record(uow, who, AuditAction.USER_ENABLED, user.id)
    await uow.session.flush()
    return user


def _refuse_last_owner(
    owners: list[int], user: User, role: OrgRole | None, *, disabled: bool
) -> None:
    """``LAST_OWNER`` when ``user`` is the last of the active ``owners`` (``_active_owners``,
    locked) and would stop being one: nobody locks the organisation out."""
    was_active_owner = (
        user.role is OrgRole.OWNER and user.disabled_at is None and not user.is_automation
    )
    stays_active_owner = role is OrgRole.OWNER and not disabled
    others = [owner for owner in owners if owner != user.id]
    if was_active_owner and not stays_active_owner and not others:
        raise DomainError(
            ErrorCode.LAST_OWNER,
            "This is the last active owner: make someone else an owner first.",
            "disabled" if disabled and role is OrgRole.OWNER else "role",
        )


def _role_change(uow: UnitOfWork, user: User, role: OrgRole | None) -> dict[str, Any]:
    """Give ``user`` ``role``; the audit detail of the change."""
    change = {
        "from": user.role.value if user.role else None,
        "to": role.value if role else None,
    }
    user.role = role
    uow.wake(signals.CREDENTIALS_CHANNEL)
    return change


async def change_role(
    uow: UnitOfWork, actor_id: int | None, user: User, role: OrgRole | None, **detail: Any
) -> User:
    """Give ``user`` the organisation role ``role`` (audited with ``detail``, such as
    ``source="SSO"``), under ``update_user``'s rule and locks: ``LAST_OWNER`` for the last
    active owner. For changes no owner makes (single sign-on maps a provider's groups)."""
    owners = await _active_owners(uow)
    user = await user_to_manage(uow, user.id)
    if role == user.role:
        return user
    _refuse_last_owner(owners, user, role, disabled=user.disabled_at is not None)
    change = _role_change(uow, user, role)
    await audit.record(uow, actor_id, AuditAction.USER_UPDATED, user.id, role=change, **detail)
    return user


def _scope(row: Grant) -> dict[str, Any]:
    if row.assessment_id is not None:
        return {"assessmentId": row.assessment_id}
    return {"regulationId": row.regulation_id}


async def grant_access(
    uow: UnitOfWork,
    actor: Principal | None,
    user_id: int,
    role: OrgRole,
    *,
    assessment_id: int | None = None,
    regulation_id: int | None = None,
    reason: Mapping[str, Any] | None = None,
) -> Grant:
    """A scoped role on one assessment or regulation; an existing grant on the same scope
    takes the new role (one grant per person and scope)."""
    _require_owner(actor)
    user = await user_to_manage(uow, user_id)
    existing = await uow.session.scalar(
        select(Grant).where(
            Grant.user_id == user.id,
            Grant.assessment_id.is_(None)
            if assessment_id is None
            else Grant.assessment_id == assessment_id,
            Grant.regulation_id.is_(None)
            if regulation_id is None
            else Grant.regulation_id == regulation_id,
        )
    )
    if existing is None:
        row = await grant(uow, user, role, assessment_id=assessment_id, regulation_id=regulation_id)
        previous = None
    else:
        check_grantable(role)
        row, previous = existing, existing.role
        if previous is role:
            return row
        row.role = role
        uow.wake(signals.CREDENTIALS_CHANNEL)
    await audit.record(
        uow,
        _actor_id(actor),
        AuditAction.ACCESS_GRANTED,
        user.id,
        grantId=row.id,
        role=role.value,
        previousRole=previous.value if previous else None,
        **_scope(row),
        **(dict(reason) if reason else {}),
    )
    return row


async def revoke_grant(uow: UnitOfWork, actor: Principal | None, grant_id: int) -> User:
    """Remove a scoped grant; returns the person who held it."""
    _require_owner(actor)
    # The person first, then the grant: the order ``grant_access`` locks them in.
    holder = await uow.session.scalar(select(Grant.user_id).where(Grant.id == grant_id))
    if holder is None:
        raise not_found("Grant", "grantId")
    user = await user_to_manage(uow, holder)
    row = await uow.session.get(Grant, grant_id, with_for_update=True, populate_existing=True)
    if row is None or row.user_id != user.id:  # revoked meanwhile
        raise not_found("Grant", "grantId")
    detail = {"grantId": row.id, "role": row.role.value, **_scope(row)}
    await uow.session.delete(row)
    uow.wake(signals.CREDENTIALS_CHANNEL)
    await audit.record(uow, _actor_id(actor), AuditAction.GRANT_REVOKED, user.id, **detail)
    await uow.session.flush()
    return user


async def create_api_token(
    uow: UnitOfWork,
    actor: Principal | None,
    user_id: int,
    name: str,
    *,
    expires_at: datetime | None = None,
    now: datetime | None = None,
) -> IssuedToken:
    """A new API token for the owner themself or an automation account (the CLI: anyone);
    its secret is returned once and never stored.

    A token acts under its person's name, so an owner makes none for another person.
    """
    _require_owner(actor)
    now = now or utcnow()
    user = await user_to_manage(uow, user_id)
    if actor is not None and user.id != actor.user_id and not user.is_automation:
        raise DomainError(
            ErrorCode.FORBIDDEN,
            "A token acts as its person: owners make tokens for themselves or for "
            "automation accounts only.",
            "userId",
        )
    if user.disabled_at is not None:
        raise DomainError(
            ErrorCode.INVALID, f"{user.email} is disabled: enable them first.", "userId"
        )
    if expires_at is not None:
        if expires_at.tzinfo is None:
            raise DomainError(
                ErrorCode.INVALID, "Give the expiry with a time zone (e.g. Z).", "expiresAt"
            )
        if expires_at <= now:
            raise DomainError(ErrorCode.INVALID, "The expiry must be in the future.", "expiresAt")
        if (expires_at - now).days > MAX_TOKEN_LIFETIME_DAYS:
            raise DomainError(
                ErrorCode.INVALID,
                f"A token expires within {MAX_TOKEN_LIFETIME_DAYS} days, or never.",
                "expiresAt",
            )
    issued = await create_token(
        uow, user, name, expires_in=expires_at - now if expires_at is not None else None
    )
    await audit.record(
        uow,
        _actor_id(actor),
        AuditAction.TOKEN_CREATED,
        user.id,
        tokenId=issued.token.id,
        name=issued.token.name,
        expiresAt=issued.token.expires_at.isoformat() if issued.token.expires_at else None,
    )
    return issued


async def revoke_api_token(uow: UnitOfWork, actor: Principal | None, token_id: int) -> ApiToken:
    """Revoke a token at once; revoking a revoked one changes nothing."""
    _require_owner(actor)
    token, revoked_now = await revoke_token(uow, token_id)
    if not revoked_now:
        return token
    await audit.record(
        uow,
        _actor_id(actor),
        AuditAction.TOKEN_REVOKED,
        token.user_id,
        tokenId=token.id,
        name=token.name,
    )
    return token


@dataclass(frozen=True)
class EndedSessions:
    user: User
    count: int


async def end_session(uow: UnitOfWork, actor: Principal | None, session_id: int) -> SignInSession:
    """End one browser session of anyone (a lost laptop); ending an ended one does nothing."""
    _require_owner(actor)
    row = await uow.session.get(SignInSession, session_id, with_for_update=True)
    if row is None:
        raise not_found("Session", "sessionId")
    if row.ended_at is None:
        row.ended_at = utcnow()
        uow.wake(signals.CREDENTIALS_CHANNEL)
        await audit.record(
            uow, _actor_id(actor), AuditAction.SESSION_ENDED, row.user_id, sessionId=row.id
        )
        await uow.session.flush()
    return row


async def end_sessions(uow: UnitOfWork, actor: Principal | None, user_id: int) -> EndedSessions:
    """End every open browser session of one person (they sign in again)."""
    _require_owner(actor)
    user = await user_to_manage(uow, user_id)
    count = await end_open_sessions(uow, user.id)
    if count:
        await audit.record(uow, _actor_id(actor), AuditAction.SESSIONS_ENDED, user.id, count=count)
    return EndedSessions(user, count)


async def set_password(
    uow: UnitOfWork, actor_id: int | None, user: User, password: str, *, via: str
) -> None:
    """Set a person's password (their sessions end), recorded with who set it (None: the
    command line) and how (``via``: CLI, or the kind of link)."""
    await store_password(uow, user, password)
    await audit.record(uow, actor_id, AuditAction.PASSWORD_SET, user.id, via=via)
