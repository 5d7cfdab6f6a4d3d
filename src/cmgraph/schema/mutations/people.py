"""Inputs and payloads: people."""

from __future__ import annotations

import strawberry

from cmgraph.resolvers.mutations import people
from cmgraph.schema.enums import OrgRole
from cmgraph.schema.errors import UserError, user_errors
from cmgraph.schema.types import User


@strawberry.input
class InviteUserInput:
    email: str
    name: str | None = strawberry.field(default=None, description="Defaults to the email.")
    role: OrgRole | None = strawberry.field(
        default=None, description="Organisation role; null for someone given grants only."
    )


@strawberry.type
class InviteUserPayload:
    user: User | None
    user_errors: list[UserError]


@strawberry.type
class PeopleMutations:
    @strawberry.mutation(
        description="Add a person and email them a one-time link (valid 7 days) to choose a "
        "password. Owners only."
    )
    async def invite_user(self, info: strawberry.Info, input: InviteUserInput) -> InviteUserPayload:
        outcome = await people.invite_user(info, input)
        return InviteUserPayload(
            user=User.from_row(outcome.value) if outcome.value else None,
            user_errors=user_errors(outcome.errors),
        )
