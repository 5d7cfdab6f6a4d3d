"""The views and filters the seeds name (issue 13, point 5): passed actions hidden, sort by
category, score breakdowns by action type and status, the solutions summary by action type,
controls by assignee, status, test result, keys and families, and a Regulation column in
the actions export that the import still reads."""

from __future__ import annotations

import io
from typing import Any
from urllib.parse import urlsplit

import pytest
from openpyxl import load_workbook
from sqlalchemy import select
from strawberry.relay import to_base64

from cmgraph.domain import accounts
from cmgraph.domain.assessments import NewAssessment, create_assessment
from cmgraph.domain.assignment import assign_actions
from cmgraph.domain.enums import (
    Enforcement,
    ImplementationStatus,
    ImplementationType,
    OrgRole,
    Purpose,
    TestStatus,
)
from cmgraph.domain.models import ActionDefinition, ImprovementAction
from cmgraph.domain.templates import ActionSpec, ControlSpec, TemplateSpec, import_template
from cmgraph.domain.workflow import change_action
from tests.builders import DAY, WorkedExample, worked_example
from tests.exchange.test_action_import import Sheet, imported

Q1 = ActionSpec(
    "z:q1",
    "Q1",
    ImplementationType.DOCUMENTATION,
    Enforcement.MANDATORY,
    Purpose.PREVENTATIVE,
    category="Govern information",
    solution="Policies",
)
Q2 = ActionSpec(
    "z:q2",
    "Q2",
    ImplementationType.OPERATIONAL,
    Enforcement.DISCRETIONARY,
    Purpose.CORRECTIVE,
    category="Discover and respond",
    solution="Audit",
)


def gid(kind: str, row_id: int) -> str:
    return to_base64(kind, row_id)


@pytest.fixture
async def example(uow, owner) -> WorkedExample:
    async with uow() as u:
        return await worked_example(u, owner)


@pytest.fixture
async def reader(token_for) -> str:
    return await token_for("reader@example.test", OrgRole.READER)


# -- improvement actions: passed hidden, sorted by category ----------------------------------------

NAMES = """query($filter: ImprovementActionFilter, $orderBy: ImprovementActionOrder,
                 $first: Int, $after: String) {
  improvementActions(filter: $filter, orderBy: $orderBy, first: $first, after: $after) {
    totalCount
    nodes { title category testStatus group { name } }
    pageInfo { hasNextPage endCursor }
  }
}"""


def name(node: dict[str, Any]) -> str:
    return node["title"] + (f"@{node['group']['name']}" if node["group"] else "")


async def listed(api, token: str, filter: Any = None, order: Any = None) -> list[str]:
    data = await api.query(NAMES, {"filter": filter, "orderBy": order}, token=token)
    return [name(n) for n in data["improvementActions"]["nodes"]]


async def test_passed_actions_can_be_left_out(api, example, reader) -> None:
    assert await listed(api, reader, {"excludeTestStatuses": ["PASSED"]}) == ["N1@G2", "T2"]
    # AND with the other fields; several statuses left out at once.
    assert await listed(api, reader, {"excludeTestStatuses": ["PASSED"], "groupIds": []}) == []
    only_t2 = {"excludeTestStatuses": ["PASSED", "NONE"], "testStatuses": ["NONE", "PASSED"]}
    assert await listed(api, reader, only_t2) == []
    some = {"excludeTestStatuses": ["PASSED"], "implementationTypes": ["TECHNICAL"]}
    assert await listed(api, reader, some) == ["T2"]
    # An empty list leaves nothing out.
    assert len(await listed(api, reader, {"excludeTestStatuses": []})) == 5

    # The export takes the same filter.
    data = await api.query(
        "query($f: ImprovementActionFilter) { improvementActionsExport(filter: $f) { url } }",
        {"f": {"excludeTestStatuses": ["PASSED"]}},
        token=reader,
    )
    url = urlsplit(data["improvementActionsExport"]["url"])
    sheet = Sheet((await api.client.get(f"{url.path}?{url.query}")).content, example)
    assert sorted(sheet.ids[row[0]] for row in sheet.rows) == ["N1@G2", "T2"]


async def test_actions_sort_by_category_across_pages(api, example, reader) -> None:
    ascending = await listed(api, reader, order={"field": "CATEGORY"})
    # Control access, Discover and respond, Govern information (twice), Protect information.
    assert ascending[:2] == ["T1", "T2"] and ascending[4] == "P1"
    assert sorted(ascending[2:4]) == ["N1@G1", "N1@G2"]
    descending = await listed(api, reader, order={"field": "CATEGORY", "direction": "DESC"})
    assert descending == list(reversed(ascending))  # ties follow the direction too

    pages, after = [], None
    while True:
        data = await api.query(
            NAMES,
            {"orderBy": {"field": "CATEGORY"}, "first": 2, "after": after},
            token=reader,
        )
        page = data["improvementActions"]
        pages.extend(name(n) for n in page["nodes"])
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert pages == ascending


# -- score breakdowns and the solutions summary -------------------------------------------------------

