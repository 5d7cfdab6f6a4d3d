"""Where instances come from and where they go: copy-from, the automation setting, removal."""

from __future__ import annotations

from sqlalchemy import select

from cmgraph.domain.assessments import NewAssessment, create_assessment, delete_assessment
from cmgraph.domain.enums import (
    AutomaticTesting,
    Enforcement,
    ImplementationType,
    Purpose,
    TestingSource,
)
from cmgraph.domain.models import HistoryEntry, ImprovementAction, Organisation
from cmgraph.domain.templates import ActionSpec, ControlSpec, TemplateSpec, import_template
from cmgraph.domain.testing_sources import set_testing_source
from tests.builders import worked_example

AUTO = ActionSpec(
    "inst:auto",
    "Automated check",
    ImplementationType.DOCUMENTATION,
    Enforcement.MANDATORY,
    Purpose.DETECTIVE,
    automatic_testing_available=True,
)
HAND = ActionSpec(
    "inst:hand",
    "Manual check",
    ImplementationType.DOCUMENTATION,
    Enforcement.MANDATORY,
    Purpose.DETECTIVE,
)


def _spec(key: str, actions: tuple[ActionSpec, ...]) -> TemplateSpec:
    return TemplateSpec(
        key=key,
        title=key,
        regulation="Instances",
        product="p",
        controls=(ControlSpec("C1", "F", "c", action_keys=tuple(a.key for a in actions)),),
        actions=actions,
    )


async def test_copy_from_group_writes_history_for_copied_values(uow, owner) -> None:
    async with uow() as u:
        example = await worked_example(u, owner)
        copy = await create_assessment(
            u,
            owner,
            NewAssessment(
                example.a2.template_id,
                "A2 copy",
                new_group_name="G3",
                copy_from_group_id=example.a1.group_id,
            ),
        )
        n1 = await u.session.scalar(
            select(ImprovementAction).where(
                ImprovementAction.group_id == copy.group_id,
                ImprovementAction.definition_id == example.actions["N1@G1"].definition_id,
            )
        )
        rows = {
            (h.field, h.new_value)
            for h in await u.session.scalars(
                select(HistoryEntry).where(HistoryEntry.action_id == n1.id)
            )
        }
    assert ("test_status", "PASSED") in rows
    assert ("implementation_status", "IMPLEMENTED") in rows
    assert ("implementation_date", "2026-01-15") in rows


async def test_new_instances_follow_on_for_all(uow, owner) -> None:
    async with uow() as u:
        (await u.session.get(Organisation, 1)).automatic_testing = AutomaticTesting.ON_FOR_ALL
        template = (await import_template(u, _spec("inst", (AUTO, HAND)), source="test")).template
        assessment = await create_assessment(
            u, owner, NewAssessment(template.id, "A", new_group_name="G")
        )
        sources = {
            a.definition_id: a.testing_source
            for a in await u.session.scalars(
                select(ImprovementAction).where(ImprovementAction.group_id == assessment.group_id)
            )
        }
    assert sorted(sources.values()) == [TestingSource.AUTOMATIC, TestingSource.MANUAL]


async def test_children_of_a_removed_parent_fall_back_to_manual_with_history(uow, owner) -> None:
    async with uow() as u:
        parent_template = (
            await import_template(u, _spec("parent", (AUTO,)), source="test")
        ).template
        child_template = (await import_template(u, _spec("child", (HAND,)), source="test")).template
        doomed = await create_assessment(
            u, owner, NewAssessment(parent_template.id, "Parent", new_group_name="P")
        )
        kept = await create_assessment(
            u, owner, NewAssessment(child_template.id, "Child", new_group_name="C")
        )
        parent = await u.session.scalar(
            select(ImprovementAction).where(ImprovementAction.group_id == doomed.group_id)
        )
        child = await u.session.scalar(
            select(ImprovementAction).where(ImprovementAction.group_id == kept.group_id)
        )
        await set_testing_source(u, owner, child.id, TestingSource.PARENT, parent_id=parent.id)
        child_id, version = child.id, child.version
    async with uow() as u:
        deletion = await delete_assessment(u, owner, doomed.id)
    assert deletion.actions_removed == 1
    async with uow() as u:
        child = await u.session.get(ImprovementAction, child_id)
        fields = [
            (h.field, h.old_value, h.new_value)
            for h in await u.session.scalars(
                select(HistoryEntry)
                .where(HistoryEntry.action_id == child_id)
                .order_by(HistoryEntry.id)
            )
        ]
    assert (child.testing_source, child.parent_id) == (TestingSource.MANUAL, None)
    assert child.version == version + 1
    assert ("testing_source", "PARENT", "MANUAL") in fields
