"""Nested fields read the same through every path: loaded ahead for a whole list of controls
or actions, or one by one through the loaders (``node``, ``nodes``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from strawberry.relay import to_base64

from cmgraph.domain.enums import OrgRole
from cmgraph.domain.models import Assessment
from tests.conftest import oscal_file
from tests.report_data import REPORT_QUERY, build_report_assessment

LOW = "NIST_SP-800-53_rev5_LOW-baseline-resolved-profile_catalog-min.json"

ACTION_FIELDS = """
fragment ActionFields on ImprovementAction {
  id key implementationStatus testStatus score { earned possible percent }
  assignee { name }
  evidence { id name uploadedBy { name } }
}
"""
CONTROL_FIELDS = (
    """
fragment ControlFields on Control {
  id key status score { earned possible percent }
  actions { ...ActionFields }
}
"""
    + ACTION_FIELDS
)


def _control(control: dict[str, Any]) -> dict[str, Any]:
    """The fields of CONTROL_FIELDS out of a report's control."""
    return {
        "id": control["id"],
        "key": control["key"],
        "status": control["status"],
        "score": control["score"],
        "actions": [_action(a) for a in control["actions"]],
    }


def _action(action: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": action["id"],
        "key": action["key"],
        "implementationStatus": action["implementationStatus"],
        "testStatus": action["testStatus"],
        "score": action["score"],
        "assignee": action["assignee"],
        "evidence": [
            {"id": e["id"], "name": e["name"], "uploadedBy": e["uploadedBy"]}
            for e in action["evidence"]
        ],
    }


def _nodes(query: str) -> str:
    """The selection set of the first ``nodes`` field of ``query``, braces included, and
    the braces that close around it."""
    start = query.index("{", query.index("nodes"))
    depth = 0
    for end, character in enumerate(query[start:], start):
        depth += {"{": 1, "}": -1}.get(character, 0)
        if depth == 0:
            return query[start : end + 1] + " } }"
    raise ValueError("unbalanced braces")


async def test_nested_fields_agree_whether_loaded_ahead_or_one_by_one(
    db, owner, api, token_for
) -> None:
    assessment_id = await build_report_assessment(
        db.sessions,
        owner,
        oscal_file(LOW),
        name="Paths",
        group="Paths group",
        states_every=4,
        evidence_every=2,
    )
    async with db.sessions() as session:
        group_id = await session.scalar(
            select(Assessment.group_id).where(Assessment.id == assessment_id)
        )
    token = await token_for("reader@example.test", OrgRole.READER)
    groups = {"groups": [to_base64("Group", group_id)]}

    [report] = (await api.query(REPORT_QUERY, groups, token=token))["assessments"]["nodes"]
    expected = [_control(c) for c in report["controls"]]
    assert any(a["evidence"] for c in expected for a in c["actions"])
    assert any(a["assignee"] for c in expected for a in c["actions"])

    # The whole report of the assessment one by one through the loaders (node), and its
    # status and progress without the controls (read on their own).
    [node] = (
        await api.query(
            "query($ids: [ID!]!) { nodes(ids: $ids) { ... on Assessment " + _nodes(REPORT_QUERY),
            {"ids": [report["id"]]},
            token=token,
        )
    )["nodes"]
    assert node == report
    for below in ("", "controls { key }"):
        [alone] = (
            await api.query(
                """query($groups: [ID!]) { assessments(first: 1, filter: {groupIds: $groups}) {
                     nodes { status progress """
                + below
                + " } } }",
                groups,
                token=token,
            )
        )["assessments"]["nodes"]
        assert alone["status"] == report["status"]
        assert alone["progress"] == report["progress"]

    # The same selection through fragment spreads and aliases, under the assessment.
    fragments = (
        await api.query(
            """query($groups: [ID!]) { assessments(first: 1, filter: {groupIds: $groups}) {
                 nodes { controls { ...ControlFields more: actions { key } } } } }"""
            + CONTROL_FIELDS,
            groups,
            token=token,
        )
    )["assessments"]["nodes"][0]["controls"]
    assert [{k: v for k, v in c.items() if k != "more"} for c in fragments] == expected
    assert [[a["key"] for a in c["more"]] for c in fragments] == [
        [a["key"] for a in c["actions"]] for c in expected
    ]

    # The controls connection (edges and nodes), one page.
    ids = {"ids": [to_base64("Assessment", assessment_id)]}
    page = (
        await api.query(
            """query($ids: [ID!]) { controls(filter: {assessmentIds: $ids}, first: 100) {
                 edges { node { ...ControlFields } } nodes { key } } }"""
            + CONTROL_FIELDS,
            ids,
            token=token,
        )
    )["controls"]
    assert [e["node"] for e in page["edges"]] == expected[:100]

    # One by one through the loaders: nodes(ids:) with an inline fragment.
    some = [c["id"] for c in expected[:20]]
    nodes = (
        await api.query(
            """query($ids: [ID!]!) { nodes(ids: $ids) { ... on Control {
                 id key status score { earned possible percent }
                 actions { ...ActionFields } } } }"""
            + ACTION_FIELDS,
            {"ids": some},
            token=token,
        )
    )["nodes"]
    assert nodes == expected[:20]

    # The actions connection, with a field skipped by a directive.
    action_ids = [a["id"] for c in expected for a in c["actions"]]
    shown = (
        await api.query(
            """query($ids: [ID!]) { improvementActions(
                 filter: {assessmentIds: $ids}, first: 100, orderBy: {field: KEY}) {
                 nodes { ...ActionFields testingNotes @skip(if: true) } } }"""
            + ACTION_FIELDS,
            ids,
            token=token,
        )
    )["improvementActions"]["nodes"]
    by_id = {a["id"]: a for c in expected for a in c["actions"]}
    assert len(shown) == 100
    assert all(a["id"] in action_ids for a in shown)
    assert shown == [by_id[a["id"]] for a in shown]