BREAKDOWNS = """query($filter: ScoreFilter, $types: [ImplementationType!]) {
  complianceScore(filter: $filter) {
    overall { earned possible }
    byActionType { key label score { earned possible } }
    byImplementationStatus { key score { earned possible } }
    byTestStatus { key score { earned possible } }
    solutions(implementationTypes: $types) { solution earned possible remainingActions }
    all: solutions { solution }
  }
}"""


def by(entries: list[dict[str, Any]]) -> dict[str, tuple[float, int]]:
    return {e["key"]: (e["score"]["earned"], e["score"]["possible"]) for e in entries}


async def test_score_by_action_type_and_status(api, uow, owner, example, reader) -> None:
    data = (await api.query(BREAKDOWNS, {}, token=reader))["complianceScore"]
    # Each instance once per key: T1 27, T2 1, P1 9 (technical); N1 in G1 and G2, 3 each.
    assert by(data["byActionType"]) == {"TECHNICAL": (36, 37), "DOCUMENTATION": (3, 6)}
    assert {e["label"] for e in data["byActionType"]} == {"TECHNICAL", "DOCUMENTATION"}
    assert by(data["byImplementationStatus"]) == {
        "IMPLEMENTED": (39, 39),
        "NOT_IMPLEMENTED": (0, 4),
    }
    assert by(data["byTestStatus"]) == {"PASSED": (39, 39), "NONE": (0, 4)}

    # A filter narrows numerator and denominator alike.
    documentation = {"implementationTypes": ["DOCUMENTATION"]}
    filtered = await api.query(BREAKDOWNS, {"filter": documentation}, token=reader)
    assert filtered["complianceScore"]["overall"] == {"earned": 3.0, "possible": 6}
    assert by(filtered["complianceScore"]["byActionType"]) == {"DOCUMENTATION": (3, 6)}

    # T2 fails: its points move to FAILED_HIGH_RISK, still possible, not earned.
    async with uow() as u:
        changes = {
            "implementation_status": ImplementationStatus.IMPLEMENTED,
            "implementation_date": DAY,
            "test_status": TestStatus.FAILED_HIGH_RISK,
            "test_date": DAY,
        }
        await change_action(u, owner, example.actions["T2"].id, changes)
    data = (await api.query(BREAKDOWNS, {}, token=reader))["complianceScore"]
    assert by(data["byTestStatus"]) == {
        "PASSED": (39, 39),
        "NONE": (0, 3),
        "FAILED_HIGH_RISK": (0, 1),
    }


async def test_the_solutions_summary_by_action_type(api, example, reader) -> None:
    technical = await api.query(BREAKDOWNS, {"types": ["TECHNICAL"]}, token=reader)
    summary = technical["complianceScore"]
    assert summary["solutions"] == [
        {"solution": "Audit", "earned": 0.0, "possible": 1, "remainingActions": 1},
        {"solution": "Identity", "earned": 27.0, "possible": 27, "remainingActions": 0},
        {"solution": "Platform", "earned": 9.0, "possible": 9, "remainingActions": 0},
    ]
    # The summary's argument narrows it alone; the same score without it lists every solution.
    assert [s["solution"] for s in summary["all"]] == ["Audit", "Identity", "Platform", "Policies"]
    documentation = await api.query(BREAKDOWNS, {"types": ["DOCUMENTATION"]}, token=reader)
    assert documentation["complianceScore"]["solutions"] == [
        {"solution": "Policies", "earned": 3.0, "possible": 6, "remainingActions": 1}
    ]
    none = await api.query(BREAKDOWNS, {"types": ["OPERATIONAL"]}, token=reader)
    assert none["complianceScore"]["solutions"] == []


# -- controls by assignee, status, test result, keys and families ---------------------------------------

CONTROLS = """query($filter: ControlFilter) {
  controls(filter: $filter, first: 100) { totalCount nodes { key family status } }
}"""


@pytest.fixture
async def controls_world(uow, owner, example) -> dict[str, Any]:
    """The worked example with every control status, plus a regulation with articles.

    C1 {T1, N1@G1} PASSED, C2 {T1, P1} PASSED, C3 {N1@G1, T2} FAILED (T2 failed),
    C4 {T1, N1@G2} IN_PROGRESS; in Z: D1 {Q1} NONE, D2 {Q2} OUT_OF_SCOPE.
    Rita is assigned N1@G1 (in C1 and C3).
    """
    async with uow() as u:
        z = await import_template(
            u,
            TemplateSpec(
                key="z",
                title="Z",
                regulation="Regulation Z",
                product="Worked example",
                controls=(
                    ControlSpec("D1", "Art. 5", "Principles", action_keys=(Q1.key,)),
                    ControlSpec("D2", "Art. 32", "Security", action_keys=(Q2.key,)),
                ),
                actions=(Q1, Q2),
            ),
            source="test",
        )
        a4 = await create_assessment(
            u, owner, NewAssessment(z.template.id, "A4", new_group_name="G3")
        )
        q2 = await u.session.scalar(
            select(ImprovementAction.id)
            .join(ActionDefinition, ActionDefinition.id == ImprovementAction.definition_id)
            .where(ActionDefinition.key == Q2.key)
        )
        out = {"implementation_status": ImplementationStatus.OUT_OF_SCOPE}
        await change_action(u, owner, q2, out)
        failed = {
            "implementation_status": ImplementationStatus.IMPLEMENTED,
            "implementation_date": DAY,
            "test_status": TestStatus.FAILED_LOW_RISK,
            "test_date": DAY,
        }
        await change_action(u, owner, example.actions["T2"].id, failed)
        rita = await accounts.create_user(u, "rita@example.test", "Rita", OrgRole.CONTRIBUTOR)
        await assign_actions(u, owner, [example.actions["N1@G1"].id], rita.id, notify=False)
    return {"rita": gid("User", rita.id), "A1": gid("Assessment", example.a1.id), "A4": a4.id}


