"""Re-testing cadence and lapsed points (DOMAIN.md section 15), through the API.

T1 (27 points) passed on 2026-01-15 in the worked example; the clock stands on 2026-03-02
and moves on by steps.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select
from strawberry.relay import to_base64

from cmgraph.domain import calendar_upkeep, clock
from cmgraph.domain.assessments import NewAssessment, create_assessment
from cmgraph.domain.enums import ChangeSource, EventType
from cmgraph.domain.models import (
    ActionDefinitionVersion,
    Control,
    ControlAction,
    Event,
    HistoryEntry,
    ImprovementAction,
    Template,
)
from cmgraph.domain.templates import import_template
from tests.builders import DAY, N1, T1, T2, _template, passed
from tests.stored_figures import scores_agree

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)

ACTION = """
query($id: ID!) {
  node(id: $id) { ... on ImprovementAction {
    version testDate retestIntervalDays effectiveRetestIntervalDays retestDueOn isRetestDue
    pointsLapsed score { earned possible } } }
}"""

UPDATE = """
mutation($input: UpdateImprovementActionInput!) {
  updateImprovementAction(input: $input) {
    improvementAction { retestIntervalDays retestDueOn isRetestDue pointsLapsed
                        score { earned possible } }
    userErrors { field code message }
  }
}"""

SETTINGS = """
mutation($input: UpdateOrganisationSettingsInput!) {
  updateOrganisationSettings(input: $input) {
    organisation { retestLosesPoints dueSoonDays }
    userErrors { field code message }
  }
}"""

SCORE = "{ complianceScore { overall { earned possible } retestDueCount } }"


@pytest.fixture(autouse=True)
def frozen_clock():
    clock.freeze(NOW)
    yield
    clock.reset()


def gid(action) -> str:
    return to_base64("ImprovementAction", action.id)


async def read(api, action, token: str) -> dict:
    return (await api.query(ACTION, {"id": gid(action)}, token=token))["node"]


async def set_interval(api, action, token: str, days: int | None) -> dict:
    version = (await read(api, action, token))["version"]
    data = await api.query(
        UPDATE,
        {"input": {"actionId": gid(action), "version": version, "retestIntervalDays": days}},
        token=token,
    )
    return data["updateImprovementAction"]


async def settings(api, token: str, **values) -> dict:
    return (await api.query(SETTINGS, {"input": values}, token=token))["updateOrganisationSettings"]


async def test_a_cadence_schedules_the_retest_from_the_test_date(api, example, tokens) -> None:
    t1 = example.actions["T1"]
    contributor = tokens["CONTRIBUTOR"]
    fresh = await read(api, t1, contributor)
    assert (fresh["retestIntervalDays"], fresh["retestDueOn"], fresh["isRetestDue"]) == (
        None,
        None,
        False,
    )
    payload = await set_interval(api, t1, contributor, 60)
    assert payload["userErrors"] == []
    action = payload["improvementAction"]
    assert action["retestDueOn"] == (DAY + timedelta(days=60)).isoformat()  # 2026-03-16
    assert (action["isRetestDue"], action["pointsLapsed"]) == (False, False)

    clock.advance(timedelta(days=14))  # 2026-03-16: the day itself is due
    later = await read(api, t1, contributor)
    assert (later["isRetestDue"], later["pointsLapsed"]) == (True, False)
    assert later["score"] == {"earned": 27.0, "possible": 27}  # the setting is off by default

    # A shorter cadence makes it due at once; null clears it.
    clock.reset()
    clock.freeze(NOW)
    assert (await set_interval(api, t1, contributor, 30))["improvementAction"]["isRetestDue"]
    cleared = (await set_interval(api, t1, contributor, None))["improvementAction"]
    assert (cleared["retestIntervalDays"], cleared["retestDueOn"]) == (None, None)


async def test_only_passed_actions_have_a_retest_day(api, example, tokens) -> None:
    t2 = example.actions["T2"]  # not implemented
    action = (await set_interval(api, t2, tokens["CONTRIBUTOR"], 30))["improvementAction"]
    assert (action["retestIntervalDays"], action["retestDueOn"]) == (30, None)


async def test_the_cadence_is_validated(api, example, tokens) -> None:
    t1 = example.actions["T1"]
    for days in (0, -5, 3661):
        payload = await set_interval(api, t1, tokens["CONTRIBUTOR"], days)
        errors = [(e["field"], e["code"]) for e in payload["userErrors"]]
        assert errors == [(["input", "retestIntervalDays"], "INVALID")], days
    assert (await read(api, t1, tokens["READER"]))["retestIntervalDays"] is None


async def test_lapsed_points_come_and_go_with_the_setting_and_a_retest(
    api, db, uow, example, tokens
) -> None:
    t1 = example.actions["T1"]
    owner, assessor = tokens["OWNER"], tokens["ASSESSOR"]
    await set_interval(api, t1, tokens["CONTRIBUTOR"], 30)  # due since 2026-02-14
    before = (await api.query(SCORE, token=owner))["complianceScore"]
    assert before["retestDueCount"] == 1

    # Turning the setting on takes the points of actions already due, at once.
    assert (await settings(api, owner, retestLosesPoints=True))["organisation"] == {
        "retestLosesPoints": True,
        "dueSoonDays": 7,
    }
    lapsed = await read(api, t1, assessor)
    assert lapsed["pointsLapsed"] is True
    assert lapsed["score"] == {"earned": 0.0, "possible": 27}
    after = (await api.query(SCORE, token=owner))["complianceScore"]["overall"]
    assert after == {
        "earned": before["overall"]["earned"] - 27,
        "possible": before["overall"]["possible"],
    }
    await scores_agree(uow)
    async with db.sessions() as session:
        row = await session.scalar(
            select(HistoryEntry)
            .where(HistoryEntry.action_id == t1.id, HistoryEntry.field == "retest_lapsed")
            .order_by(HistoryEntry.id.desc())
        )
        change = await session.scalar(
            select(Event)
            .where(Event.action_id == t1.id, Event.type == EventType.SCORE_CHANGE)
            .order_by(Event.id.desc())
        )
    assert row is not None
    assert (row.old_value, row.new_value, row.source) == ("false", "true", ChangeSource.AUTOMATION)
    assert change is not None and change.payload["delta"] == -27

    # A retest (a new test date) gives them back and schedules the next one.
    data = await api.query(
        """mutation($input: UpdateTestingInput!) { updateTesting(input: $input) {
            improvementAction { pointsLapsed isRetestDue retestDueOn score { earned } }
            userErrors { code } } }""",
        {"input": {"actionId": gid(t1), "version": lapsed["version"], "testDate": "2026-03-01"}},
        token=assessor,
    )
    assert data["updateTesting"]["improvementAction"] == {
        "pointsLapsed": False,
        "isRetestDue": False,
        "retestDueOn": "2026-03-31",
        "score": {"earned": 27.0},
    }

    # Days pass: the daily upkeep takes them away again, once.
    clock.advance(timedelta(days=29))  # 2026-03-31
    async with uow() as u:
        assert await calendar_upkeep.lapse_retests(u, clock.today()) == 1
    async with uow() as u:
        assert await calendar_upkeep.lapse_retests(u, clock.today()) == 0
    assert (await read(api, t1, assessor))["score"] == {"earned": 0.0, "possible": 27}
    await scores_agree(uow)

    # Turning the setting off gives every lapsed action its points back.
    assert (await settings(api, owner, retestLosesPoints=False))["userErrors"] == []
    back = await read(api, t1, assessor)
    assert (back["pointsLapsed"], back["isRetestDue"]) == (False, True)
    assert back["score"] == {"earned": 27.0, "possible": 27}
    await scores_agree(uow)


async def test_the_daily_upkeep_does_nothing_while_the_setting_is_off(
    api, uow, example, tokens
) -> None:
    await set_interval(api, example.actions["T1"], tokens["CONTRIBUTOR"], 30)
    async with uow() as u:
        assert await calendar_upkeep.lapse_retests(u, clock.today()) == 0
    assert (await read(api, example.actions["T1"], tokens["READER"]))["pointsLapsed"] is False


async def test_settings_are_for_owners_and_bounded(api, example, tokens) -> None:
    refused = await settings(api, tokens["ADMINISTRATOR"], retestLosesPoints=True)
    assert [e["code"] for e in refused["userErrors"]] == ["FORBIDDEN"]
    for days in (0, 366):
        payload = await settings(api, tokens["OWNER"], dueSoonDays=days)
        errors = [(e["field"], e["code"]) for e in payload["userErrors"]]
        assert errors == [(["input", "dueSoonDays"], "INVALID")]
    data = await api.query(
        "{ organisation { dueSoonDays retestLosesPoints } }", token=tokens["READER"]
    )
    assert data["organisation"] == {"dueSoonDays": 7, "retestLosesPoints": False}


async def test_retest_due_filter(api, example, tokens) -> None:
    await set_interval(api, example.actions["T1"], tokens["CONTRIBUTOR"], 30)
    query = """query($filter: ImprovementActionFilter) {
        improvementActions(filter: $filter) { nodes { title isRetestDue } } }"""
    due = await api.query(query, {"filter": {"retestDue": True}}, token=tokens["READER"])
    assert due["improvementActions"]["nodes"] == [{"title": "T1", "isRetestDue": True}]
    rest = await api.query(query, {"filter": {"retestDue": False}}, token=tokens["READER"])
    assert "T1" not in [n["title"] for n in rest["improvementActions"]["nodes"]]
    assert rest["improvementActions"]["nodes"]


async def test_the_definition_default_applies_until_the_action_has_its_own(
    api, uow, owner, tokens
) -> None:
    """A template's cadence is a default; an accepted update that changes it moves the day."""
    with_default = replace(T1, retest_interval_days=90)
    spec = _template("cad", "Regulation C", {"C1": (with_default, N1), "C2": (T2,)})
    async with uow() as u:
        await import_template(u, spec, source="test")
        example = await worked_example_of(u, owner, spec)
    t1 = example["T1"]
    action = await read(api, t1, tokens["READER"])
    assert (action["retestIntervalDays"], action["effectiveRetestIntervalDays"]) == (None, 90)
    assert action["retestDueOn"] == (DAY + timedelta(days=90)).isoformat()

    own = (await set_interval(api, t1, tokens["CONTRIBUTOR"], 10))["improvementAction"]
    assert own["retestDueOn"] == (DAY + timedelta(days=10)).isoformat()
    await set_interval(api, t1, tokens["CONTRIBUTOR"], None)

    # A new definition version with a shorter default, accepted by an administrator.
    shorter = replace(T1, retest_interval_days=30)
    async with uow() as u:
        await import_template(
            u, _template("cad", "Regulation C", {"C1": (shorter, N1), "C2": (T2,)}), source="t"
        )
    pending = await api.query(
        """query($id: ID!) { node(id: $id) { ... on ImprovementAction {
            pendingUpdate pendingUpdateChanges { field currentValue newValue } } } }""",
        {"id": gid(t1)},
        token=tokens["READER"],
    )
    assert pending["node"] == {
        "pendingUpdate": True,
        "pendingUpdateChanges": [
            {"field": "DEFAULT_RETEST_INTERVAL_DAYS", "currentValue": "90", "newValue": "30"}
        ],
    }
    data = await api.query(
        """mutation($input: AcceptActionUpdateInput!) { acceptActionUpdate(input: $input) {
            userErrors { code } } }""",
        {"input": {"actionId": gid(t1)}},
        token=tokens["ADMINISTRATOR"],
    )
    assert data["acceptActionUpdate"]["userErrors"] == []
    moved = await read(api, t1, tokens["READER"])
    assert moved["effectiveRetestIntervalDays"] == 30
    assert moved["retestDueOn"] == date(2026, 2, 14).isoformat()
    assert moved["isRetestDue"] is True


