"""Inputs and payloads: testing source, automation signals and organisation settings."""

from __future__ import annotations

import strawberry

from cmgraph.schema.enums import AutomaticTesting, ImplementationStatus, TestingSource, TestStatus
from cmgraph.schema.errors import UserError
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


@strawberry.type
class UpdateOrganisationSettingsPayload:
    organisation: Organisation | None
    actions_switched: int | None = strawberry.field(
        description="Actions whose testing source the new automatic-testing setting changed."
    )
    user_errors: list[UserError]
