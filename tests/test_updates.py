"""Pending updates: re-imports mark instances and assessments, administrators accept them."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from strawberry.relay import to_base64

from cmgraph.cli import _report_import
from cmgraph.domain import updates
from cmgraph.domain.assessments import NewAssessment, create_assessment
from cmgraph.domain.enums import (
    ChangeSource,
    Enforcement,
    EventType,
    ImplementationType,
    OrgRole,
    Purpose,
)
from cmgraph.domain.errors import DomainError, ErrorCode
from cmgraph.domain.models import (
    ActionDefinition,
    Assessment,
    Control,
    Event,
    HistoryEntry,
    ImprovementAction,
    TemplateControl,
    TemplateVersion,
)
from cmgraph.domain.templates import ActionSpec, ControlSpec, TemplateSpec, import_template
from cmgraph.exchange.oscal_catalog import import_catalog
from tests import stored_figures
from tests.builders import N1, P1, T1, T2, _template, worked_example
from tests.conftest import oscal_file
from tests.report_data import count_statements

LOW = "NIST_SP-800-53_rev5_LOW-baseline-resolved-profile_catalog-min.json"

# The worked example's templates (tests/builders.py), to re-import with changes.
X = {"C1": (T1, N1), "C2": (T1, P1)}
Y = {"C3": (N1, T2)}
Z = {"C4": (T1, N1)}
T1_20 = dataclasses.replace(T1, points=20, guidance="Turn on MFA for every account.")
N1_5 = dataclasses.replace(N1, points=5)
X1 = ActionSpec(
    "we:x1", "X1", ImplementationType.TECHNICAL, Enforcement.MANDATORY, Purpose.CORRECTIVE
)

ACTIONS = """
query {
  improvementActions(first: 100, orderBy: {field: KEY}) {
    nodes { id key points pendingUpdate group { name }
            pendingUpdateChanges { field currentValue newValue } }
  }
}"""

ASSESSMENTS = """
query {
  assessments(orderBy: {field: NAME}) {
    nodes {
      name templateVersion pendingUpdate score { earned possible }
      pendingUpdateChanges {
        fromVersion toVersion controlsAdded controlsRemoved controlsChanged
        controlsAddedCount controlsRemovedCount controlsChangedCount
        mappingsAddedCount mappingsRemovedCount
        mappingsAdded { controlKey actionKey } mappingsRemoved { controlKey actionKey }
      }
      controls { key title actions { id key points pendingUpdate } }
    }
  }
}"""

IMPACT = """scoreImpact {
  overallBefore { earned possible } overallAfter { earned possible }
  assessments { assessment { name } before { earned possible } after { earned possible } }
}"""

ACCEPT_ACTION = f"""
mutation($input: AcceptActionUpdateInput!) {{
  acceptActionUpdate(input: $input) {{
    improvementAction {{ id points pendingUpdate pendingUpdateChanges {{ field }}
                         score {{ earned possible }} }}
    fromVersion toVersion
    {IMPACT}
    userErrors {{ field code message }}
  }}
}}"""

ACCEPT_ALL = f"""
mutation($input: AcceptAllActionUpdatesInput!) {{
  acceptAllActionUpdates(input: $input) {{
    acceptedCount
    {IMPACT}
    userErrors {{ field code message }}
  }}
}}"""

ACCEPT_ASSESSMENT = """
mutation($input: AcceptAssessmentUpdateInput!) {
  acceptAssessmentUpdate(input: $input) {
    assessment { name pendingUpdate templateVersion }
    applied { fromVersion toVersion controlsAdded controlsRemoved controlsChanged
              mappingsAddedCount mappingsRemovedCount }
    actionsCreated actionsRemoved
    scoreBefore { earned possible } scoreAfter { earned possible }
    userErrors { field code message }
  }
}"""


def gid(type_name: str, row_id: int) -> str:
    return to_base64(type_name, row_id)


def score(earned: float, possible: int) -> dict[str, Any]:
    return {"earned": earned, "possible": possible}


@pytest.fixture
async def example(uow, owner):
    async with uow() as u:
        return await worked_example(u, owner)


@pytest.fixture
async def people(token_for) -> dict[str, str]:
    return {
        role.value: await token_for(f"{role.value.lower()}@staff.test", role) for role in OrgRole
    }


async def reimport(uow, key: str, regulation: str, controls: dict[str, tuple[ActionSpec, ...]]):
    async with uow() as u:
        return await import_template(u, _template(key, regulation, controls), source="test")


async def events(db, kind: EventType) -> list[Event]:
    async with db.sessions() as session:
        return list(
            await session.scalars(select(Event).where(Event.type == kind.value).order_by(Event.id))
        )


async def totals(db) -> tuple[int, int]:
    async with db.sessions() as session:
        history = await session.scalar(select(func.count()).select_from(HistoryEntry))
        count = await session.scalar(select(func.count()).select_from(Event))
    return history, count


async def scores_agree(uow) -> None:  # type: ignore[no-untyped-def]
    await stored_figures.scores_agree(uow, live_only=True)


def by_key(data: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Action nodes by definition key (a non-technical key has one node per group)."""
    result: dict[str, list[dict[str, Any]]] = {}
    for node in data["improvementActions"]["nodes"]:
        result.setdefault(node["key"], []).append(node)
    return result


