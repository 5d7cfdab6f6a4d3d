"""Mutations: assessments and groups (DOMAIN.md section 9)."""

from __future__ import annotations

from typing import Any

import strawberry

from cmgraph.adapters.db import UnitOfWork
from cmgraph.domain import assessments as service
from cmgraph.domain.models import Assessment as AssessmentRow
from cmgraph.domain.models import Group as GroupRow
from cmgraph.domain.permissions import Principal
from cmgraph.resolvers.mutations.base import Outcome, node_id, perform


def _optional_id(gid: str | None, type_name: str, field: str) -> int | None:
    return None if gid is None else node_id(gid, type_name, field)


async def create_assessment(info: strawberry.Info, input: Any) -> Outcome[AssessmentRow]:
    async def work(uow: UnitOfWork, actor: Principal) -> AssessmentRow:
        request = service.NewAssessment(
            template_id=node_id(input.template_id, "Template", "templateId"),
            name=input.name,
            group_id=_optional_id(input.group_id, "Group", "groupId"),
            new_group_name=input.new_group_name,
            copy_from_group_id=_optional_id(input.copy_from_group_id, "Group", "copyFromGroupId"),
        )
        return await service.create_assessment(uow, actor, request)

    return await perform(info, work)


async def rename_assessment(info: strawberry.Info, input: Any) -> Outcome[AssessmentRow]:
    return await perform(
        info,
        lambda uow, actor: service.rename_assessment(
            uow, actor, node_id(input.assessment_id, "Assessment", "assessmentId"), input.name
        ),
    )


async def rename_group(info: strawberry.Info, input: Any) -> Outcome[GroupRow]:
    return await perform(
        info,
        lambda uow, actor: service.rename_group(
            uow, actor, node_id(input.group_id, "Group", "groupId"), input.name
        ),
    )


async def archive_assessment(info: strawberry.Info, input: Any) -> Outcome[AssessmentRow]:
    return await perform(
        info,
        lambda uow, actor: service.archive_assessment(
            uow, actor, node_id(input.assessment_id, "Assessment", "assessmentId")
        ),
    )


async def delete_assessment(info: strawberry.Info, input: Any) -> Outcome[service.Deletion]:
    return await perform(
        info,
        lambda uow, actor: service.delete_assessment(
            uow, actor, node_id(input.assessment_id, "Assessment", "assessmentId")
        ),
    )
