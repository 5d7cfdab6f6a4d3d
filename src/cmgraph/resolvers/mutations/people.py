"""Mutations: people (invitations)."""

from __future__ import annotations

from typing import Any

import strawberry

from cmgraph.domain.models import User
from cmgraph.domain.password_links import invite_user as invite
from cmgraph.resolvers.mutations.base import Outcome, perform


async def invite_user(info: strawberry.Info, input: Any) -> Outcome[User]:
    return await perform(
        info, lambda uow, actor: invite(uow, actor, input.email, input.name or "", input.role)
    )
