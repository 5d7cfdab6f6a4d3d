"""Mutations: testing source, automation signals and organisation settings."""

from __future__ import annotations

import strawberry

from cmgraph.domain.models import Organisation as OrganisationRow
from cmgraph.resolvers.mutations import testing
from cmgraph.schema.enums import AutomaticTesting, ImplementationStatus, TestingSource, TestStatus
from cmgraph.schema.errors import UserError, user_errors
from cmgraph.schema.mutations.actions import VERSION_HELP
from cmgraph.schema.types import ImprovementAction, Organisation


@strawberry.input(
    description="MANUAL, AUTOMATIC (administrators; only where automatic testing is available) "
    "or PARENT (assessors; inherit implementation, testing and evidence from parentId)."
)
class SetTestingSourceInput:
    action_id: strawberry.ID
    version: int = strawberry.field(description=VERSION_HELP)
    testing_source: TestingSource
    parent_id: strawberry.ID | None = strawberry.field(
        default=None, description="The action to inherit from; required for PARENT only."
    )


@strawberry.type
class SetTestingSourcePayload:
    improvement_action: ImprovementAction | None
    user_errors: list[UserError]


@strawberry.input(description="What a detector found for an AUTOMATIC action.")
class RecordAutomationResultInput:
    action_id: strawberry.ID
    implementation_status: ImplementationStatus
    test_status: TestStatus
    fraction: float | None = strawberry.field(
        default=None, description="0..1, required with PARTIALLY_TESTED and only with it."
    )


@strawberry.type
class RecordAutomationResultPayload:
    improvement_action: ImprovementAction | None = strawberry.field(
        description="Null if the service account may not read the action."
    )
    user_errors: list[UserError]


@strawberry.input(description="Settings left out stay as they are.")
class UpdateOrganisationSettingsInput:
    automatic_testing: AutomaticTesting | None = None
    due_soon_days: int | None = strawberry.field(
        default=None, description="1 to 365: an open action is DUE_SOON this close to its due date."
    )
    retest_loses_points: bool | None = strawberry.field(
        default=None,
        description="true: a passed action due for retest earns nothing until retested (it "
        "applies at once, both ways).",
    )


@strawberry.type
class UpdateOrganisationSettingsPayload:
    organisation: Organisation | None
    actions_switched: int | None = strawberry.field(
        description="Actions whose testing source the new automatic-testing setting changed."
    )
    user_errors: list[UserError]


def organisation_of(row: OrganisationRow) -> Organisation:
    return Organisation.from_row(row)


@strawberry.type
class TestingMutations:
    __test__ = False  # not a pytest test class

    @strawberry.mutation(
        description="Choose where an action's testing comes from: MANUAL, AUTOMATIC or PARENT."
    )
    async def set_testing_source(
        self, info: strawberry.Info, input: SetTestingSourceInput
    ) -> SetTestingSourcePayload:
        outcome = await testing.set_testing_source(info, input)
        record = outcome.value
        return SetTestingSourcePayload(
            improvement_action=ImprovementAction.from_record(record) if record else None,
            user_errors=user_errors(outcome.errors),
        )

    @strawberry.mutation(description="Report a detected result. Automation service accounts only.")
    async def record_automation_result(
        self, info: strawberry.Info, input: RecordAutomationResultInput
    ) -> RecordAutomationResultPayload:
        outcome = await testing.record_automation_result(info, input)
        record = outcome.value
        return RecordAutomationResultPayload(
            improvement_action=ImprovementAction.from_record(record) if record else None,
            user_errors=user_errors(outcome.errors),
        )

    @strawberry.mutation(description="Change organisation settings. Owners only.")
    async def update_organisation_settings(
        self, info: strawberry.Info, input: UpdateOrganisationSettingsInput
    ) -> UpdateOrganisationSettingsPayload:
        outcome = await testing.update_organisation_settings(info, input)
        update = outcome.value
        return UpdateOrganisationSettingsPayload(
            organisation=organisation_of(update.organisation) if update else None,
            actions_switched=update.actions_switched if update else None,
            user_errors=user_errors(outcome.errors),
        )
