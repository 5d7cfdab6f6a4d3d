"""Mutations: provider attestations."""

from __future__ import annotations

from datetime import date

import strawberry

from cmgraph.resolvers.mutations import provider_results
from cmgraph.schema.enums import ImplementationStatus, TestStatus
from cmgraph.schema.errors import UserError, user_errors
from cmgraph.schema.types import ImprovementAction


@strawberry.input(
    description="What the provider states for one of its actions. Fields left out stay as "
    "they are; null clears a date or a note. Checked by the rules of any change: not "
    "implemented with a passed test, or a date in the future, is refused."
)
class RecordProviderResultInput:
    action_id: strawberry.ID
    version: int | None = strawberry.field(
        default=None,
        description="The action's `version` as you last read it; a newer one gets CONFLICT. "
        "Left out: no check.",
    )
    implementation_status: ImplementationStatus | None = strawberry.UNSET
    implementation_date: date | None = strawberry.UNSET
    implementation_notes: str | None = strawberry.UNSET
    test_status: TestStatus | None = strawberry.UNSET
    test_date: date | None = strawberry.UNSET
    testing_notes: str | None = strawberry.UNSET


@strawberry.type
class RecordProviderResultPayload:
    improvement_action: ImprovementAction | None = strawberry.field(
        description="Null if the caller may not read the action."
    )
    user_errors: list[UserError]


@strawberry.type
class ProviderResultMutations:
    @strawberry.mutation(
        description="Record a provider action's result as the provider attests it (history "
        "source PROVIDER). Administrators and automation accounts only."
    )
    async def record_provider_result(
        self, info: strawberry.Info, input: RecordProviderResultInput
    ) -> RecordProviderResultPayload:
        outcome = await provider_results.record_provider_result(info, input)
        record = outcome.value
        return RecordProviderResultPayload(
            improvement_action=ImprovementAction.from_record(record) if record else None,
            user_errors=user_errors(outcome.errors),
        )
