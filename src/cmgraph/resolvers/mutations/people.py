"""Mutations: people (invitations, updates, grants, API tokens, sessions)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import strawberry

from cmgraph.adapters.db import UnitOfWork
from cmgraph.domain import people
from cmgraph.domain.accounts import IssuedToken
from cmgraph.domain.models import ApiToken, Assessment, Regulation, SignInSession, User
from cmgraph.domain.password_links import invite_user as invite
from cmgraph.domain.permissions import Principal
from cmgraph.resolvers.mutations.base import Outcome, node_id, perform
from cmgraph.resolvers.queries import GrantRecord


async def invite_user(info: strawberry.Info, input: Any) -> Outcome[User]:
    return await perform(
        info, lambda uow, actor: invite(uow, actor, input.email, input.name or "", input.role)
    )


async def update_user(info: strawberry.Info, input: Any) -> Outcome[User]:
    changes = {
        name: getattr(input, name)
        for name in people.USER_FIELDS
        if getattr(input, name) is not strawberry.UNSET
    }
    for name in ("name", "disabled"):
        if name in changes and changes[name] is None:
            changes.pop(name)  # neither can be cleared; null leaves it as it is

    async def work(uow: UnitOfWork, actor: Principal) -> User:
        user_id = node_id(input.user_id, "User", "userId")
        return await people.update_user(uow, actor, user_id, changes)

    return await perform(info, work)


@dataclass(frozen=True)
class GrantGiven:
    """The grant as the transaction left it, with what it names and who holds it."""

    grant: GrantRecord
    user: User


async def grant_access(info: strawberry.Info, input: Any) -> Outcome[GrantGiven]:
    async def work(uow: UnitOfWork, actor: Principal) -> GrantGiven:
        user_id = node_id(input.user_id, "User", "userId")
        assessment_id = (
            node_id(input.assessment_id, "Assessment", "assessmentId")
            if input.assessment_id is not None
            else None
        )
        regulation_id = (
            node_id(input.regulation_id, "Regulation", "regulationId")
            if input.regulation_id is not None
            else None
        )
        row = await people.grant_access(
            uow,
            actor,
            user_id,
            input.role,
            assessment_id=assessment_id,
            regulation_id=regulation_id,
        )
        session = uow.session
        assessment = await session.get(Assessment, assessment_id) if assessment_id else None
        regulation = await session.get(Regulation, regulation_id) if regulation_id else None
        user = await session.get(User, row.user_id)
        assert user is not None  # locked by the grant
        record = GrantRecord(row.role, assessment, regulation, row.id, row.created_at)
        return GrantGiven(record, user)

    return await perform(info, work)


async def revoke_grant(info: strawberry.Info, input: Any) -> Outcome[User]:
    return await perform(
        info,
        lambda uow, actor: people.revoke_grant(
            uow, actor, node_id(input.grant_id, "Grant", "grantId")
        ),
    )


async def create_api_token(info: strawberry.Info, input: Any) -> Outcome[IssuedToken]:
    return await perform(
        info,
        lambda uow, actor: people.create_api_token(
            uow,
            actor,
            node_id(input.user_id, "User", "userId"),
            input.name,
            expires_at=input.expires_at,
        ),
    )


async def revoke_api_token(info: strawberry.Info, input: Any) -> Outcome[ApiToken]:
    return await perform(
        info,
        lambda uow, actor: people.revoke_api_token(
            uow, actor, node_id(input.token_id, "ApiToken", "tokenId")
        ),
    )


async def end_session(info: strawberry.Info, input: Any) -> Outcome[SignInSession]:
    return await perform(
        info,
        lambda uow, actor: people.end_session(
            uow, actor, node_id(input.session_id, "SignInSession", "sessionId")
        ),
    )


async def end_sessions(info: strawberry.Info, input: Any) -> Outcome[people.EndedSessions]:
    return await perform(
        info,
        lambda uow, actor: people.end_sessions(
            uow, actor, node_id(input.user_id, "User", "userId")
        ),
    )
