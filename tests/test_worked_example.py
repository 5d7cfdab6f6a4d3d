"""The DOMAIN.md section 7 worked example, built through services and read over GraphQL."""

from __future__ import annotations

from strawberry.relay import to_base64

from cmgraph.domain.enums import OrgRole
from tests.builders import worked_example

SCORES = """
query {
  assessments(orderBy: {field: NAME}) {
    nodes { name score { earned possible percent } status progress group { name } }
  }
  groups { nodes { name score { earned possible } } }
  complianceScore {
    overall { earned possible percent }
    byAssessment { label score { earned possible } }
    byRegulation { label score { earned possible } }
    byOwner { key score { earned possible } }
    byCategory { key score { earned possible } }
    solutions { solution earned possible remainingActions }
    contributions(first: 2) { action { title } remaining }
  }
}
"""


async def test_worked_example_scores(uow, owner, api, token_for) -> None:
    async with uow() as u:
        await worked_example(u, owner)
    token = await token_for("reader@example.test", OrgRole.READER)
    data = await api.query(SCORES, token=token)

    scores = {
        a["name"]: (a["score"]["earned"], a["score"]["possible"], a["score"]["percent"])
        for a in data["assessments"]["nodes"]
    }
    assert scores == {"A1": (39, 39, 100.0), "A2": (3, 4, 75.0), "A3": (27, 30, 90.0)}
    statuses = {a["name"]: (a["status"], a["progress"]) for a in data["assessments"]["nodes"]}
    assert statuses == {
        "A1": ("COMPLETE", 1.0),
        "A2": ("IN_PROGRESS", 0.0),
        "A3": ("IN_PROGRESS", 0.0),
    }

    overall = data["complianceScore"]["overall"]
    assert (overall["earned"], overall["possible"], overall["percent"]) == (39, 43, 90.7)

    groups = {
        g["name"]: (g["score"]["earned"], g["score"]["possible"]) for g in data["groups"]["nodes"]
    }
    # G1 holds A1 and A2: T1, N1@G1, P1 and T2 once each.
    assert groups == {"G1": (39, 40), "G2": (27, 30)}

    by = data["complianceScore"]
    assert {e["label"]: e["score"]["possible"] for e in by["byAssessment"]} == {
        "A1": 39,
        "A2": 4,
        "A3": 30,
    }
    # Regulation X holds A1 and A3 (T1 counted once); Y holds A2.
    assert {
        e["label"]: (e["score"]["earned"], e["score"]["possible"]) for e in by["byRegulation"]
    } == {
        "Regulation X": (39, 42),
        "Regulation Y": (3, 4),
    }
    assert {e["key"]: e["score"]["possible"] for e in by["byOwner"]} == {
        "CUSTOMER": 34,
        "PROVIDER": 9,
    }
    assert {e["key"]: e["score"]["possible"] for e in by["byCategory"]}["Govern information"] == 6
    assert {s["solution"]: s["remainingActions"] for s in by["solutions"]} == {
        "Audit": 1,
        "Identity": 0,
        "Platform": 0,
        "Policies": 1,
    }
    assert [c["remaining"] for c in by["contributions"]] == [3.0, 1.0]


async def test_filters_change_numerator_and_denominator(uow, owner, api, token_for) -> None:
    async with uow() as u:
        example = await worked_example(u, owner)
    token = await token_for("reader@example.test", OrgRole.READER)
    a2 = to_base64("Assessment", example.a2.id)
    data = await api.query(
        """query($ids: [ID!]) { complianceScore(filter: {assessmentIds: $ids, owner: CUSTOMER}) {
             overall { earned possible } } }""",
        {"ids": [a2]},
        token=token,
    )
    assert data["complianceScore"]["overall"] == {"earned": 3.0, "possible": 4}


async def test_archived_assessments_leave_the_overall_score(uow, owner, api, token_for, db) -> None:
    from cmgraph.domain.assessments import archive_assessment

    async with uow() as u:
        example = await worked_example(u, owner)
    async with uow() as u:
        await archive_assessment(u, owner, example.a3.id)
    token = await token_for("reader@example.test", OrgRole.READER)
    data = await api.query(
        """{ complianceScore { overall { earned possible } }
             assessments(filter: {archived: true}) { nodes { name score { possible } } } }""",
        token=token,
    )
    # Without A3 its own N1@G2 instance is gone: 39 of 40.
    assert data["complianceScore"]["overall"] == {"earned": 39.0, "possible": 40}
    assert data["assessments"]["nodes"] == [{"name": "A3", "score": {"possible": 30}}]


async def test_a_provider_attestation_moves_the_scores_as_section_7_says(
    uow, owner, api, token_for
) -> None:
    """P1 passes by the provider's word (recordProviderResult), not by anyone's own work."""
    async with uow() as u:
        example = await worked_example(u, owner, attest_p1=False)
    reader = await token_for("reader@example.test", OrgRole.READER)
    admin = await token_for("admin@example.test", OrgRole.ADMINISTRATOR)

    async def scores() -> dict[str, tuple[float, int]]:
        data = await api.query(SCORES, token=reader)
        found = {
            a["name"]: (a["score"]["earned"], a["score"]["possible"])
            for a in data["assessments"]["nodes"]
        }
        overall = data["complianceScore"]["overall"]
        return {**found, "overall": (overall["earned"], overall["possible"])}

    # Before the attestation P1 (9 points) counts only in possible.
    assert await scores() == {
        "A1": (30, 39),
        "A2": (3, 4),
        "A3": (27, 30),
        "overall": (30, 43),
    }
    data = await api.query(
        """mutation($input: RecordProviderResultInput!) {
             recordProviderResult(input: $input) {
               improvementAction { testStatus history { field source } }
               userErrors { code message } } }""",
        {
            "input": {
                "actionId": to_base64("ImprovementAction", example.actions["P1"].id),
                "implementationStatus": "IMPLEMENTED",
                "implementationDate": "2026-01-15",
                "testStatus": "PASSED",
                "testDate": "2026-01-15",
            }
        },
        token=admin,
    )
    result = data["recordProviderResult"]
    assert result["userErrors"] == []
    assert {h["source"] for h in result["improvementAction"]["history"]} == {"PROVIDER"}
    assert await scores() == {
        "A1": (39, 39),
        "A2": (3, 4),
        "A3": (27, 30),
        "overall": (39, 43),
    }
    overall = (await api.query(SCORES, token=reader))["complianceScore"]["overall"]
    assert overall["percent"] == 90.7