def assessments_by_name(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {a["name"]: a for a in data["assessments"]["nodes"]}


# -- announcing ------------------------------------------------------------------------------


async def test_identical_reimport_marks_nothing(api, db, uow, example, people) -> None:
    before = await totals(db)
    for key, regulation, controls in (
        ("x", "Regulation X", X),
        ("y", "Regulation Y", Y),
        ("z", "Regulation X", Z),
    ):
        result = await reimport(uow, key, regulation, controls)
        assert not result.version_created
        assert (result.actions_pending_update, result.assessments_pending_update) == (0, 0)
    assert await totals(db) == before

    actions = await api.query(ACTIONS, token=people["READER"])
    assert all(
        (n["pendingUpdate"], n["pendingUpdateChanges"]) == (False, [])
        for n in actions["improvementActions"]["nodes"]
    )
    assessments = await api.query(ASSESSMENTS, token=people["READER"])
    assert all(
        (a["pendingUpdate"], a["pendingUpdateChanges"]) == (False, None)
        for a in assessments["assessments"]["nodes"]
    )


async def test_changed_points_mark_instances_pending_with_their_changes(
    api, db, example, uow, people
) -> None:
    result = await reimport(uow, "x", "Regulation X", {"C1": (T1_20, N1_5), "C2": (T1_20, P1)})
    # Same controls and mappings: the definitions have new versions, the template does not.
    assert not result.version_created
    assert result.definitions_updated == 2
    assert (result.actions_pending_update, result.assessments_pending_update) == (3, 0)

    data = by_key(await api.query(ACTIONS, token=people["READER"]))
    [t1] = data["we:t1"]
    assert (t1["pendingUpdate"], t1["points"]) == (True, 27)
    assert t1["pendingUpdateChanges"] == [
        {"field": "POINTS", "currentValue": "27", "newValue": "20"},
        {"field": "GUIDANCE", "currentValue": "", "newValue": "Turn on MFA for every account."},
    ]
    assert sorted(n["group"]["name"] for n in data["we:n1"]) == ["G1", "G2"]
    for n1 in data["we:n1"]:
        assert n1["pendingUpdate"]
        assert n1["pendingUpdateChanges"] == [
            {"field": "POINTS", "currentValue": "3", "newValue": "5"}
        ]
    for key in ("we:t2", "we:p1"):
        assert [(n["pendingUpdate"], n["pendingUpdateChanges"]) for n in data[key]] == [(False, [])]

    announced = await events(db, EventType.UPDATE_AVAILABLE)
    assert len(announced) == 3
    t1_event = next(e for e in announced if e.action_id == example.actions["T1"].id)
    assert t1_event.payload == {
        "kind": "ACTION_DEFINITION",
        "definitionKey": "we:t1",
        "fromVersion": 1,
        "toVersion": 2,
        "assessmentIds": [example.a1.id, example.a3.id],
        "changes": [{"field": "POINTS", "from": "27", "to": "20"}, {"field": "GUIDANCE"}],
    }
    n1_g2 = next(e for e in announced if e.action_id == example.actions["N1@G2"].id)
    assert n1_g2.payload["assessmentIds"] == [example.a3.id]

    # The same content again publishes nothing and announces nothing twice.
    again = await reimport(uow, "x", "Regulation X", {"C1": (T1_20, N1_5), "C2": (T1_20, P1)})
    assert (again.definitions_updated, again.actions_pending_update) == (0, 0)
    assert len(await events(db, EventType.UPDATE_AVAILABLE)) == 3


async def test_cli_reports_pending_updates(uow, example, capsys) -> None:
    _report_import(await reimport(uow, "x", "Regulation X", {"C1": (T1_20, N1), "C2": (T1_20, P1)}))
    out = capsys.readouterr().out
    assert "unchanged at version 1" in out
    assert "pending updates: 1 improvement actions, 0 assessments" in out


# -- accepting one action --------------------------------------------------------------------


async def test_accepting_a_technical_action_applies_organisation_wide(
    api, db, uow, example, people
) -> None:
    await reimport(uow, "x", "Regulation X", {"C1": (T1_20, N1), "C2": (T1_20, P1)})
    t1 = example.actions["T1"]
    data = await api.query(
        ACCEPT_ACTION,
        {"input": {"actionId": gid("ImprovementAction", t1.id)}},
        token=people["ADMINISTRATOR"],
    )
    payload = data["acceptActionUpdate"]
    assert payload["userErrors"] == []
    assert payload["improvementAction"] == {
        "id": gid("ImprovementAction", t1.id),
        "points": 20,
        "pendingUpdate": False,
        "pendingUpdateChanges": [],
        "score": score(20, 20),
    }
    assert (payload["fromVersion"], payload["toVersion"]) == (1, 2)
    impact = payload["scoreImpact"]
    assert (impact["overallBefore"], impact["overallAfter"]) == (score(39, 43), score(32, 36))
    assert impact["assessments"] == [
        {"assessment": {"name": "A1"}, "before": score(39, 39), "after": score(32, 32)},
        {"assessment": {"name": "A3"}, "before": score(27, 30), "after": score(20, 23)},
    ]

    # One instance, seen in both groups' assessments with the new points.
    views = assessments_by_name(await api.query(ASSESSMENTS, token=people["READER"]))
    seen = {
        (name, a["key"], a["points"], a["pendingUpdate"])
        for name in ("A1", "A3")
        for c in views[name]["controls"]
        for a in c["actions"]
        if a["id"] == gid("ImprovementAction", t1.id)
    }
    assert seen == {("A1", "we:t1", 20, False), ("A3", "we:t1", 20, False)}
    assert views["A1"]["score"] == score(32, 32)
    assert views["A3"]["score"] == score(20, 23)
    await scores_agree(uow)

    async with db.sessions() as session:
        history = (
            await session.execute(
                select(HistoryEntry.field, HistoryEntry.old_value, HistoryEntry.new_value)
                .where(HistoryEntry.action_id == t1.id, HistoryEntry.source == ChangeSource.UPDATE)
                .order_by(HistoryEntry.id)
            )
        ).all()
    assert history == [("definition_version", "1", "2"), ("points", "27", "20")]
    moved = [e for e in await events(db, EventType.SCORE_CHANGE) if e.action_id == t1.id][-1]
    assert moved.payload["source"] == "UPDATE"
    assert moved.payload["assessmentIds"] == [example.a1.id, example.a3.id]
    assert [(a["assessmentId"], a["delta"]) for a in moved.payload["assessments"]] == [
        (example.a1.id, -7.0),
        (example.a3.id, -7.0),
    ]

    # Nothing left to accept for this action.
    again = await api.query(
        ACCEPT_ACTION,
        {"input": {"actionId": gid("ImprovementAction", t1.id)}},
        token=people["ADMINISTRATOR"],
    )
    assert [e["code"] for e in again["acceptActionUpdate"]["userErrors"]] == ["INVALID"]


async def test_accepting_a_non_technical_action_applies_to_its_group_only(
    api, uow, example, people
) -> None:
    await reimport(uow, "x", "Regulation X", {"C1": (T1, N1_5), "C2": (T1, P1)})
    n1_g1, n1_g2 = example.actions["N1@G1"], example.actions["N1@G2"]
    data = await api.query(
        ACCEPT_ACTION,
        {"input": {"actionId": gid("ImprovementAction", n1_g1.id)}},
        token=people["ADMINISTRATOR"],
    )
    payload = data["acceptActionUpdate"]
    assert payload["userErrors"] == []
    assert payload["improvementAction"]["points"] == 5
    assert [
        (a["assessment"]["name"], a["after"]) for a in payload["scoreImpact"]["assessments"]
    ] == [
        ("A1", score(41, 41)),
        ("A2", score(5, 6)),
    ]

    nodes = by_key(await api.query(ACTIONS, token=people["READER"]))["we:n1"]
    state = {n["group"]["name"]: (n["id"], n["points"], n["pendingUpdate"]) for n in nodes}
    assert state == {
        "G1": (gid("ImprovementAction", n1_g1.id), 5, False),
        "G2": (gid("ImprovementAction", n1_g2.id), 3, True),
    }
    views = assessments_by_name(await api.query(ASSESSMENTS, token=people["READER"]))
    assert [views[n]["score"] for n in ("A1", "A2", "A3")] == [
        score(41, 41),
        score(5, 6),
        score(27, 30),
    ]
    await scores_agree(uow)


async def test_accept_all_reports_count_and_score_impact(api, uow, example, people) -> None:
    await reimport(uow, "x", "Regulation X", {"C1": (T1_20, N1_5), "C2": (T1_20, P1)})

    # Narrowed to A3: its T1 (organisation-wide) and N1 of G2.
    narrowed = await api.query(
        ACCEPT_ALL,
        {"input": {"assessmentIds": [gid("Assessment", example.a3.id)]}},
        token=people["ADMINISTRATOR"],
    )
    payload = narrowed["acceptAllActionUpdates"]
    assert payload["userErrors"] == []
    assert payload["acceptedCount"] == 2
    impact = payload["scoreImpact"]
    # T1 27 -> 20 (passed), N1@G2 3 -> 5 (not passed): A1 32/32, A3 20/25.
    assert (impact["overallBefore"], impact["overallAfter"]) == (score(39, 43), score(32, 38))
    assert [(a["assessment"]["name"], a["before"], a["after"]) for a in impact["assessments"]] == [
        ("A1", score(39, 39), score(32, 32)),
        ("A3", score(27, 30), score(20, 25)),
    ]

    data = await api.query(ACCEPT_ALL, {"input": {}}, token=people["ADMINISTRATOR"])
    payload = data["acceptAllActionUpdates"]
    assert payload["acceptedCount"] == 1  # N1 of G1 was still pending
    impact = payload["scoreImpact"]
    assert (impact["overallBefore"], impact["overallAfter"]) == (score(32, 38), score(34, 40))
    assert [(a["assessment"]["name"], a["after"]) for a in impact["assessments"]] == [
        ("A1", score(34, 34)),
        ("A2", score(5, 6)),
    ]
    actions = await api.query(ACTIONS, token=people["READER"])
    assert not any(n["pendingUpdate"] for n in actions["improvementActions"]["nodes"])
    await scores_agree(uow)

    empty = await api.query(ACCEPT_ALL, {"input": {}}, token=people["ADMINISTRATOR"])
    assert empty["acceptAllActionUpdates"]["acceptedCount"] == 0
    assert empty["acceptAllActionUpdates"]["scoreImpact"]["assessments"] == []


async def test_deferring_leaves_the_flags(api, db, uow, owner, example, people) -> None:
    await reimport(uow, "x", "Regulation X", {"C1": (T1_20, N1_5), "C2": (T1_20, P1)})
    await reimport(uow, "x", "Regulation X", {"C1": (T1, N1), "C2": (T1, P1), "C9": (T2,)})
    # Unrelated work meanwhile: an edit, an identical re-import, accepting something else.
    async with uow() as u:
        from tests.builders import passed

        await passed(u, owner, example.actions["T2"].id)
    await reimport(uow, "x", "Regulation X", {"C1": (T1, N1), "C2": (T1, P1), "C9": (T2,)})
    await api.query(
        ACCEPT_ACTION,
        {"input": {"actionId": gid("ImprovementAction", example.actions["N1@G1"].id)}},
        token=people["ADMINISTRATOR"],
    )

    pending = {
        (n["key"], n["group"]["name"] if n["group"] else None)
        for n in (await api.query(ACTIONS, token=people["READER"]))["improvementActions"]["nodes"]
        if n["pendingUpdate"]
    }
    assert pending == {("we:t1", None), ("we:n1", "G2")}
    views = assessments_by_name(await api.query(ASSESSMENTS, token=people["READER"]))
    assert (views["A1"]["pendingUpdate"], views["A1"]["templateVersion"]) == (True, 1)
    assert views["A1"]["pendingUpdateChanges"]["controlsAdded"] == ["C9"]
    # Points were changed and changed back: version 3 equals version 1, still pending until
    # accepted, with nothing to show but the version.
    [t1] = by_key(await api.query(ACTIONS, token=people["READER"]))["we:t1"]
    assert t1["pendingUpdateChanges"] == []


# -- refusals ----------------------------------------------------------------------------------


async def test_non_administrators_are_forbidden_and_nothing_changes(
    api, db, uow, example, people
) -> None:
    await reimport(uow, "x", "Regulation X", {"C1": (T1_20, N1), "C2": (T1_20, P1), "C9": (T2,)})
    before = await totals(db)
    calls = (
        (ACCEPT_ACTION, {"actionId": gid("ImprovementAction", example.actions["T1"].id)}),
        (ACCEPT_ALL, {}),
        (ACCEPT_ASSESSMENT, {"assessmentId": gid("Assessment", example.a1.id)}),
    )
    for role in ("READER", "CONTRIBUTOR", "ASSESSOR"):
        for mutation, variables in calls:
            data = await api.query(mutation, {"input": variables}, token=people[role])
            [payload] = data.values()
            assert [e["code"] for e in payload["userErrors"]] == ["FORBIDDEN"], (role, payload)
            assert all(value is None for name, value in payload.items() if name != "userErrors"), (
                payload
            )
    assert await totals(db) == before
    [t1] = by_key(await api.query(ACTIONS, token=people["READER"]))["we:t1"]
    assert (t1["pendingUpdate"], t1["points"]) == (True, 27)
    views = assessments_by_name(await api.query(ASSESSMENTS, token=people["READER"]))
    assert views["A1"]["pendingUpdate"]


async def test_archived_assessments_cannot_accept(api, db, uow, example, people) -> None:
    archive = """mutation($input: ArchiveAssessmentInput!) {
      archiveAssessment(input: $input) { userErrors { code } } }"""
    # A2 alone holds T2; archive it, then publish new versions of its template and of T2.
    await api.query(
        archive,
        {"input": {"assessmentId": gid("Assessment", example.a2.id)}},
        token=people["ADMINISTRATOR"],
    )
    t2_9 = dataclasses.replace(T2, points=9)
    result = await reimport(uow, "y", "Regulation Y", {"C3": (N1, t2_9), "C3b": (t2_9,)})
    assert result.version_created
    # Nobody can accept for a read-only assessment, so nothing is announced for it.
    assert (result.actions_pending_update, result.assessments_pending_update) == (0, 0)

    t2 = gid("ImprovementAction", example.actions["T2"].id)
    data = await api.query(ACCEPT_ACTION, {"input": {"actionId": t2}}, token=people["OWNER"])
    assert [e["code"] for e in data["acceptActionUpdate"]["userErrors"]] == ["INVALID"]
    data = await api.query(
        ACCEPT_ASSESSMENT,
        {"input": {"assessmentId": gid("Assessment", example.a2.id)}},
        token=people["OWNER"],
    )
    [error] = data["acceptAssessmentUpdate"]["userErrors"]
    assert (error["code"], error["field"]) == ("INVALID", ["input", "assessmentId"])
    # Accept-all passes over it too.
    data = await api.query(ACCEPT_ALL, {"input": {}}, token=people["OWNER"])
    assert data["acceptAllActionUpdates"]["acceptedCount"] == 0
    async with db.sessions() as session:
        row = await session.get(Assessment, example.a2.id)
        assert (row.earned, row.possible) == (3.0, 4)  # frozen at archive time


async def test_wrong_or_up_to_date_targets_are_user_errors(api, example, people) -> None:
    admin = people["ADMINISTRATOR"]
    data = await api.query(
        ACCEPT_ASSESSMENT,
        {"input": {"assessmentId": gid("Assessment", example.a1.id)}},
        token=admin,
    )
    assert [e["code"] for e in data["acceptAssessmentUpdate"]["userErrors"]] == ["INVALID"]
    data = await api.query(
        ACCEPT_ACTION, {"input": {"actionId": gid("Assessment", example.a1.id)}}, token=admin
    )
    assert [e["code"] for e in data["acceptActionUpdate"]["userErrors"]] == ["NOT_FOUND"]
    data = await api.query(
        ACCEPT_ACTION, {"input": {"actionId": gid("ImprovementAction", 999_999)}}, token=admin
    )
    assert [e["code"] for e in data["acceptActionUpdate"]["userErrors"]] == ["NOT_FOUND"]


# -- template versions -----------------------------------------------------------------------


def x_version_2() -> TemplateSpec:
    """C1 re-worded and without N1, C2 dropped, C5 added with T2 and a new action X1."""
    return TemplateSpec(
        key="x",
        title="X",
        regulation="Regulation X",
        product="Worked example",
        controls=(
            ControlSpec("C1", "Family", "Control C1, revised", action_keys=(T1.key,)),
            ControlSpec("C5", "Family", "Control C5", action_keys=(T2.key, X1.key)),
        ),
        actions=(T1, T2, X1),
    )


async def test_template_update_shows_pending_and_accepting_applies_it(
    api, db, uow, example, people
) -> None:
    async with uow() as u:
        result = await import_template(u, x_version_2(), source="test")
    assert result.version_created and result.version.version == 2
    assert (result.actions_pending_update, result.assessments_pending_update) == (0, 1)
    [announced] = await events(db, EventType.UPDATE_AVAILABLE)
    assert (announced.assessment_id, announced.action_id) == (example.a1.id, None)
    assert announced.payload == {
        "kind": "TEMPLATE",
        "templateKey": "x",
        "fromVersion": 1,
        "toVersion": 2,
        "assessmentIds": [example.a1.id],
        "changes": {
            "controlsAdded": ["C5"],
            "controlsRemoved": ["C2"],
            "controlsChanged": ["C1"],
            "mappingsAdded": 2,
            "mappingsRemoved": 3,
        },
    }

    views = assessments_by_name(await api.query(ASSESSMENTS, token=people["READER"]))
    assert [(n, views[n]["pendingUpdate"]) for n in ("A1", "A2", "A3")] == [
        ("A1", True),
        ("A2", False),
        ("A3", False),
    ]
    assert views["A1"]["pendingUpdateChanges"] == {
        "fromVersion": 1,
        "toVersion": 2,
        "controlsAdded": ["C5"],
        "controlsRemoved": ["C2"],
        "controlsChanged": ["C1"],
        "controlsAddedCount": 1,
        "controlsRemovedCount": 1,
        "controlsChangedCount": 1,
        "mappingsAddedCount": 2,
        "mappingsRemovedCount": 3,
        "mappingsAdded": [
            {"controlKey": "C5", "actionKey": "we:t2"},
            {"controlKey": "C5", "actionKey": "we:x1"},
        ],
        "mappingsRemoved": [
            {"controlKey": "C1", "actionKey": "we:n1"},
            {"controlKey": "C2", "actionKey": "we:p1"},
            {"controlKey": "C2", "actionKey": "we:t1"},
        ],
    }

    data = await api.query(
        ACCEPT_ASSESSMENT,
        {"input": {"assessmentId": gid("Assessment", example.a1.id)}},
        token=people["ADMINISTRATOR"],
    )
    payload = data["acceptAssessmentUpdate"]
    assert payload["userErrors"] == []
    assert payload["assessment"] == {"name": "A1", "pendingUpdate": False, "templateVersion": 2}
    assert payload["applied"] == {
        "fromVersion": 1,
        "toVersion": 2,
        "controlsAdded": ["C5"],
        "controlsRemoved": ["C2"],
        "controlsChanged": ["C1"],
        "mappingsAddedCount": 2,
        "mappingsRemovedCount": 3,
    }
    # X1 is new; P1 was used by C2 only and goes; N1 of G1 stays for A2.
    assert (payload["actionsCreated"], payload["actionsRemoved"]) == (1, 1)
    # T1 27 passed, T2 0/1 (shared with A2), X1 0/3.
    assert (payload["scoreBefore"], payload["scoreAfter"]) == (score(39, 39), score(27, 31))

    views = assessments_by_name(await api.query(ASSESSMENTS, token=people["READER"]))
    a1 = views["A1"]
    assert (a1["pendingUpdate"], a1["pendingUpdateChanges"]) == (False, None)
    assert [(c["key"], c["title"], [a["key"] for a in c["actions"]]) for c in a1["controls"]] == [
        ("C1", "Control C1, revised", ["we:t1"]),
        ("C5", "Control C5", ["we:t2", "we:x1"]),
    ]
    t2_in_a1 = a1["controls"][1]["actions"][0]["id"]
    t2_in_a2 = next(
        a["id"] for c in views["A2"]["controls"] for a in c["actions"] if a["key"] == "we:t2"
    )
    assert t2_in_a1 == t2_in_a2 == gid("ImprovementAction", example.actions["T2"].id)
    async with db.sessions() as session:
        assert await session.get(ImprovementAction, example.actions["P1"].id) is None
        assert await session.get(ImprovementAction, example.actions["N1@G1"].id) is not None
    [moved] = [e for e in await events(db, EventType.SCORE_CHANGE) if e.assessment_id]
    assert moved.payload["assessments"] == [
        {
            "assessmentId": example.a1.id,
            "before": score(39.0, 39),
            "after": score(27.0, 31),
            "delta": -12.0,
        }
    ]
    await scores_agree(uow)


async def test_oscal_catalog_update(api, db, uow, owner, people, tmp_path: Path) -> None:
    path = oscal_file(LOW)
    async with uow() as u:
        first = await import_catalog(u, path)
        template_id = first.template.id
        assessment = await create_assessment(
            u, owner, NewAssessment(template_id, "LOW system", new_group_name="Systems")
        )

    document = json.loads(path.read_text(encoding="utf-8"))
    groups = document["catalog"]["groups"]
    changed, dropped = _control_with_statement(groups[0]), _leaf_control(groups[1])
    statement = next(p for p in changed["parts"] if p["name"] == "statement")
    statement["prose"] = "The organisation revised this requirement."
    groups[1]["controls"].remove(dropped)
    modified = tmp_path / "low-revised.json"
    modified.write_text(json.dumps(document), encoding="utf-8")
    changed_key, dropped_key = _label(changed), _label(dropped)

    async with uow() as u:
        result = await import_catalog(u, modified)
    assert (result.version.version, result.assessments_pending_update) == (2, 1)
    assert result.controls == first.controls - 1

    views = assessments_by_name(await api.query(ASSESSMENTS, token=people["READER"]))
    changes = views["LOW system"]["pendingUpdateChanges"]
    assert (changes["controlsAdded"], changes["controlsRemoved"]) == ([], [dropped_key])
    assert changes["controlsChanged"] == [changed_key]
    assert changes["mappingsAddedCount"] == 0
    assert {m["controlKey"] for m in changes["mappingsRemoved"]} == {dropped_key}

    data = await api.query(
        ACCEPT_ASSESSMENT,
        {"input": {"assessmentId": gid("Assessment", assessment.id)}},
        token=people["ADMINISTRATOR"],
    )
    payload = data["acceptAssessmentUpdate"]
    assert payload["userErrors"] == []
    assert payload["applied"]["controlsRemoved"] == [dropped_key]
    assert payload["actionsRemoved"] == changes["mappingsRemovedCount"]
    async with db.sessions() as session:
        version_id = await session.scalar(
            select(TemplateVersion.id).where(
                TemplateVersion.template_id == template_id, TemplateVersion.version == 2
            )
        )
        wanted = (
            await session.execute(
                select(
                    TemplateControl.key,
                    TemplateControl.family,
                    TemplateControl.title,
                    TemplateControl.description,
                )
                .where(TemplateControl.template_version_id == version_id)
                .order_by(TemplateControl.sort_order)
            )
        ).all()
        have = (
            await session.execute(
                select(Control.key, Control.family, Control.title, Control.description)
                .where(Control.assessment_id == assessment.id)
                .order_by(Control.sort_order)
            )
        ).all()
    assert have == wanted
    assert (
        "The organisation revised this requirement."
        in dict((key, description) for key, _, _, description in have)[changed_key]
    )
    await scores_agree(uow)


def _label(control: dict[str, Any]) -> str:
    labels = [p for p in control.get("props", []) if p["name"] == "label"]
    plain = [p for p in labels if not p.get("class")]
    return (plain or labels)[0]["value"]


def _control_with_statement(group: dict[str, Any]) -> dict[str, Any]:
    return next(
        c for c in group["controls"] if any(p["name"] == "statement" for p in c.get("parts", []))
    )


def _leaf_control(group: dict[str, Any]) -> dict[str, Any]:
    """A control without enhancements, so dropping it drops exactly one template control."""
    return next(c for c in group["controls"] if not c.get("controls"))


# -- batching ----------------------------------------------------------------------------------


async def test_pending_details_read_in_a_fixed_number_of_statements(
    api, db, uow, example, people
) -> None:
    token = people["READER"]
    await api.query("{ viewer { user { name } } }", token=token)  # stamps the token's last use
    await reimport(uow, "x", "Regulation X", {"C1": (T1_20, N1), "C2": (T1_20, P1), "C9": (T2,)})
    with count_statements(db.engine) as few:
        await api.query(ACTIONS, token=token)
        await api.query(ASSESSMENTS, token=token)

    p1_1 = dataclasses.replace(P1, category="Changed")
    t2_5 = dataclasses.replace(T2, points=5)
    await reimport(uow, "y", "Regulation Y", {"C3": (N1_5, t2_5), "C3b": (t2_5,)})
    await reimport(uow, "z", "Regulation X", {"C4": (T1_20, N1_5, p1_1)})
    with count_statements(db.engine) as many:
        data = await api.query(ACTIONS, token=token)
        views = assessments_by_name(await api.query(ASSESSMENTS, token=token))
    pending = [n for n in data["improvementActions"]["nodes"] if n["pendingUpdate"]]
    # T1, T2 and N1 in both groups; P1, a provider action, took its new version at once.
    assert len(pending) == 4
    assert all(views[n]["pendingUpdate"] for n in ("A1", "A2", "A3"))
    assert len(many) == len(few)


# -- domain level ------------------------------------------------------------------------------


async def test_definition_changes_compare_every_visible_field() -> None:
    @dataclasses.dataclass
    class Version:
        points: int = 3
        title: str = "T"
        guidance: str = ""
        enforcement: Enforcement = Enforcement.MANDATORY
        purpose: Purpose = Purpose.DETECTIVE
        category: str = ""
        solution: str = ""
        testing_logic: str = ""
        automatic_testing_available: bool = False
        default_retest_interval_days: int | None = None

    new = Version(
        points=1,
        enforcement=Enforcement.DISCRETIONARY,
        testing_logic="Look at the logs.",
        automatic_testing_available=True,
        default_retest_interval_days=90,
    )
    changes = updates.definition_changes(Version(), new)
    assert [(c.field.value, c.current, c.new) for c in changes] == [
        ("POINTS", "3", "1"),
        ("ENFORCEMENT", "MANDATORY", "DISCRETIONARY"),
        ("TESTING_LOGIC", "", "Look at the logs."),
        ("AUTOMATIC_TESTING_AVAILABLE", "false", "true"),
        ("DEFAULT_RETEST_INTERVAL_DAYS", "", "90"),
    ]
    assert updates.changes_summary(changes)[2] == {"field": "TESTING_LOGIC"}
    assert updates.definition_changes(Version(), Version()) == []


async def test_services_check_the_role_before_anything_else(uow, example) -> None:
    from cmgraph.domain import accounts

    async with uow() as u:
        user = await accounts.create_user(u, "assessor@x.test", "A", OrgRole.ASSESSOR)
        assessor = await accounts.principal_for(u, user)
    for call in (
        lambda u: updates.accept_action_update(u, assessor, example.actions["T1"].id),
        lambda u: updates.accept_all_action_updates(u, assessor),
        lambda u: updates.accept_assessment_update(u, assessor, example.a1.id),
    ):
        with pytest.raises(DomainError) as refused:
            async with uow() as u:
                await call(u)
        assert refused.value.code is ErrorCode.FORBIDDEN


async def test_new_definitions_in_a_new_group_start_on_the_latest_version(
    uow, owner, example
) -> None:
    await reimport(uow, "x", "Regulation X", {"C1": (T1_20, N1_5), "C2": (T1_20, P1)})
    async with uow() as u:
        template_id = await u.session.scalar(
            select(Assessment.template_id).where(Assessment.id == example.a1.id)
        )
        await create_assessment(u, owner, NewAssessment(template_id, "A4", new_group_name="G3"))
    async with uow() as u:
        rows = (
            await u.session.execute(
                select(ImprovementAction.group_id, ImprovementAction.points)
                .join(ActionDefinition, ActionDefinition.id == ImprovementAction.definition_id)
                .where(ActionDefinition.key == N1.key)
            )
        ).all()
    # The new group's N1 starts at 5 points; the old groups' instances wait to be accepted.
    assert sorted(points for _, points in rows) == [3, 3, 5]


async def test_automatic_testing_that_comes_or_goes_follows_the_setting(
    api, uow, owner, example, people
) -> None:
    from cmgraph.domain.enums import AutomaticTesting
    from cmgraph.domain.testing_sources import update_organisation_settings

    async with uow() as u:
        await update_organisation_settings(u, owner, automatic_testing=AutomaticTesting.ON_FOR_ALL)
    t2 = gid("ImprovementAction", example.actions["T2"].id)
    query = """query($id: ID!) { node(id: $id) { ... on ImprovementAction {
      testingSource pendingUpdateChanges { field currentValue newValue } } } }"""

    for available, source in ((True, "AUTOMATIC"), (False, "MANUAL")):
        t2_spec = dataclasses.replace(T2, automatic_testing_available=available)
        await reimport(uow, "y", "Regulation Y", {"C3": (N1, t2_spec)})
        node = (await api.query(query, {"id": t2}, token=people["READER"]))["node"]
        assert node["pendingUpdateChanges"] == [
            {
                "field": "AUTOMATIC_TESTING_AVAILABLE",
                "currentValue": str(not available).lower(),
                "newValue": str(available).lower(),
            }
        ]
        data = await api.query(
            ACCEPT_ACTION, {"input": {"actionId": t2}}, token=people["ADMINISTRATOR"]
        )
        assert data["acceptActionUpdate"]["userErrors"] == []
        node = (await api.query(query, {"id": t2}, token=people["READER"]))["node"]
        assert (node["testingSource"], node["pendingUpdateChanges"]) == (source, [])
