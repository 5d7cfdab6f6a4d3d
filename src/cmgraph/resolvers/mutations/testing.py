"""Mutations: testing source, automation signals, organisation settings (DOMAIN.md section 5)."""

from __future__ import annotations

import strawberry

from cmgraph.adapters.db import UnitOfWork
from cmgraph.domain import testing_sources
from cmgraph.domain.models import Organisation as OrganisationRow
from cmgraph.domain.permissions import Principal
from cmgraph.resolvers.mutations.actions import read_actions
from cmgraph.resolvers.mutations.base import node_id, perform
from cmgraph.schema.mutations.testing import (
    Organisation,
    RecordAutomationResultInput,
    RecordAutomationResultPayload,
    SetTestingSourceInput,
    SetTestingSourcePayload,
    UpdateOrganisationSettingsInput,
    UpdateOrganisationSettingsPayload,
)
from cmgraph.schema.types import ImprovementAction


def organisation_of(row: OrganisationRow) -> Organisation:
    return Organisation(name=row.name, automatic_testing=row.automatic_testing)


@strawberry.type
class TestingMutations:
    __test__ = False  # not a pytest test class

    @strawberry.mutation(
        description="Choose where an action's testing comes from: MANUAL, AUTOMATIC or PARENT."
    )
    async def set_testing_source(
        self, info: strawberry.Info, input: SetTestingSourceInput
    ) -> SetTestingSourcePayload:
        async def work(uow: UnitOfWork, actor: Principal) -> list[ImprovementAction]:
            action_id = node_id(input.action_id, "ImprovementAction", "actionId")
            parent_id = (
                node_id(input.parent_id, "ImprovementAction", "parentId")
                if input.parent_id is not None
                else None
            )
            action = await testing_sources.set_testing_source(
                uow,
                actor,
                action_id,
                input.testing_source,
                parent_id=parent_id,
                expected_version=input.version,
            )
            return await read_actions(uow, actor, [action.id])

        outcome = await perform(info, work)
        actions = outcome.value or []
        return SetTestingSourcePayload(
            improvement_action=actions[0] if actions else None, user_errors=outcome.user_errors
        )

    @strawberry.mutation(description="Report a detected result. Automation service accounts only.")
    async def record_automation_result(
        self, info: strawberry.Info, input: RecordAutomationResultInput
    ) -> RecordAutomationResultPayload:
        async def work(uow: UnitOfWork, actor: Principal) -> list[ImprovementAction]:
            action = await testing_sources.record_automation_result(
                uow,
                actor,
                node_id(input.action_id, "ImprovementAction", "actionId"),
                input.implementation_status,
                input.test_status,
                input.fraction,
            )
            return await read_actions(uow, actor, [action.id])

        outcome = await perform(info, work)
        actions = outcome.value or []
        return RecordAutomationResultPayload(
            improvement_action=actions[0] if actions else None, user_errors=outcome.user_errors
        )

    @strawberry.mutation(description="Change organisation settings. Owners only.")
    async def update_organisation_settings(
        self, info: strawberry.Info, input: UpdateOrganisationSettingsInput
    ) -> UpdateOrganisationSettingsPayload:
        async def work(uow: UnitOfWork, actor: Principal) -> testing_sources.SettingsUpdate:
            return await testing_sources.update_organisation_settings(
                uow, actor, automatic_testing=input.automatic_testing
            )

        outcome = await perform(info, work)
        update = outcome.value
        return UpdateOrganisationSettingsPayload(
            organisation=organisation_of(update.organisation) if update else None,
            actions_switched=update.actions_switched if update else None,
            user_errors=outcome.user_errors,
        )
