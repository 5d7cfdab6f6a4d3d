"""Inputs and payloads: people (owners manage them; see ``domain.people``)."""

from __future__ import annotations

from datetime import datetime

import strawberry

from cmgraph.resolvers.mutations import people
from cmgraph.schema.enums import OrgRole
from cmgraph.schema.errors import UserError, user_errors
from cmgraph.schema.types import ApiToken, Grant, SignInSession, User


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


@strawberry.input(description="Fields left out stay as they are.")
class UpdateUserInput:
    user_id: strawberry.ID
    name: str | None = strawberry.UNSET
    role: OrgRole | None = strawberry.field(
        default=strawberry.UNSET,
        description="Organisation role; null leaves only the person's scoped grants.",
    )
    disabled: bool | None = strawberry.field(
        default=strawberry.UNSET,
        description="true: their sessions end and no sign-in or token of theirs works until "
        "false. Not for yourself, nor for the last active owner.",
    )


@strawberry.type
class UpdateUserPayload:
    user: User | None
    user_errors: list[UserError]


@strawberry.input(description="Name exactly one of `assessmentId` and `regulationId`.")
class GrantAccessInput:
    user_id: strawberry.ID
    role: OrgRole = strawberry.field(description="READER, CONTRIBUTOR or ASSESSOR.")
    assessment_id: strawberry.ID | None = None
    regulation_id: strawberry.ID | None = strawberry.field(
        default=None, description="Covers the regulation's present and future assessments."
    )


@strawberry.type
class GrantAccessPayload:
    grant: Grant | None
    user: User | None
    user_errors: list[UserError]


@strawberry.input
class RevokeGrantInput:
    grant_id: strawberry.ID


@strawberry.type
class RevokeGrantPayload:
    user: User | None = strawberry.field(description="Who held the grant.")
    user_errors: list[UserError]


@strawberry.input
class CreateApiTokenInput:
    user_id: strawberry.ID
    name: str = strawberry.field(description="What the token is for.")
    expires_at: datetime | None = strawberry.field(
        default=None, description="With a time zone, in the future; null: it never expires."
    )


@strawberry.type
class CreateApiTokenPayload:
    token: ApiToken | None
    secret: str | None = strawberry.field(
        description="The token itself, shown only in this reply: only its digest is stored."
    )
    user_errors: list[UserError]


@strawberry.input
class RevokeApiTokenInput:
    token_id: strawberry.ID


@strawberry.type
class RevokeApiTokenPayload:
    token: ApiToken | None
    user_errors: list[UserError]


@strawberry.input
class EndSessionInput:
    session_id: strawberry.ID


@strawberry.type
class EndSessionPayload:
    session: SignInSession | None
    user_errors: list[UserError]


@strawberry.input
class EndSessionsInput:
    user_id: strawberry.ID


@strawberry.type
class EndSessionsPayload:
    user: User | None
    ended_count: int | None = strawberry.field(description="Sessions that were still open.")
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

    @strawberry.mutation(
        description="Change a person's name or organisation role, or disable or enable them. "
        "Owners only; refused with LAST_OWNER or CANNOT_DISABLE_SELF when it would lock the "
        "organisation out."
    )
    async def update_user(self, info: strawberry.Info, input: UpdateUserInput) -> UpdateUserPayload:
        outcome = await people.update_user(info, input)
        return UpdateUserPayload(
            user=User.from_row(outcome.value) if outcome.value else None,
            user_errors=user_errors(outcome.errors),
        )

    @strawberry.mutation(
        description="Give a person a scoped role on one assessment or one regulation; a grant "
        "on the same scope takes the new role. Owners only."
    )
    async def grant_access(
        self, info: strawberry.Info, input: GrantAccessInput
    ) -> GrantAccessPayload:
        outcome = await people.grant_access(info, input)
        given = outcome.value
        return GrantAccessPayload(
            grant=Grant.of(given.grant) if given else None,
            user=User.from_row(given.user) if given else None,
            user_errors=user_errors(outcome.errors),
        )

    @strawberry.mutation(description="Remove a scoped grant. Owners only.")
    async def revoke_grant(
        self, info: strawberry.Info, input: RevokeGrantInput
    ) -> RevokeGrantPayload:
        outcome = await people.revoke_grant(info, input)
        return RevokeGrantPayload(
            user=User.from_row(outcome.value) if outcome.value else None,
            user_errors=user_errors(outcome.errors),
        )

    @strawberry.mutation(
        description="Make an API token for a person (an automation account, a script). The "
        "secret is in this reply only. Owners only."
    )
    async def create_api_token(
        self, info: strawberry.Info, input: CreateApiTokenInput
    ) -> CreateApiTokenPayload:
        outcome = await people.create_api_token(info, input)
        issued = outcome.value
        return CreateApiTokenPayload(
            token=ApiToken.from_row(issued.token) if issued else None,
            secret=issued.secret if issued else None,
            user_errors=user_errors(outcome.errors),
        )

    @strawberry.mutation(description="Revoke an API token at once. Owners only.")
    async def revoke_api_token(
        self, info: strawberry.Info, input: RevokeApiTokenInput
    ) -> RevokeApiTokenPayload:
        outcome = await people.revoke_api_token(info, input)
        return RevokeApiTokenPayload(
            token=ApiToken.from_row(outcome.value) if outcome.value else None,
            user_errors=user_errors(outcome.errors),
        )

    @strawberry.mutation(description="End one browser session of anyone. Owners only.")
    async def end_session(self, info: strawberry.Info, input: EndSessionInput) -> EndSessionPayload:
        outcome = await people.end_session(info, input)
        return EndSessionPayload(
            session=SignInSession.from_row(info, outcome.value) if outcome.value else None,
            user_errors=user_errors(outcome.errors),
        )

    @strawberry.mutation(description="End every open browser session of a person. Owners only.")
    async def end_sessions(
        self, info: strawberry.Info, input: EndSessionsInput
    ) -> EndSessionsPayload:
        outcome = await people.end_sessions(info, input)
        ended = outcome.value
        return EndSessionsPayload(
            user=User.from_row(ended.user) if ended else None,
            ended_count=ended.count if ended else None,
            user_errors=user_errors(outcome.errors),
        )
