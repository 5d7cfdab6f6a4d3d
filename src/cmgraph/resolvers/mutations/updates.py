"""Mutations: accepting definition and template updates (DOMAIN.md sections 9 and 10)."""

from __future__ import annotations

import strawberry

from cmgraph.adapters.db import UnitOfWork
from cmgraph.domain import updates as service
from cmgraph.domain.permissions import Principal
from cmgraph.resolvers.mutations.actions import read_actions
from cmgraph.resolvers.mutations.base import node_id, perform
from cmgraph.schema.mutations.updates import (
    AcceptActionUpdateInput,
    AcceptActionUpdatePayload,
    AcceptAllActionUpdatesInput,
    AcceptAllActionUpdatesPayload,
    AcceptAssessmentUpdateInput,
    AcceptAssessmentUpdatePayload,
    ScoreImpact,
    TemplateUpdateChanges,
)
from cmgraph.schema.types import Assessment, ImprovementAction, Score


@strawberry.type
class UpdateMutations:
    @strawberry.mutation(
        description="Move an action to its definition's latest version (administrators). "
        "Points may change, and with them the scores of every assessment holding it."
    )
    async def accept_action_update(
        self, info: strawberry.Info, input: AcceptActionUpdateInput
    ) -> AcceptActionUpdatePayload:
        async def work(
            uow: UnitOfWork, actor: Principal
        ) -> tuple[service.AcceptedActions, list[ImprovementAction]]:
            accepted = await service.accept_action_update(
                uow, actor, node_id(input.action_id, "ImprovementAction", "actionId")
            )
            return accepted, await read_actions(uow, actor, accepted.action_ids)

        outcome = await perform(info, work)
        if outcome.value is None:
            return AcceptActionUpdatePayload(
                improvement_action=None,
                from_version=None,
                to_version=None,
                score_impact=None,
                user_errors=outcome.user_errors,
            )
        accepted, actions = outcome.value
        [action_id] = accepted.action_ids
        from_version, to_version = accepted.versions[action_id]
        return AcceptActionUpdatePayload(
            improvement_action=actions[0] if actions else None,
            from_version=from_version,
            to_version=to_version,
            score_impact=ScoreImpact.of(accepted.impact),
            user_errors=[],
        )

    @strawberry.mutation(
        description="Accept every pending action update at once (administrators); reports "
        "how many and how the scores moved."
    )
    async def accept_all_action_updates(
        self, info: strawberry.Info, input: AcceptAllActionUpdatesInput
    ) -> AcceptAllActionUpdatesPayload:
        async def work(uow: UnitOfWork, actor: Principal) -> service.AcceptedActions:
            ids = (
                None
                if input.assessment_ids is None
                else [node_id(g, "Assessment", "assessmentIds") for g in input.assessment_ids]
            )
            return await service.accept_all_action_updates(uow, actor, ids)

        outcome = await perform(info, work)
        accepted = outcome.value
        return AcceptAllActionUpdatesPayload(
            accepted_count=accepted.accepted_count if accepted else None,
            score_impact=ScoreImpact.of(accepted.impact) if accepted else None,
            user_errors=outcome.user_errors,
        )

    @strawberry.mutation(
        description="Move an active assessment to its template's latest version "
        "(administrators): controls and mappings added, removed and re-worded."
    )
    async def accept_assessment_update(
        self, info: strawberry.Info, input: AcceptAssessmentUpdateInput
    ) -> AcceptAssessmentUpdatePayload:
        outcome = await perform(
            info,
            lambda uow, actor: service.accept_assessment_update(
                uow, actor, node_id(input.assessment_id, "Assessment", "assessmentId")
            ),
        )
        accepted = outcome.value
        if accepted is None:
            return AcceptAssessmentUpdatePayload(
                assessment=None,
                applied=None,
                actions_created=None,
                actions_removed=None,
                score_before=None,
                score_after=None,
                user_errors=outcome.user_errors,
            )
        return AcceptAssessmentUpdatePayload(
            assessment=Assessment.from_row(accepted.assessment),
            applied=TemplateUpdateChanges.of(accepted.applied),
            actions_created=accepted.actions_created,
            actions_removed=accepted.actions_removed,
            score_before=Score.of(accepted.before),
            score_after=Score.of(accepted.after),
            user_errors=[],
        )
