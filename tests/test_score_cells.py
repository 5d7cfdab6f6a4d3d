"""The compliance score read from its kept sums (``score_cells``) answers exactly what a count
of the rows answers, through edits, due dates, archiving, deleting, creating and accepted
template updates (DOMAIN.md section 7)."""

from __future__ import annotations

import random
from datetime import timedelta

from cmgraph.domain import accounts, updates
from cmgraph.domain.assessments import (
    NewAssessment,
    archive_assessment,
    create_assessment,
    delete_assessment,
)
from cmgraph.domain.enums import ImplementationStatus, OrgRole, TestStatus
from cmgraph.domain.errors import DomainError
from cmgraph.domain.templates import import_template
from cmgraph.domain.workflow import change_action
from tests.builders import DAY, N1, P1, T1, T2, _template, worked_example
from tests.report_data import count_statements
from tests.stored_figures import cells_agree, scores_agree

ENTRY = "key label score { earned possible } overdueCount dueSoonCount retestDueCount"
SCORE = f"""query ($filter: ScoreFilter) {{ complianceScore(filter: $filter) {{
  overall {{ earned possible percent }} overdueCount dueSoonCount retestDueCount
  byAssessment {{ {ENTRY} }} byGroup {{ {ENTRY} }} byRegulation {{ {ENTRY} }}
  byCategory {{ {ENTRY} }} bySolution {{ {ENTRY} }} byOwner {{ {ENTRY} }}
  byActionType {{ {ENTRY} }} byImplementationStatus {{ {ENTRY} }} byTestStatus {{ {ENTRY} }}
  solutions {{ solution earned possible remainingActions }}
  technical: solutions(implementationTypes: [TECHNICAL]) {{ solution possible remainingActions }}
  contributions(first: 3) {{ action {{ id }} earned possible remaining }}
}} }}"""
FILTERS = [
    None,
    {"categories": ["Control access", "Govern information"]},
    {"solutions": ["Audit"]},
    {"owner": "CUSTOMER"},
    {"implementationTypes": ["DOCUMENTATION"]},
]
STATES = [
    {"implementation_status": ImplementationStatus.PLANNED},
    {"implementation_status": ImplementationStatus.NOT_IMPLEMENTED},
    {"implementation_status": ImplementationStatus.OUT_OF_SCOPE},
    {
        "implementation_status": ImplementationStatus.IMPLEMENTED,
        "implementation_date": DAY,
        "test_status": TestStatus.PASSED,
        "test_date": DAY,
    },
    {
        "implementation_status": ImplementationStatus.IMPLEMENTED,
        "implementation_date": DAY,
        "test_status": TestStatus.FAILED_LOW_RISK,
        "test_date": DAY,
    },
]


async def scoped_everywhere(uow) -> str:  # type: ignore[no-untyped-def]
    """A reader through grants on both regulations: the same assessments as the owner, but
    not an organisation role, so the score is counted from the rows."""
    async with uow() as u:
        user = await accounts.create_user(u, "auditor@example.test", "Auditor", None)
        regulations = {"Regulation X", "Regulation Y"}
        from sqlalchemy import select

        from cmgraph.domain.models import Regulation

        for regulation in await u.session.scalars(
            select(Regulation).where(Regulation.name.in_(regulations))
        ):
            await accounts.grant(u, user, OrgRole.READER, regulation_id=regulation.id)
        return (await accounts.create_token(u, user, "test")).secret


async def answers_agree(api, owner_token: str, rows_token: str) -> dict:  # type: ignore[no-untyped-def]
    for filter in FILTERS:
        kept = await api.query(SCORE, {"filter": filter}, token=owner_token)
        counted = await api.query(SCORE, {"filter": filter}, token=rows_token)
        assert kept == counted, filter
    return await api.query(SCORE, {"filter": None}, token=owner_token)


async def test_the_kept_sums_answer_as_the_rows_do(api, uow, owner, tokens) -> None:
    async with uow() as u:
        example = await worked_example(u, owner)
    auditor = await scoped_everywhere(uow)
    first = await answers_agree(api, tokens["READER"], auditor)
    assert first["complianceScore"]["overall"] == {
        "earned": 39.0,
        "possible": 43,
        "percent": 90.7,
    }
    chance = random.Random(7)
    customer = [a.id for name, a in example.actions.items() if name != "P1"]
    for step in range(12):
        changes = dict(chance.choice(STATES))
        if step % 3 == 0:  # due dates: one past (overdue while open), one soon
            changes["due_date"] = DAY + timedelta(days=chance.choice([1, 3, 60]))
        try:
            async with uow() as u:
                await change_action(u, owner, chance.choice(customer), changes, today=DAY)
        except DomainError:
            continue
    await scores_agree(uow)
    await answers_agree(api, tokens["READER"], auditor)

    async with uow() as u:  # a new version of X maps T2 to a new control of A1
        x2 = _template("x", "Regulation X", {"C1": (T1, N1), "C2": (T1, P1), "C5": (T2,)})
        await import_template(u, x2, source="test")
    async with uow() as u:
        await updates.accept_assessment_update(u, owner, example.a1.id)
    await scores_agree(uow)
    await answers_agree(api, tokens["READER"], auditor)

    async with uow() as u:
        await archive_assessment(u, owner, example.a3.id)
    await scores_agree(uow, live_only=True)
    archived = await answers_agree(api, tokens["READER"], auditor)
    names = {e["label"] for e in archived["complianceScore"]["byAssessment"]}
    assert names == {"A1", "A2"}

    async with uow() as u:
        y2 = _template("y2", "Regulation Y", {"C6": (N1, T2)})
        y = await import_template(u, y2, source="test")
        await create_assessment(u, owner, NewAssessment(y.template.id, "A4", new_group_name="G3"))
    async with uow() as u:
        await delete_assessment(u, owner, example.a2.id)
    await scores_agree(uow, live_only=True)
    final = await answers_agree(api, tokens["READER"], auditor)
    assert {e["label"] for e in final["complianceScore"]["byGroup"]} == {"G1", "G3"}


async def test_the_score_does_not_walk_the_controls(api, db, uow, owner, tokens) -> None:
    """Without due counts or contributions, the owner's score reads only the kept sums: no
    statement touches the links between controls and actions."""
    async with uow() as u:
        await worked_example(u, owner)
    query = """{ complianceScore { overall { earned possible }
        byAssessment { label score { possible } } byCategory { label score { possible } } } }"""
    with count_statements(db.engine) as statements:
        data = await api.query(query, token=tokens["READER"])
    assert data["complianceScore"]["overall"] == {"earned": 39.0, "possible": 43}
    # The organisation's cells (for byCategory, overall) and the assessments' totals.
    assert len([s for s in statements if "score_cell" in s]) == 1
    assert len([s for s in statements if "score_total" in s]) == 1
    assert not [s for s in statements if "control_action" in s]
    kept = await cells_agree(uow)
    assert kept  # and the sums it read are those a recount gives