async def keys(api, token: str, **filter: Any) -> list[str]:
    data = await api.query(CONTROLS, {"filter": filter}, token=token)
    return sorted(c["key"] for c in data["controls"]["nodes"])


async def test_controls_by_status_agree_with_their_shown_status(
    api, controls_world, reader
) -> None:
    everything = (await api.query(CONTROLS, {}, token=reader))["controls"]["nodes"]
    shown = {c["key"]: c["status"] for c in everything}
    assert shown == {
        "C1": "PASSED",
        "C2": "PASSED",
        "C3": "FAILED",
        "C4": "IN_PROGRESS",
        "D1": "NONE",
        "D2": "OUT_OF_SCOPE",
    }
    for status in ("PASSED", "FAILED", "IN_PROGRESS", "NONE", "OUT_OF_SCOPE"):
        expected = sorted(k for k, s in shown.items() if s == status)
        assert await keys(api, reader, statuses=[status]) == expected, status
    assert await keys(api, reader, statuses=["FAILED", "NONE"]) == ["C3", "D1"]  # OR
    assert await keys(api, reader, statuses=[]) == []


async def test_controls_by_assignee_test_result_keys_and_families(
    api, controls_world, reader
) -> None:
    rita, a1 = controls_world["rita"], controls_world["A1"]
    assert await keys(api, reader, assigneeIds=[rita]) == ["C1", "C3"]
    assert await keys(api, reader, testStatuses=["FAILED_LOW_RISK"]) == ["C3"]
    assert await keys(api, reader, testStatuses=["FAILED_LOW_RISK", "OUT_OF_SCOPE"]) == ["C3", "D2"]
    assert await keys(api, reader, testStatuses=["PASSED"]) == ["C1", "C2", "C3", "C4"]
    assert await keys(api, reader, keys=["C1", "C3", "nope"]) == ["C1", "C3"]
    assert await keys(api, reader, families=["Art. 5", "Art. 32"]) == ["D1", "D2"]

    # AND across fields.
    assert await keys(api, reader, keys=["C1", "C3"], assessmentIds=[a1]) == ["C1"]
    assert await keys(api, reader, assigneeIds=[rita], statuses=["FAILED"]) == ["C3"]
    assert await keys(api, reader, assigneeIds=[rita], testStatuses=["PASSED"], keys=["C1"]) == [
        "C1"
    ]
    assert await keys(api, reader, families=["Art. 5"], statuses=["OUT_OF_SCOPE"]) == []


async def test_controls_of_an_assessment_by_status(api, controls_world, reader) -> None:
    """With ``assessmentIds`` the status is that of the assessment's own controls."""
    a1 = controls_world["A1"]
    assert await keys(api, reader, assessmentIds=[a1], statuses=["PASSED"]) == ["C1", "C2"]
    assert await keys(api, reader, assessmentIds=[a1], statuses=["FAILED"]) == []


# -- the Regulation column of the actions export ------------------------------------------------------


async def test_the_actions_export_names_regulations_and_imports_back(
    api, example, token_for
) -> None:
    assessor = await token_for("assessor@example.test", OrgRole.ASSESSOR)
    data = await api.query("{ improvementActionsExport { url } }", token=assessor)
    url = urlsplit(data["improvementActionsExport"]["url"])
    content = (await api.client.get(f"{url.path}?{url.query}")).content
    sheet = load_workbook(io.BytesIO(content))["Improvement actions"]
    values = list(sheet.iter_rows(values_only=True))
    header = list(values[0])
    assert header.index("Regulation") == header.index("Assessments") + 1
    table = Sheet(content, example)
    regulation = {table.ids[row[0]]: row[header.index("Regulation")] for row in table.rows}
    assert regulation == {
        "T1": "Regulation X",  # A1 and A3, one regulation, named once
        "T2": "Regulation Y",
        "P1": "Regulation X",
        "N1@G1": "Regulation X; Regulation Y",  # A1 and A2
        "N1@G2": "Regulation X",
    }

    # Read-only on import: a changed Regulation cell is ignored, the real edit applies.
    table.set("T2", Regulation="Something else", Implementation_status="PLANNED")
    result = await imported(api, assessor, table.save())
    assert result["rowErrors"] == []
    assert result["summary"]["actionsChanged"] == 1
