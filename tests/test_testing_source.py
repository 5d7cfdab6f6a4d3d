"""Testing source (DOMAIN.md section 5): PARENT links, automation signals, the org setting.

Most scenarios go through the GraphQL API as a user would; the world is built through the
domain services. Every scenario ends by checking that the stored assessment scores (kept by
deltas) equal a full recount.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from sqlalchemy import select
from strawberry.relay import to_base64

from cmgraph.domain import accounts, score_upkeep
from cmgraph.domain.assessments import (
    NewAssessment,
    archive_assessment,
    create_assessment,
    delete_assessment,
)
from cmgraph.domain.enums import (
    AutomaticTesting,
    ChangeSource,
    Enforcement,
    ImplementationType,
    OrgRole,
    Purpose,
    TestingSource,
)
from cmgraph.domain.errors import DomainError, ErrorCode
from cmgraph.domain.evidence import add_evidence_link
from cmgraph.domain.models import (
    ActionDefinition,
    Assessment,
    Event,
    HistoryEntry,
    ImprovementAction,
)
from cmgraph.domain.permissions import Principal
from cmgraph.domain.templates import ActionSpec, ControlSpec, TemplateSpec, import_template
from cmgraph.domain.testing_sources import (
    on_automation_available,
    organisation,
    set_testing_source,
)
from cmgraph.domain.workflow import MAX_CHAIN_DEPTH, change_action
from tests.report_data import count_statements

D1 = date(2026, 10, 1)
D2 = date(2026, 10, 5)


def _spec(key: str, title: str, points: int, *, automatic: bool = False) -> ActionSpec:
    return ActionSpec(
        f"ts:{key}",
        title,
        ImplementationType.TECHNICAL,
        Enforcement.MANDATORY,
        Purpose.PREVENTATIVE,
        points=points,
        automatic_testing_available=automatic,
    )


# P is the usual parent, C its child and G its grandchild; X has no automation; AUTO and
# AUTO2 can be tested automatically; M lives only in assessment S, which tests archive.
ACTIONS = {
    "P": _spec("p", "Parent", 27),
    "C": _spec("c", "Child", 3),
    "G": _spec("g", "Grandchild", 9),
    "X": _spec("x", "No automation", 1),
    "AUTO": _spec("auto", "Automated", 10, automatic=True),
    "AUTO2": _spec("auto2", "Automated too", 5, automatic=True),
    "M": _spec("m", "Archived middle", 2),
}


def _template(key: str, controls: dict[str, tuple[str, ...]]) -> TemplateSpec:
    names = dict.fromkeys(n for names in controls.values() for n in names)
    return TemplateSpec(
        key=key,
        title=key.upper(),
        regulation=f"Regulation {key.upper()}",
        product="Testing source",
        controls=tuple(
            ControlSpec(c, "Family", f"Control {c}", action_keys=tuple(ACTIONS[n].key for n in ns))
            for c, ns in controls.items()
        ),
        actions=tuple(ACTIONS[n] for n in names),
    )


@dataclass
class World:
    a1: int
    a2: int
    s: int  # assessment holding only M; archived by the tests that need it
    ids: dict[str, int]  # action name -> database id
    tokens: dict[str, str]  # role name or "automation" -> API token
    owner: Principal

    def gid(self, name: str) -> str:
        return to_base64("ImprovementAction", self.ids[name])


@pytest.fixture
async def world(uow, owner: Principal) -> World:
    async with uow() as u:
        # Every action starts MANUAL, and the setting is PER_ACTION: what these tests change.
        (await organisation(u)).automatic_testing = AutomaticTesting.OFF_FOR_ALL
        one = await import_template(
            u,
            _template("one", {"K1": ("P", "C"), "K2": ("G", "X", "AUTO", "AUTO2")}),
            source="test",
        )
        two = await import_template(u, _template("two", {"K3": ("C", "AUTO")}), source="test")
        solo = await import_template(u, _template("solo", {"K4": ("M",)}), source="test")
        a1 = await create_assessment(
            u, owner, NewAssessment(one.template.id, "A1", new_group_name="G1")
        )
        a2 = await create_assessment(
            u, owner, NewAssessment(two.template.id, "A2", new_group_name="G2")
        )
        s = await create_assessment(
            u, owner, NewAssessment(solo.template.id, "S", new_group_name="G3")
        )
        rows = await u.session.execute(
            select(ActionDefinition.key, ImprovementAction.id).join(
                ImprovementAction, ImprovementAction.definition_id == ActionDefinition.id
            )
        )
        by_key = dict(rows.all())
        ids = {name: by_key[spec.key] for name, spec in ACTIONS.items()}
        (await organisation(u)).automatic_testing = AutomaticTesting.PER_ACTION
    tokens = {}
    for role in OrgRole:
        tokens[role.value] = await _token(uow, f"{role.value.lower()}@org.test", role)
    tokens["automation"] = await _token(uow, "robot@org.test", OrgRole.READER, is_automation=True)
    return World(a1.id, a2.id, s.id, ids, tokens, owner)


async def _token(uow: Any, email: str, role: OrgRole, *, is_automation: bool = False) -> str:
    async with uow() as u:
        user = await accounts.create_user(u, email, email, role, is_automation=is_automation)
        return (await accounts.create_token(u, user, "test")).secret


# -- GraphQL operations ------------------------------------------------------------------------

STATE = """
  id version testingSource automationFraction
  implementationStatus implementationDate implementationNotes
  testStatus testDate testingNotes additionalNotes
  score { earned possible }
  parent { title }
  evidence { name }
  inheritedEvidence { name url }
