"""Automatic testing defaults (DOMAIN.md sections 5 and 10).

A new installation starts ON_FOR_ALL; under PER_ACTION an action that gains automation (new,
or by an accepted update) and holds none of the organisation's own data starts AUTOMATIC;
provider actions never wait on an update notice.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from sqlalchemy import func, select

from cmgraph.domain.assessments import NewAssessment, create_assessment
from cmgraph.domain.enums import (
    AutomaticTesting,
    Enforcement,
    EventType,
    ImplementationType,
    OrgRole,
    Owner,
    Purpose,
)
from cmgraph.domain.models import Event
from cmgraph.domain.organisation import organisation
from cmgraph.domain.templates import ActionSpec, import_template
from tests.builders import _template

AUTO = ActionSpec(
    "ad:auto",
    "Automated",
    ImplementationType.OPERATIONAL,
    Enforcement.MANDATORY,
    Purpose.PREVENTATIVE,
    automatic_testing_available=True,
)
LATER = ActionSpec(
    "ad:later",
    "Automated later",
    ImplementationType.TECHNICAL,
    Enforcement.MANDATORY,
    Purpose.DETECTIVE,
)
HAND = ActionSpec(
    "ad:hand", "By hand", ImplementationType.TECHNICAL, Enforcement.MANDATORY, Purpose.CORRECTIVE
)
PROV = ActionSpec(
    "ad:prov",
    "Provider's",
    ImplementationType.TECHNICAL,
    Enforcement.MANDATORY,
    Purpose.PREVENTATIVE,
    owner=Owner.PROVIDER,
    automatic_testing_available=True,
)
CONTROLS = {"K1": (AUTO, LATER, HAND, PROV)}

ACTIONS = """{ improvementActions(first: 50, orderBy: {field: KEY}) { nodes {
  key testingSource pendingUpdate points group { name } score { earned possible }
  history { field newValue source } } } }"""

ACCEPT = """mutation($input: AcceptActionUpdateInput!) {
  acceptActionUpdate(input: $input) { improvementAction { testingSource }
    userErrors { code message } } }"""

SET_SOURCE = """mutation($input: SetTestingSourceInput!) {
  setTestingSource(input: $input) { improvementAction { testingSource }
    userErrors { code message } } }"""

UPDATE_TESTING = """mutation($input: UpdateTestingInput!) {
  updateTesting(input: $input) { userErrors { code message } } }"""


@pytest.fixture
async def admin(token_for) -> str:
    return await token_for("admin@ad.test", OrgRole.ADMINISTRATOR)


async def actions(api, token: str) -> dict[tuple[str, str | None], dict[str, Any]]:
    nodes = (await api.query(ACTIONS, token=token))["improvementActions"]["nodes"]
    return {(n["key"], (n["group"] or {}).get("name")): n for n in nodes}


async def setting(uow, value: AutomaticTesting) -> None:
    async with uow() as u:
        (await organisation(u)).automatic_testing = value


async def start(uow, owner, controls: dict[str, tuple[ActionSpec, ...]] = CONTROLS) -> int:
    async with uow() as u:
        imported = await import_template(u, _template("ad", "Regulation AD", controls), source="t")
        assessment = await create_assessment(
            u, owner, NewAssessment(imported.template.id, "A1", new_group_name="G1")
        )
        return assessment.group_id


async def test_a_new_installation_tests_eligible_actions_automatically(
    uow, api, owner, admin
) -> None:
    data = await api.query("{ organisation { automaticTesting } }", token=admin)
    assert data == {"organisation": {"automaticTesting": "ON_FOR_ALL"}}
    await start(uow, owner)
    found = await actions(api, admin)
    assert found[(AUTO.key, "G1")]["testingSource"] == "AUTOMATIC"
    assert found[(HAND.key, None)]["testingSource"] == "MANUAL"  # nothing to automate
    assert found[(PROV.key, None)]["testingSource"] == "MANUAL"  # the provider's, not ours


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (AutomaticTesting.ON_FOR_ALL, "AUTOMATIC"),
        (AutomaticTesting.PER_ACTION, "AUTOMATIC"),
        (AutomaticTesting.OFF_FOR_ALL, "MANUAL"),
    ],
)
async def test_a_new_action_follows_the_setting(uow, api, owner, admin, value, expected) -> None:
    await setting(uow, value)
    await start(uow, owner)
    found = await actions(api, admin)
    assert found[(AUTO.key, "G1")]["testingSource"] == expected
    if expected == "AUTOMATIC":
        assert ("testing_source", "AUTOMATIC", "UPDATE") in {
            (h["field"], h["newValue"], h["source"]) for h in found[(AUTO.key, "G1")]["history"]
        }


async def test_under_per_action_copied_own_data_keeps_an_action_manual(
    uow, api, owner, admin, token_for
) -> None:
    await setting(uow, AutomaticTesting.OFF_FOR_ALL)
    group_id = await start(uow, owner)
    assessor = await token_for("assessor@ad.test", OrgRole.ASSESSOR)
    data = await api.query(
        "query($id: ID!) { node(id: $id) { ... on ImprovementAction { id version } } }",
        {"id": (await _ids(api, admin))[(AUTO.key, "G1")]},
        token=admin,
    )
    node = data["node"]
    result = await api.query(
        UPDATE_TESTING,
        {"input": {"actionId": node["id"], "version": node["version"], "testingNotes": "Ours."}},
        token=assessor,
    )
    assert result["updateTesting"]["userErrors"] == []
    await setting(uow, AutomaticTesting.PER_ACTION)
    async with uow() as u:
        template_id = (
            await import_template(u, _template("ad", "Regulation AD", CONTROLS), source="t")
        ).template.id
        await create_assessment(
            u,
            owner,
            NewAssessment(template_id, "A2", new_group_name="G2", copy_from_group_id=group_id),
        )
        await create_assessment(u, owner, NewAssessment(template_id, "A3", new_group_name="G3"))
    found = await actions(api, admin)
    assert found[(AUTO.key, "G2")]["testingSource"] == "MANUAL"  # copied testing notes
    assert found[(AUTO.key, "G3")]["testingSource"] == "AUTOMATIC"
    assert found[(AUTO.key, "G1")]["testingSource"] == "MANUAL"  # the setting moves nobody


async def _ids(api, token: str) -> dict[tuple[str, str | None], str]:
    nodes = (
        await api.query(
            "{ improvementActions(first: 50) { nodes { id key group { name } } } }", token=token
        )
    )["improvementActions"]["nodes"]
    return {(n["key"], (n["group"] or {}).get("name")): n["id"] for n in nodes}


async def test_under_per_action_an_accepted_update_that_brings_automation_turns_it_on(
    uow, api, owner, admin
) -> None:
    await setting(uow, AutomaticTesting.PER_ACTION)
    await start(uow, owner)
    ids = await _ids(api, admin)
    # An administrator takes AUTO off automation; LATER has none yet.
    version = (
        await api.query(
            "query($id: ID!) { node(id: $id) { ... on ImprovementAction { version } } }",
            {"id": ids[(AUTO.key, "G1")]},
            token=admin,
        )
    )["node"]["version"]
    result = await api.query(
        SET_SOURCE,
        {
            "input": {
                "actionId": ids[(AUTO.key, "G1")],
                "version": version,
                "testingSource": "MANUAL",
            }
        },
        token=admin,
    )
    assert result["setTestingSource"]["userErrors"] == []

    later = dataclasses.replace(LATER, automatic_testing_available=True)
    auto = dataclasses.replace(AUTO, guidance="Now with a note.")
    async with uow() as u:
        await import_template(
            u, _template("ad", "Regulation AD", {"K1": (auto, later, HAND, PROV)}), source="t"
        )
    for key in (LATER.key, AUTO.key):
        group = None if key == LATER.key else "G1"
        data = await api.query(ACCEPT, {"input": {"actionId": ids[(key, group)]}}, token=admin)
        assert data["acceptActionUpdate"]["userErrors"] == []
    found = await actions(api, admin)
    assert found[(LATER.key, None)]["testingSource"] == "AUTOMATIC"  # gained it
    assert found[(AUTO.key, "G1")]["testingSource"] == "MANUAL"  # the administrator's choice


async def test_provider_actions_take_new_versions_at_once(uow, api, owner, admin, db) -> None:
    await start(uow, owner)
    before = (await actions(api, admin))[(PROV.key, None)]
    assert (before["points"], before["pendingUpdate"]) == (27, False)
    async with uow() as u:
        imported = await import_template(
            u,
            _template(
                "ad",
                "Regulation AD",
                {"K1": (AUTO, LATER, HAND, dataclasses.replace(PROV, points=20))},
            ),
            source="t",
        )
    assert (imported.actions_pending_update, imported.provider_actions_updated) == (0, 1)
    after = (await actions(api, admin))[(PROV.key, None)]
    assert (after["points"], after["pendingUpdate"], after["testingSource"]) == (
        20,
        False,
        "MANUAL",
    )
    assert after["score"] == {"earned": 0.0, "possible": 20}
    assert ("definition_version", "2", "UPDATE") in {
        (h["field"], h["newValue"], h["source"]) for h in after["history"]
    }
    data = await api.query(
        "{ assessments { nodes { pendingUpdate score { possible } } } }", token=admin
    )
    assert data["assessments"]["nodes"] == [
        {"pendingUpdate": False, "score": {"possible": 27 + 3 + 3 + 20}}
    ]
    async with db.sessions() as session:
        notices = await session.scalar(
            select(func.count())
            .select_from(Event)
            .where(Event.type == EventType.UPDATE_AVAILABLE.value)
        )
    assert notices == 0