async def worked_example_of(u, owner, spec) -> dict:
    """One assessment of ``spec`` with T1 passed on DAY."""
    template = await u.session.scalar(select(Template).where(Template.key == spec.key))
    assessment = await create_assessment(
        u, owner, NewAssessment(template.id, "Cadence", new_group_name="GC")
    )
    actions = await _actions_of(u, assessment.id)
    await passed(u, owner, actions["T1"].id)
    return actions


async def _actions_of(u, assessment_id: int) -> dict:
    rows = await u.session.execute(
        select(ActionDefinitionVersion.title, ImprovementAction)
        .join(ControlAction, ControlAction.action_id == ImprovementAction.id)
        .join(Control, Control.id == ControlAction.control_id)
        .join(
            ActionDefinitionVersion,
            ActionDefinitionVersion.id == ImprovementAction.definition_version_id,
        )
        .where(Control.assessment_id == assessment_id)
    )
    return {title: action for title, action in rows.all()}


async def test_a_copied_pass_keeps_its_cadence_and_retest_day(api, uow, example, owner, tokens):
    """Copy from group: the new group's instance is due for retest as the original is."""
    n1 = example.actions["N1@G1"]  # passed on DAY in G1
    await set_interval(api, n1, tokens["CONTRIBUTOR"], 20)
    spec = _template("copy", "Regulation Copy", {"K1": (N1,)})
    async with uow() as u:
        template = (await import_template(u, spec, source="test")).template
        g1 = example.a1.group_id
        assessment = await create_assessment(
            u,
            owner,
            NewAssessment(template.id, "Copied", new_group_name="G3", copy_from_group_id=g1),
        )
        copy = (await _actions_of(u, assessment.id))["N1"]
    action = await read(api, copy, tokens["READER"])
    assert action["retestIntervalDays"] == 20
    assert action["retestDueOn"] == (DAY + timedelta(days=20)).isoformat()
    assert action["isRetestDue"] is True


async def test_nested_reads_show_the_same_retest_fields(api, example, tokens) -> None:
    """Actions read through controls (flat rows) agree with actions read by id."""
    t1 = example.actions["T1"]
    await set_interval(api, t1, tokens["CONTRIBUTOR"], 30)
    data = await api.query(
        """query($id: ID!) { node(id: $id) { ... on Assessment { controls { actions {
            title retestIntervalDays effectiveRetestIntervalDays retestDueOn isRetestDue
            pointsLapsed dueState hasExpiredEvidence } } } } }""",
        {"id": to_base64("Assessment", example.a1.id)},
        token=tokens["READER"],
    )
    seen = {
        a["title"]: a for c in data["node"]["controls"] for a in c["actions"] if a["title"] == "T1"
    }
    assert seen["T1"] == {
        "title": "T1",
        "retestIntervalDays": 30,
        "effectiveRetestIntervalDays": 30,
        "retestDueOn": "2026-02-14",
        "isRetestDue": True,
        "pointsLapsed": False,
        "dueState": "NONE",
        "hasExpiredEvidence": False,
    }