"""

SET_SOURCE = f"""
mutation($input: SetTestingSourceInput!) {{
  setTestingSource(input: $input) {{
    improvementAction {{ {STATE} }}
    userErrors {{ field code message }}
  }}
}}
"""

UPDATE_IMPLEMENTATION = f"""
mutation($input: UpdateImplementationInput!) {{
  updateImplementation(input: $input) {{
    improvementAction {{ {STATE} }}
    userErrors {{ field code message }}
  }}
}}
"""

UPDATE_TESTING = f"""
mutation($input: UpdateTestingInput!) {{
  updateTesting(input: $input) {{
    improvementAction {{ {STATE} }}
    userErrors {{ field code message }}
  }}
}}
"""

RECORD = f"""
mutation($input: RecordAutomationResultInput!) {{
  recordAutomationResult(input: $input) {{
    improvementAction {{ {STATE} }}
    userErrors {{ field code message }}
  }}
}}
"""

ORGANISATION = "{ organisation { name automaticTesting } }"

UPDATE_SETTINGS = """
mutation($input: UpdateOrganisationSettingsInput!) {
  updateOrganisationSettings(input: $input) {
    organisation { name automaticTesting }
    actionsSwitched
    userErrors { field code message }
  }
}
"""

NODE = f"query($id: ID!) {{ node(id: $id) {{ ... on ImprovementAction {{ {STATE} }} }} }}"

INHERITED = ("implementationStatus", "implementationDate", "implementationNotes")
INHERITED += ("testStatus", "testDate", "testingNotes", "automationFraction")


async def state(api: Any, world: World, name: str, role: str = "READER") -> dict[str, Any]:
    return (await api.query(NODE, {"id": world.gid(name)}, token=world.tokens[role]))["node"]


async def mutate(
    api: Any, world: World, query: str, role: str, **fields: Any
) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """Run a mutation; return the changed action and the user errors."""
    data = await api.query(query, {"input": fields}, token=world.tokens[role])
    (payload,) = data.values()
    return payload.get("improvementAction"), payload["userErrors"]


async def ok(api: Any, world: World, query: str, role: str, **fields: Any) -> dict[str, Any]:
    action, errors = await mutate(api, world, query, role, **fields)
    assert errors == [], errors
    assert action is not None
    return action


async def refused(
    api: Any, world: World, query: str, role: str, code: str, field: str | None, **fields: Any
) -> str:
    action, errors = await mutate(api, world, query, role, **fields)
    assert action is None
    assert [(e["code"], e["field"]) for e in errors] == [
        (code, ["input", field] if field else None)
    ], errors
    return errors[0]["message"]


async def link(api: Any, world: World, child: str, parent: str, role: str = "ASSESSOR") -> dict:
    current = await state(api, world, child)
    return await ok(
        api,
        world,
        SET_SOURCE,
        role,
        actionId=world.gid(child),
        version=current["version"],
        testingSource="PARENT",
        parentId=world.gid(parent),
    )


async def set_source(api: Any, world: World, name: str, source: str, role: str) -> dict:
    current = await state(api, world, name)
    return await ok(
        api,
        world,
        SET_SOURCE,
        role,
        actionId=world.gid(name),
        version=current["version"],
        testingSource=source,
    )


async def edit(api: Any, world: World, name: str, query: str, role: str = "ASSESSOR", **f: Any):
    current = await state(api, world, name)
    return await ok(
        api, world, query, role, actionId=world.gid(name), version=current["version"], **f
    )


async def implement_and_pass(api: Any, world: World, name: str, notes: str = "") -> None:
    await edit(
        api,
        world,
        name,
        UPDATE_IMPLEMENTATION,
        implementationStatus="IMPLEMENTED",
        implementationDate=D1.isoformat(),
        implementationNotes=notes or f"{name} is done",
    )
    await edit(
        api,
        world,
        name,
        UPDATE_TESTING,
        testStatus="PASSED",
        testDate=D2.isoformat(),
        testingNotes=f"{name} checked",
    )


def inherited(action: dict[str, Any]) -> dict[str, Any]:
    return {name: action[name] for name in INHERITED}


# -- database checks ---------------------------------------------------------------------------


async def assert_scores_consistent(uow: Any) -> dict[int, tuple[float, int]]:
    """Stored assessment scores (kept by deltas) equal a full recount; live ones only."""
    async with uow() as u:
        assessments = list(
            await u.session.scalars(select(Assessment).where(Assessment.archived_at.is_(None)))
        )
        recount = await score_upkeep.recompute(u, [a.id for a in assessments])
    stored = {a.id: (a.earned, a.possible) for a in assessments}
    assert stored == {i: (s.earned, s.possible) for i, s in recount.items()}
    return stored


async def history(uow: Any, world: World, name: str) -> list[tuple[str, str | None, str]]:
    async with uow() as u:
        rows = await u.session.scalars(
            select(HistoryEntry)
            .where(HistoryEntry.action_id == world.ids[name])
            .order_by(HistoryEntry.id)
        )
        return [(h.field, h.new_value, h.source.value) for h in rows]


async def events(uow: Any, world: World, name: str) -> list[tuple[str, dict[str, Any]]]:
    async with uow() as u:
        rows = await u.session.scalars(
            select(Event).where(Event.action_id == world.ids[name]).order_by(Event.id)
        )
        return [(e.type, e.payload) for e in rows]


async def stored_source(uow: Any, world: World, name: str) -> tuple[TestingSource, int | None]:
    async with uow() as u:
        action = await u.session.get(ImprovementAction, world.ids[name])
        return action.testing_source, action.parent_id


# -- PARENT ------------------------------------------------------------------------------------


async def test_linking_copies_the_parents_fields_and_shows_its_evidence(uow, api, world) -> None:
    await implement_and_pass(api, world, "P")
    async with uow() as u:
        await add_evidence_link(
            u, world.owner, world.ids["P"], "Access review", "https://intranet.example/review"
        )
    before = await assert_scores_consistent(uow)
    parent = await state(api, world, "P")

    child = await link(api, world, "C", "P")

    assert child["testingSource"] == "PARENT"
    assert child["parent"] == {"title": "Parent"}
    assert inherited(child) == inherited(parent)
    assert child["implementationNotes"] == "P is done"
    assert child["score"] == {"earned": 3.0, "possible": 3}
    assert child["evidence"] == []
    assert child["inheritedEvidence"] == [
        {"name": "Access review", "url": "https://intranet.example/review"}
    ]
    # The parent lists its children.
    data = await api.query(
        "query($id: ID!) { node(id: $id) { ... on ImprovementAction { children { title } } } }",
        {"id": world.gid("P")},
        token=world.tokens["READER"],
    )
    assert data["node"]["children"] == [{"title": "Child"}]

    rows = await history(uow, world, "C")
    assert ("testing_source", "PARENT", "USER") in rows
    assert ("parent_id", str(world.ids["P"]), "USER") in rows
    copied = {field: (new, source) for field, new, source in rows if source == "PARENT"}
    assert copied == {
        "implementation_status": ("IMPLEMENTED", "PARENT"),
        "implementation_date": (D1.isoformat(), "PARENT"),
        "implementation_notes": ("P is done", "PARENT"),
        "test_status": ("PASSED", "PARENT"),
        "test_date": (D2.isoformat(), "PARENT"),
        "testing_notes": ("P checked", "PARENT"),
    }
    kinds = [(kind, payload["source"]) for kind, payload in await events(uow, world, "C")]
    assert kinds == [
        ("IMPLEMENTATION_STATUS_CHANGE", "PARENT"),
        ("TEST_STATUS_CHANGE", "PARENT"),
        ("SCORE_CHANGE", "PARENT"),
    ]
    (score_event,) = [p for kind, p in await events(uow, world, "C") if kind == "SCORE_CHANGE"]
    assert score_event["delta"] == 3
    assert {a["assessmentId"] for a in score_event["assessments"]} == {world.a1, world.a2}
    after = await assert_scores_consistent(uow)
    for assessment in (world.a1, world.a2):
        assert after[assessment][0] == before[assessment][0] + 3


async def test_parent_changes_propagate_down_the_chain(uow, api, world, db) -> None:
    await link(api, world, "C", "P")
    await link(api, world, "G", "C")
    async with uow() as u:
        await add_evidence_link(u, world.owner, world.ids["P"], "Root proof", "https://e.test/p")
        await add_evidence_link(u, world.owner, world.ids["C"], "Middle proof", "https://e.test/c")

    await implement_and_pass(api, world, "P", notes="rolled out")
    parent = await state(api, world, "P")
    for name, points in (("C", 3), ("G", 9)):
        action = await state(api, world, name)
        assert inherited(action) == inherited(parent), name
        assert action["score"] == {"earned": float(points), "possible": points}
        kinds = [k for k, p in await events(uow, world, name) if p["source"] == "PARENT"]
        assert kinds == ["IMPLEMENTATION_STATUS_CHANGE", "TEST_STATUS_CHANGE", "SCORE_CHANGE"]
        assert {s for _, _, s in await history(uow, world, name)} == {"USER", "PARENT"}
    grandchild = await state(api, world, "G")
    assert [e["name"] for e in grandchild["inheritedEvidence"]] == ["Middle proof", "Root proof"]
    await assert_scores_consistent(uow)

    # Leaving IMPLEMENTED resets the test status everywhere (rule 3), with events again.
    await edit(api, world, "P", UPDATE_IMPLEMENTATION, implementationStatus="PLANNED")
    for name in ("P", "C", "G"):
        action = await state(api, world, name)
        assert action["implementationStatus"] == "PLANNED", name
        assert (action["testStatus"], action["testDate"], action["implementationDate"]) == (
            "NONE",
            None,
            None,
        )
        assert action["score"]["earned"] == 0
    kinds = [k for k, p in await events(uow, world, "G") if p["source"] == "PARENT"]
    assert kinds[3:] == ["IMPLEMENTATION_STATUS_CHANGE", "TEST_STATUS_CHANGE", "SCORE_CHANGE"]
    await assert_scores_consistent(uow)

    # Inherited evidence is read in one batch, however many actions are listed.
    query = (
        "{ improvementActions { nodes { title inheritedEvidence { name } children { title } } } }"
    )
    with count_statements(db.engine) as statements:
        data = await api.query(query, token=world.tokens["READER"])
    listed = {n["title"]: n for n in data["improvementActions"]["nodes"]}
    assert [e["name"] for e in listed["Grandchild"]["inheritedEvidence"]] == [
        "Middle proof",
        "Root proof",
    ]
    assert listed["Child"]["children"] == [{"title": "Grandchild"}]
    assert sum("evidence" in s.lower() for s in statements) == 1


async def test_self_links_and_cycles_are_refused(uow, api, world) -> None:
    version = (await state(api, world, "P"))["version"]
    base = {"actionId": world.gid("P"), "version": version, "testingSource": "PARENT"}
    await refused(api, world, SET_SOURCE, "ASSESSOR", "INVALID", "parentId", **base)
    message = await refused(
        api, world, SET_SOURCE, "ASSESSOR", "INVALID", "parentId", **base, parentId=world.gid("P")
    )
    assert "own parent" in message

    await link(api, world, "C", "P")
    await link(api, world, "G", "C")
    for parent in ("C", "G"):
        message = await refused(
            api,
            world,
            SET_SOURCE,
            "ASSESSOR",
            "INVALID",
            "parentId",
            **base,
            parentId=world.gid(parent),
        )
        assert "cycle" in message
    assert await stored_source(uow, world, "P") == (TestingSource.MANUAL, None)
    assert (await state(api, world, "P"))["version"] == version
    # A parent id of another type, or no such action, is not found.
    await refused(
        api,
        world,
        SET_SOURCE,
        "ASSESSOR",
        "NOT_FOUND",
        "parentId",
        **base,
        parentId=to_base64("Assessment", world.a1),
    )
    await refused(
        api,
        world,
        SET_SOURCE,
        "ASSESSOR",
        "NOT_FOUND",
        "parentId",
        **base,
        parentId=to_base64("ImprovementAction", 999_999),
    )
    await assert_scores_consistent(uow)


async def test_inheriting_action_is_not_edited_directly(uow, api, world) -> None:
    await link(api, world, "C", "P")
    version = (await state(api, world, "C"))["version"]
    for query, fields in (
        (UPDATE_IMPLEMENTATION, {"implementationStatus": "PLANNED"}),
        (UPDATE_IMPLEMENTATION, {"implementationNotes": "mine"}),
        (UPDATE_TESTING, {"testingNotes": "mine"}),
    ):
        await refused(
            api,
            world,
            query,
            "OWNER",
            "INVALID",
            "testingSource",
            actionId=world.gid("C"),
            version=version,
            **fields,
        )
    # Notes that are not inherited stay the action's own.
    action = await edit(api, world, "C", UPDATE_TESTING, additionalNotes="local context")
    assert action["additionalNotes"] == "local context"
    # Linking needs the assessor permission; a contributor may not.
    await refused(
        api,
        world,
        SET_SOURCE,
        "CONTRIBUTOR",
        "FORBIDDEN",
        None,
        actionId=world.gid("G"),
        version=(await state(api, world, "G"))["version"],
        testingSource="PARENT",
        parentId=world.gid("P"),
    )
    # A stale version is a conflict.
    await refused(
        api,
        world,
        SET_SOURCE,
        "ASSESSOR",
        "CONFLICT",
        "version",
        actionId=world.gid("C"),
        version=version - 1,
        testingSource="MANUAL",
    )
    await assert_scores_consistent(uow)


async def test_leaving_parent_keeps_the_values_and_stops_inheriting(uow, api, world) -> None:
    await implement_and_pass(api, world, "P")
    await link(api, world, "C", "P")
    await link(api, world, "G", "C")
    before = inherited(await state(api, world, "C"))

    child = await set_source(api, world, "C", "MANUAL", "ASSESSOR")
    assert child["testingSource"] == "MANUAL"
    assert child["parent"] is None
    assert child["inheritedEvidence"] == []
    assert inherited(child) == before
    assert await stored_source(uow, world, "C") == (TestingSource.MANUAL, None)

    # The parent moves on alone; C, and G below it, keep their values.
    await edit(api, world, "P", UPDATE_IMPLEMENTATION, implementationStatus="NOT_IMPLEMENTED")
    assert inherited(await state(api, world, "C")) == before
    assert inherited(await state(api, world, "G")) == before
    # C is the root of G now: its own edits reach G.
    await edit(api, world, "C", UPDATE_TESTING, testStatus="FAILED_LOW_RISK")
    assert (await state(api, world, "G"))["testStatus"] == "FAILED_LOW_RISK"
    await assert_scores_consistent(uow)


async def test_deleting_the_parent_leaves_the_child_manual_with_its_values(uow, api, world) -> None:
    await implement_and_pass(api, world, "P")
    await link(api, world, "C", "P")
    before = inherited(await state(api, world, "C"))
    async with uow() as u:
        # P counts only in A1, so it goes with A1; C stays through A2.
        await delete_assessment(u, world.owner, world.a1)
    child = await state(api, world, "C")
    assert (child["testingSource"], child["parent"]) == ("MANUAL", None)
    assert inherited(child) == before
    await edit(api, world, "C", UPDATE_TESTING, testStatus="FAILED_HIGH_RISK")
    await assert_scores_consistent(uow)


async def test_archived_action_in_a_chain_stays_frozen_but_passes_changes_on(
    uow, api, world
) -> None:
    await link(api, world, "M", "P")
    await link(api, world, "G", "M")
    async with uow() as u:
        await archive_assessment(u, world.owner, world.s)
    await implement_and_pass(api, world, "P")
    assert (await state(api, world, "M"))["testStatus"] == "NONE"
    assert (await state(api, world, "G"))["testStatus"] == "PASSED"
    await assert_scores_consistent(uow)


async def test_chains_longer_than_the_limit_are_refused(uow, owner, world) -> None:
    """Domain level: a chain of MAX_CHAIN_DEPTH links is the most a parent edit follows."""
    async with uow() as u:
        extra = tuple(_spec(f"l{i}", f"Link {i}", 1) for i in range(MAX_CHAIN_DEPTH + 2))
        spec = TemplateSpec(
            key="long",
            title="LONG",
            regulation="Regulation LONG",
            product="Testing source",
            controls=tuple(  # a control holds at most MAX_ACTIONS_PER_CONTROL actions
                ControlSpec(f"L{i}", "Family", "Links", action_keys=tuple(a.key for a in half))
                for i, half in enumerate((extra[:11], extra[11:]))
            ),
            actions=extra,
        )
        template = await import_template(u, spec, source="test")
        await create_assessment(
            u, owner, NewAssessment(template.template.id, "Long", new_group_name="GL")
        )
        ids = [
            await u.session.scalar(
                select(ImprovementAction.id)
                .join(ActionDefinition, ActionDefinition.id == ImprovementAction.definition_id)
                .where(ActionDefinition.key == a.key)
            )
            for a in extra
        ]
    # ids[0] is the root; ids[1] .. ids[-2] make MAX_CHAIN_DEPTH links; one more is refused.
    async with uow() as u:
        for child, parent in zip(ids[1:-1], ids[:-2], strict=True):
            await set_testing_source(u, owner, child, TestingSource.PARENT, parent_id=parent)
    with pytest.raises(DomainError) as refused_link:
        async with uow() as u:
            await set_testing_source(u, owner, ids[-1], TestingSource.PARENT, parent_id=ids[-2])
    assert refused_link.value.code is ErrorCode.INVALID
    async with uow() as u:
        await change_action(u, owner, ids[0], {"implementation_notes": "reaches the end"})
    async with uow() as u:
        last = await u.session.get(ImprovementAction, ids[-2])
        assert last.implementation_notes == "reaches the end"
    await assert_scores_consistent(uow)


# -- AUTOMATIC and automation signals ----------------------------------------------------------


async def test_automatic_needs_availability_and_an_administrator(uow, api, world) -> None:
    version = (await state(api, world, "X"))["version"]
    message = await refused(
        api,
        world,
        SET_SOURCE,
        "ADMINISTRATOR",
        "INVALID",
        "testingSource",
        actionId=world.gid("X"),
        version=version,
        testingSource="AUTOMATIC",
    )
    assert "not available" in message
    version = (await state(api, world, "AUTO"))["version"]
    await refused(
        api,
        world,
        SET_SOURCE,
        "ASSESSOR",
        "FORBIDDEN",
        None,
        actionId=world.gid("AUTO"),
        version=version,
        testingSource="AUTOMATIC",
    )
    action = await set_source(api, world, "AUTO", "AUTOMATIC", "ADMINISTRATOR")
    assert action["testingSource"] == "AUTOMATIC"
    # Turning it off again is per-action automation too.
    await refused(
        api,
        world,
        SET_SOURCE,
        "ASSESSOR",
        "FORBIDDEN",
        None,
        actionId=world.gid("AUTO"),
        version=action["version"],
        testingSource="MANUAL",
    )
    assert (await set_source(api, world, "AUTO", "MANUAL", "ADMINISTRATOR"))["testingSource"] == (
        "MANUAL"
    )
    await assert_scores_consistent(uow)


async def test_automation_records_partial_results_without_touching_the_test_date(
    uow, api, world
) -> None:
    await implement_and_pass(api, world, "AUTO")
    await link(api, world, "C", "AUTO")
    await set_source(api, world, "AUTO", "AUTOMATIC", "ADMINISTRATOR")
    before = await assert_scores_consistent(uow)

    action = await ok(
        api,
        world,
        RECORD,
        "automation",
        actionId=world.gid("AUTO"),
        implementationStatus="IMPLEMENTED",
        testStatus="PARTIALLY_TESTED",
        fraction=0.5,
    )
    assert action["testStatus"] == "PARTIALLY_TESTED"
    assert action["automationFraction"] == 0.5
    assert action["score"] == {"earned": 5.0, "possible": 10}
    assert action["testDate"] == D2.isoformat()  # automation leaves the date alone
    assert action["testingNotes"] == "AUTO checked"
    assert action["testingSource"] == "AUTOMATIC"
    # The child inherits the partial result and scores its own points x fraction.
    child = await state(api, world, "C")
    assert (child["testStatus"], child["automationFraction"]) == ("PARTIALLY_TESTED", 0.5)
    assert child["score"] == {"earned": 1.5, "possible": 3}

    after = await assert_scores_consistent(uow)
    assert after[world.a1][0] == before[world.a1][0] - 5 - 1.5
    assert after[world.a2][0] == before[world.a2][0] - 5 - 1.5
    rows = await history(uow, world, "AUTO")
    assert ("test_status", "PARTIALLY_TESTED", "AUTOMATION") in rows
    assert ("automation_fraction", "0.5", "AUTOMATION") in rows
    (score_event,) = [
        p
        for kind, p in await events(uow, world, "AUTO")
        if kind == "SCORE_CHANGE" and p["source"] == "AUTOMATION"
    ]
    assert score_event["delta"] == -5
    assert {a["assessmentId"]: a["delta"] for a in score_event["assessments"]} == {
        world.a1: -5,
        world.a2: -5,
    }

    # Automation-only statuses; leaving IMPLEMENTED clears the implementation date only.
    action = await ok(
        api,
        world,
        RECORD,
        "automation",
        actionId=world.gid("AUTO"),
        implementationStatus="PARTIALLY_IMPLEMENTED",
        testStatus="TO_BE_DETECTED",
    )
    assert (action["implementationStatus"], action["testStatus"]) == (
        "PARTIALLY_IMPLEMENTED",
        "TO_BE_DETECTED",
    )
    assert (action["implementationDate"], action["testDate"]) == (None, D2.isoformat())
    assert action["automationFraction"] is None
    assert action["score"] == {"earned": 0.0, "possible": 10}
    assert (await state(api, world, "C"))["testStatus"] == "TO_BE_DETECTED"
    await assert_scores_consistent(uow)


async def test_automation_results_are_for_service_accounts_and_automatic_actions(
    uow, api, world
) -> None:
    await set_source(api, world, "AUTO", "AUTOMATIC", "ADMINISTRATOR")
    result = {
        "actionId": world.gid("AUTO"),
        "implementationStatus": "IMPLEMENTED",
        "testStatus": "PASSED",
    }
    for role in ("OWNER", "ADMINISTRATOR", "ASSESSOR"):
        await refused(api, world, RECORD, role, "FORBIDDEN", None, **result)
    await refused(
        api,
        world,
        RECORD,
        "automation",
        "INVALID",
        "actionId",
        **{**result, "actionId": world.gid("X")},
    )
    await refused(
        api,
        world,
        RECORD,
        "automation",
        "INVALID",
        "fraction",
        **{**result, "testStatus": "PARTIALLY_TESTED"},
    )
    await refused(
        api,
        world,
        RECORD,
        "automation",
        "INVALID",
        "fraction",
        **{**result, "testStatus": "PARTIALLY_TESTED", "fraction": 1.5},
    )
    await refused(api, world, RECORD, "automation", "INVALID", "fraction", **result, fraction=0.3)
    await refused(
        api,
        world,
        RECORD,
        "automation",
        "INVALID",
        "testStatus",
        **{**result, "testStatus": "OUT_OF_SCOPE"},
    )
    assert (await state(api, world, "AUTO"))["testStatus"] == "NONE"
    # Automation-only values stay out of reach of people.
    await refused(
        api,
        world,
        UPDATE_IMPLEMENTATION,
        "OWNER",
        "INVALID",
        "implementationStatus",
        actionId=world.gid("X"),
        version=(await state(api, world, "X"))["version"],
        implementationStatus="PARTIALLY_IMPLEMENTED",
    )
    action = await ok(api, world, RECORD, "automation", **result)
    assert action["score"] == {"earned": 10.0, "possible": 10}
    await assert_scores_consistent(uow)


async def test_hand_entered_testing_data_and_automatic_actions(uow, api, world) -> None:
    await edit(
        api,
        world,
        "AUTO",
        UPDATE_IMPLEMENTATION,
        implementationStatus="IMPLEMENTED",
        implementationDate=D1.isoformat(),
    )
    await set_source(api, world, "AUTO", "AUTOMATIC", "ADMINISTRATOR")
    version = (await state(api, world, "AUTO"))["version"]
    for fields in ({"testStatus": "PASSED"}, {"testingNotes": "looked at it"}):
        await refused(
            api,
            world,
            UPDATE_TESTING,
            "ASSESSOR",
            "INVALID",
            "testingSource",
            actionId=world.gid("AUTO"),
            version=version,
            **fields,
        )
    # Implementation fields stay editable.
    action = await edit(api, world, "AUTO", UPDATE_IMPLEMENTATION, implementationNotes="ok")
    assert action["testingSource"] == "AUTOMATIC"

    # Evidence by hand takes the action out of automation ...
    async with uow() as u:
        await add_evidence_link(u, world.owner, world.ids["AUTO"], "Screenshot", "https://e.test/s")
    assert (await state(api, world, "AUTO"))["testingSource"] == "MANUAL"
    assert ("testing_source", "MANUAL", "USER") in await history(uow, world, "AUTO")

    # ... and so does a test date entered by hand.
    await set_source(api, world, "AUTO", "AUTOMATIC", "ADMINISTRATOR")
    action = await edit(api, world, "AUTO", UPDATE_TESTING, testDate=D2.isoformat())
    assert (action["testingSource"], action["testDate"]) == ("MANUAL", D2.isoformat())
    action = await edit(api, world, "AUTO", UPDATE_TESTING, testStatus="PASSED")
    assert action["score"] == {"earned": 10.0, "possible": 10}
    await assert_scores_consistent(uow)


# -- the organisation setting ------------------------------------------------------------------


async def settings(api: Any, world: World, role: str, value: str) -> dict[str, Any]:
    data = await api.query(
        UPDATE_SETTINGS, {"input": {"automaticTesting": value}}, token=world.tokens[role]
    )
    return data["updateOrganisationSettings"]


async def test_on_for_all_and_off_for_all(uow, api, world) -> None:
    assert await api.query(ORGANISATION, token=world.tokens["READER"]) == {
        "organisation": {"name": "My organisation", "automaticTesting": "PER_ACTION"}
    }
    # AUTO2 has the organisation's own data (testing notes); AUTO has none.
    await edit(
        api,
        world,
        "AUTO2",
        UPDATE_IMPLEMENTATION,
        implementationStatus="IMPLEMENTED",
        implementationDate=D1.isoformat(),
    )
    await edit(api, world, "AUTO2", UPDATE_TESTING, testingNotes="we test this ourselves")

    result = await settings(api, world, "OWNER", "ON_FOR_ALL")
    assert result == {
        "organisation": {"name": "My organisation", "automaticTesting": "ON_FOR_ALL"},
        "actionsSwitched": 1,
        "userErrors": [],
    }
    assert await api.query(ORGANISATION, token=world.tokens["READER"]) == {
        "organisation": {"name": "My organisation", "automaticTesting": "ON_FOR_ALL"}
    }
    sources = {n: (await state(api, world, n))["testingSource"] for n in ("AUTO", "AUTO2", "X")}
    assert sources == {"AUTO": "AUTOMATIC", "AUTO2": "MANUAL", "X": "MANUAL"}
    assert ("testing_source", "AUTOMATIC", "USER") in await history(uow, world, "AUTO")

    result = await settings(api, world, "OWNER", "OFF_FOR_ALL")
    assert result["actionsSwitched"] == 1
    assert (await state(api, world, "AUTO"))["testingSource"] == "MANUAL"
    version = (await state(api, world, "AUTO"))["version"]
    message = await refused(
        api,
        world,
        SET_SOURCE,
        "ADMINISTRATOR",
        "INVALID",
        "testingSource",
        actionId=world.gid("AUTO"),
        version=version,
        testingSource="AUTOMATIC",
    )
    assert "off for all" in message

    result = await settings(api, world, "OWNER", "PER_ACTION")
    assert result["actionsSwitched"] == 0
    assert (await set_source(api, world, "AUTO", "AUTOMATIC", "ADMINISTRATOR"))[
        "testingSource"
    ] == "AUTOMATIC"
    # Setting the same value again changes nothing.
    assert (await settings(api, world, "OWNER", "PER_ACTION"))["actionsSwitched"] == 0
    await assert_scores_consistent(uow)


async def test_evidence_counts_as_own_data_for_on_for_all(uow, api, world) -> None:
    async with uow() as u:
        await add_evidence_link(u, world.owner, world.ids["AUTO"], "Our proof", "https://e.test/o")
    assert (await settings(api, world, "OWNER", "ON_FOR_ALL"))["actionsSwitched"] == 1
    assert (await state(api, world, "AUTO"))["testingSource"] == "MANUAL"
    assert (await state(api, world, "AUTO2"))["testingSource"] == "AUTOMATIC"


@pytest.mark.parametrize("role", ["READER", "ASSESSOR", "ADMINISTRATOR"])
async def test_only_owners_change_the_setting(api, world, role) -> None:
    result = await settings(api, world, role, "ON_FOR_ALL")
    assert result["organisation"] is None
    assert [(e["code"], e["field"]) for e in result["userErrors"]] == [("FORBIDDEN", None)]
    data = await api.query(ORGANISATION, token=world.tokens[role])
    assert data["organisation"]["automaticTesting"] == "PER_ACTION"
    assert (await state(api, world, "AUTO"))["testingSource"] == "MANUAL"


async def test_action_gaining_automation_follows_the_setting(uow, api, world) -> None:
    """Domain level: what the definition-update path calls once an instance gains automation."""
    await edit(
        api,
        world,
        "AUTO2",
        UPDATE_IMPLEMENTATION,
        implementationStatus="IMPLEMENTED",
        implementationDate=D1.isoformat(),
    )
    await edit(api, world, "AUTO2", UPDATE_TESTING, testStatus="PASSED", testDate=D2.isoformat())
    await settings(api, world, "OWNER", "ON_FOR_ALL")
    await set_source(api, world, "AUTO", "MANUAL", "ADMINISTRATOR")
    async with uow() as u:
        auto = await u.session.get(ImprovementAction, world.ids["AUTO"])
        auto2 = await u.session.get(ImprovementAction, world.ids["AUTO2"])
        x = await u.session.get(ImprovementAction, world.ids["X"])
        assert await on_automation_available(u, auto) is True
        assert await on_automation_available(u, auto2) is False  # has its own results
        assert await on_automation_available(u, x) is False  # no automation available
    assert ("testing_source", "AUTOMATIC", ChangeSource.UPDATE.value) in await history(
        uow, world, "AUTO"
    )
    assert (await state(api, world, "AUTO2"))["testingSource"] == "MANUAL"
    # Under OFF_FOR_ALL an action that gains automation stays as it is; under PER_ACTION it
    # follows automation when it gains it, not when an administrator chose MANUAL before.
    async with uow() as u:
        auto = await u.session.get(ImprovementAction, world.ids["AUTO"])
        auto.testing_source = TestingSource.MANUAL
    await settings(api, world, "OWNER", AutomaticTesting.OFF_FOR_ALL.value)
    async with uow() as u:
        auto = await u.session.get(ImprovementAction, world.ids["AUTO"])
        assert await on_automation_available(u, auto) is False
    await settings(api, world, "OWNER", AutomaticTesting.PER_ACTION.value)
    async with uow() as u:
        auto = await u.session.get(ImprovementAction, world.ids["AUTO"])
        assert await on_automation_available(u, auto, gained=False) is False
        assert await on_automation_available(u, auto) is True
    await assert_scores_consistent(uow)
