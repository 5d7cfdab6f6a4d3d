"""Reads for managing people (owners only): a person's grants, tokens and sessions, and the
audit trail. Per-user lists are batched, so a page of users costs one statement per list."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

import strawberry
from sqlalchemy import select

from cmgraph.domain.accounts import token_is_active
from cmgraph.domain.models import ApiToken, AuditEvent, Grant, SignInSession, utcnow
from cmgraph.domain.sign_in import SessionPolicy, session_is_open
from cmgraph.resolvers.pages import Page, PageRequest, read_page
from cmgraph.resolvers.queries import GrantRecord, grant_records, ids_of, owners_only


def require_owner(info: strawberry.Info, what: str) -> None:
    owners_only(info, f"read {what}")


def _per_user(name: str, model: Any, order: Any) -> Any:
    async def batch(src: Any, keys: list[int]) -> list[list[Any]]:
        rows = await src.scalars(select(model).where(model.user_id.in_(keys)).order_by(*order))
        grouped: dict[int, list[Any]] = defaultdict(list)
        for row in rows:
            grouped[row.user_id].append(row)
        return [grouped.get(key, []) for key in keys]

    return name, batch


_GRANTS = _per_user("people_grants", Grant, (Grant.id,))
_TOKENS = _per_user("people_tokens", ApiToken, (ApiToken.id.desc(),))
_SESSIONS = _per_user("people_sessions", SignInSession, (SignInSession.id.desc(),))


async def grants_of(info: strawberry.Info, user_id: int) -> list[GrantRecord]:
    require_owner(info, "grants")
    loaders = info.context.loaders
    return await grant_records(info, await loaders.loader(*_GRANTS).load(user_id))


async def tokens_of(info: strawberry.Info, user_id: int) -> list[ApiToken]:
    require_owner(info, "API tokens")
    return list(await info.context.loaders.loader(*_TOKENS).load(user_id))


async def sessions_of(
    info: strawberry.Info, user_id: int, include_ended: bool
) -> list[SignInSession]:
    require_owner(info, "sessions")
    rows = await info.context.loaders.loader(*_SESSIONS).load(user_id)
    if include_ended:
        return list(rows)
    now = utcnow()
    return [row for row in rows if session_open(info, row, now)]


def session_open(info: strawberry.Info, row: SignInSession, now: datetime | None = None) -> bool:
    """Whether the session still signs its browser in."""
    policy = SessionPolicy.of(info.context.settings)
    return session_is_open(row, policy, now or utcnow())


def token_active(row: ApiToken, *, user_disabled: bool) -> bool:
    return token_is_active(row, utcnow(), user_disabled=user_disabled)


async def audit_events(info: strawberry.Info, user_id: str | None, request: PageRequest) -> Page:
    """The audit trail, newest first; ``user_id`` narrows it to changes to one person."""
    require_owner(info, "the audit trail")
    statement = select(AuditEvent)
    if user_id is not None:
        target = ids_of([user_id], "User")
        assert target is not None  # ids_of gives a list for a list
        statement = statement.where(AuditEvent.target_user_id == target[0])
    return await read_page(info, statement, [AuditEvent.id.desc()], request)
