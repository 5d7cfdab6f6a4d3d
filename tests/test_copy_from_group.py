"""Copy from group (DOMAIN.md section 2) copies assignments too: assignee, notes, due date."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from cmgraph.domain import accounts, clock
from cmgraph.domain.assessments import NewAssessment, create_assessment
from cmgraph.domain.assignment import assign_actions
from cmgraph.domain.enums import OrgRole
from cmgraph.domain.models import User
from tests.builders import N1, T1, T2, _template

NOW = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)
DUE = date(2026, 6, 1)

ACTIONS = """{ improvementActions(first: 50) { nodes {
  key group { name } assignee { email } assignmentNotes dueDate implementationNotes
  history { field oldValue newValue source } } } }"""


@pytest.fixture(autouse=True)
def frozen_clock():
    clock.freeze(NOW)
    yield
    clock.reset()


async def _setup(uow, owner, assignee_role: OrgRole | None, **grant: Any) -> tuple[int, int]:
    """G1 holds A1 with N1 (one per group) assigned to Cleo; returns (template id, group id)."""
    async with uow() as u:
        imported = await import_one(u)
        a1 = await create_assessment(u, owner, NewAssessment(imported, "A1", new_group_name="G1"))
        cleo = await accounts.create_user(u, "cleo@copy.test", "Cleo", assignee_role)
        if grant:
            await accounts.grant(u, cleo, OrgRole.CONTRIBUTOR, assessment_id=a1.id)
        n1 = await _instance(u, "we:n1", a1.group_id)
        await assign_actions(
            u, owner, [n1], cleo.id, notes="Write the policy.", notify=False, due_date=DUE
        )
        return imported, a1.group_id


async def import_one(u) -> int:
    from cmgraph.domain.templates import import_template

    spec = _template("cp", "Regulation CP", {"C1": (T1, N1), "C2": (T2,)})
    return (await import_template(u, spec, source="test")).template.id


async def _instance(u, key: str, group_id: int) -> int:
    from sqlalchemy import select

    from cmgraph.domain.models import ActionDefinition, ImprovementAction

    return await u.session.scalar(
        select(ImprovementAction.id)
        .join(ActionDefinition, ActionDefinition.id == ImprovementAction.definition_id)
        .where(ActionDefinition.key == key, ImprovementAction.group_id == group_id)
    )


async def n1_of(api, token: str, group: str) -> dict[str, Any]:
    nodes = (await api.query(ACTIONS, token=token))["improvementActions"]["nodes"]
    return next(n for n in nodes if n["key"] == N1.key and n["group"]["name"] == group)


async def test_copy_from_group_copies_the_assignment_with_history(
    uow, api, owner, token_for
) -> None:
    template_id, g1 = await _setup(uow, owner, OrgRole.CONTRIBUTOR)
    async with uow() as u:
        await create_assessment(
            u, owner, NewAssessment(template_id, "A2", new_group_name="G2", copy_from_group_id=g1)
        )
        await create_assessment(u, owner, NewAssessment(template_id, "A3", new_group_name="G3"))
    reader = await token_for("reader@copy.test", OrgRole.READER)
    copied = await n1_of(api, reader, "G2")
    assert (copied["assignee"], copied["assignmentNotes"], copied["dueDate"]) == (
        {"email": "cleo@copy.test"},
        "Write the policy.",
        DUE.isoformat(),
    )
    assert {(h["field"], h["oldValue"], h["newValue"], h["source"]) for h in copied["history"]} >= {
        ("assignee", None, "cleo@copy.test", "USER"),
        ("assignment_notes", None, "Write the policy.", "USER"),
        ("due_date", None, DUE.isoformat(), "USER"),
    }
    fresh = await n1_of(api, reader, "G3")  # no copy asked for: a fresh start
    assert (fresh["assignee"], fresh["assignmentNotes"], fresh["dueDate"]) == (None, "", None)
    assert fresh["history"] == []


@pytest.mark.parametrize("case", ["grant on A1 only", "disabled"])
async def test_an_assignee_who_could_not_take_the_copy_is_left_out(
    uow, api, owner, token_for, case
) -> None:
    if case == "disabled":
        template_id, g1 = await _setup(uow, owner, OrgRole.CONTRIBUTOR)
        async with uow() as u:
            from sqlalchemy import update

            cleo = User.email == "cleo@copy.test"
            await u.session.execute(update(User).where(cleo).values(disabled_at=NOW))
    else:
        template_id, g1 = await _setup(uow, owner, None, grant=True)
    async with uow() as u:
        await create_assessment(
            u, owner, NewAssessment(template_id, "A2", new_group_name="G2", copy_from_group_id=g1)
        )
    reader = await token_for("reader@copy.test", OrgRole.READER)
    copied = await n1_of(api, reader, "G2")
    assert (copied["assignee"], copied["assignmentNotes"], copied["dueDate"]) == (None, "", None)
    assert not {h["field"] for h in copied["history"]} & {"assignee", "due_date"}
    assert (await n1_of(api, reader, "G1"))["assignee"] == {"email": "cleo@copy.test"}
