"""Alert policies and alerts through GraphQL: CRUD, validation, the default policy's rules,
who may do what, the alerts list with its filters and events log, updateAlert, and the
statement count of the alerts list.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update
from strawberry.relay import to_base64

from cmgraph.alerts.evaluator import evaluate_pending
from cmgraph.domain.enums import ImplementationStatus, OrgRole, TestStatus
from cmgraph.domain.models import Event, User
from cmgraph.domain.workflow import change_action
from tests.builders import DAY, worked_example
from tests.report_data import count_statements

T0 = datetime(2024, 5, 6, 9, 0, tzinfo=UTC)  # before any real clock reading: updates sort last

POLICY_FIELDS = """
    id name description severity trigger thresholdCount thresholdMinutes aggregationSeconds
    conditions { type direction minPoints toStatuses }
    scope { assessments { name } groups { name } regulations { name } categories }
    recipients { email } recipientRoles enabled isDefault createdBy { email }
"""
CREATE = f"""
mutation($input: CreateAlertPolicyInput!) {{
  createAlertPolicy(input: $input) {{ alertPolicy {{ {POLICY_FIELDS} }} userErrors {{ field code message }} }}
}}"""
UPDATE = f"""
mutation($input: UpdateAlertPolicyInput!) {{
  updateAlertPolicy(input: $input) {{ alertPolicy {{ {POLICY_FIELDS} }} userErrors {{ field code message }} }}
}}"""
DELETE = """
mutation($input: DeleteAlertPolicyInput!) {
  deleteAlertPolicy(input: $input) { deletedAlertPolicyId userErrors { field code message } }
}"""
POLICIES = f"""
query($filter: AlertPolicyFilter, $orderBy: AlertPolicyOrder) {{
  alertPolicies(filter: $filter, orderBy: $orderBy) {{ totalCount nodes {{ {POLICY_FIELDS} }} }}
}}"""
ALERT_FIELDS = """
    id policyName severity status detectedAt kind eventCount
    policy { name } assignee { email }
    events { type occurredAt pointsDelta fromStatus toStatus details
             user { email } action { key } assessments { name } }
"""
ALERTS = f"""
query($filter: AlertFilter, $orderBy: AlertOrder, $first: Int) {{
  alerts(filter: $filter, orderBy: $orderBy, first: $first) {{ totalCount nodes {{ {ALERT_FIELDS} }} }}
}}"""
UPDATE_ALERT = f"""
mutation($input: UpdateAlertInput!) {{
  updateAlert(input: $input) {{ alert {{ {ALERT_FIELDS} }} userErrors {{ field code message }} }}
}}"""


class World:
    def __init__(self, db: Any, uow: Any, api: Any, owner: Any, example: Any) -> None:
        self.db, self.uow, self.api, self.owner, self.example = db, uow, api, owner, example
        self.tokens: dict[str, str] = {}
        self.ids: dict[str, str] = {
            **{name: to_base64("ImprovementAction", a.id) for name, a in example.actions.items()},
            "A1": to_base64("Assessment", example.a1.id),
            "A2": to_base64("Assessment", example.a2.id),
            "A3": to_base64("Assessment", example.a3.id),
            "G1": to_base64("Group", example.a1.group_id),
            "G2": to_base64("Group", example.a3.group_id),
        }

    async def user_id(self, email: str) -> int:
        async with self.db.sessions() as session:
            return int(await session.scalar(select(User.id).where(User.email == email)))

    async def gid(self, email: str) -> str:
        return to_base64("User", await self.user_id(email))

    async def mutate(self, document: str, name: str, input: dict[str, Any], role: str) -> Any:
        data = await self.api.query(document, {"input": input}, token=self.tokens[role])
        return data[name]

    async def create(self, role: str = "CONTRIBUTOR", **input: Any) -> dict[str, Any]:
        input.setdefault("conditions", [{"type": "SCORE_CHANGE"}])
        result = await self.mutate(CREATE, "createAlertPolicy", input, role)
        assert result["userErrors"] == [], result["userErrors"]
        return result["alertPolicy"]

    async def change(self, action: str, **changes: Any) -> None:
        async with self.uow() as u:
            await change_action(u, self.owner, self.example.actions[action].id, changes)

    async def evaluate(self, at: datetime) -> int:
        return await evaluate_pending(self.db.sessions, now=at)

    async def alerts(self, role: str, **variables: Any) -> dict[str, Any]:
        data = await self.api.query(ALERTS, variables, token=self.tokens[role])
        return data["alerts"]


@pytest.fixture
async def world(db, uow, api, owner, token_for) -> World:
    async with uow() as u:
        example = await worked_example(u, owner)
    w = World(db, uow, api, owner, example)
    for role in OrgRole:
        w.tokens[role.value] = await token_for(f"{role.value.lower()}@alerts.test", role)
    w.tokens["SCOPED"] = await token_for("auditor@alerts.test", None, assessment_id=example.a3.id)
    w.tokens["SCOPED_CONTRIBUTOR"] = await token_for(
        "helper@alerts.test", None, assessment_id=example.a3.id, grant_role=OrgRole.CONTRIBUTOR
    )
    async with db.sessions() as session, session.begin():
        await session.execute(update(Event).values(processed_at=T0 - timedelta(days=1)))
    return w


# -- policies ---------------------------------------------------------------------------------


async def test_create_read_update_delete(world: World) -> None:
    reader = await world.gid("reader@alerts.test")
    created = await world.create(
        name="  Failures in G2 ",
        description="Tell me about failures.",
        conditions=[
            {
                "type": "TEST_STATUS_CHANGE",
                "toStatuses": ["FAILED_HIGH_RISK", "FAILED_MEDIUM_RISK"],
            },
            {"type": "SCORE_CHANGE", "direction": "DOWN", "minPoints": 3},
            {"type": "EVIDENCE_CHANGE"},
        ],
        scope={"groupIds": [world.ids["G2"]], "categories": ["Control access"]},
        severity="HIGH",
        recipientIds=[reader],
        recipientRoles=["ASSESSOR"],
    )
    assert created["name"] == "Failures in G2"
    assert created["conditions"] == [
        {
            "type": "TEST_STATUS_CHANGE",
            "direction": None,
            "minPoints": None,
            "toStatuses": ["FAILED_HIGH_RISK", "FAILED_MEDIUM_RISK"],
        },
        {"type": "SCORE_CHANGE", "direction": "DOWN", "minPoints": 3.0, "toStatuses": None},
        {"type": "EVIDENCE_CHANGE", "direction": None, "minPoints": None, "toStatuses": None},
    ]
    assert created["scope"] == {
        "assessments": [],
        "groups": [{"name": "G2"}],
        "regulations": [],
        "categories": ["Control access"],
    }
    assert created["trigger"] == "EVERY_MATCH" and created["aggregationSeconds"] == 60
    assert created["thresholdCount"] is None and created["enabled"] is True
    assert created["recipients"] == [{"email": "reader@alerts.test"}]
    assert created["recipientRoles"] == ["ASSESSOR"]
    assert created["createdBy"] == {"email": "contributor@alerts.test"}
    assert created["isDefault"] is False

    # Everyone with an organisation role reads policies, by list or by id.
    listed = (await world.api.query(POLICIES, token=world.tokens["READER"]))["alertPolicies"]
    assert [p["name"] for p in listed["nodes"]] == [
        "Assigned action failed testing",
        "Compliance score changes",
        "Failures in G2",
    ]
    node = await world.api.query(
        "query($id: ID!) { node(id: $id) { ... on AlertPolicy { name severity } } }",
        {"id": created["id"]},
        token=world.tokens["READER"],
    )
    assert node["node"] == {"name": "Failures in G2", "severity": "HIGH"}

    # Fields left out stay; switching to THRESHOLD needs its numbers.
    result = await world.mutate(
        UPDATE,
        "updateAlertPolicy",
        {
            "alertPolicyId": created["id"],
            "trigger": "THRESHOLD",
            "thresholdCount": 5,
            "thresholdMinutes": 30,
            "scope": None,
            "enabled": False,
        },
        "ASSESSOR",
    )
    assert result["userErrors"] == []
    updated = result["alertPolicy"]
    assert updated["trigger"] == "THRESHOLD"
    assert (updated["thresholdCount"], updated["thresholdMinutes"]) == (5, 30)
    assert updated["scope"]["groups"] == [] and updated["scope"]["categories"] == []
    assert updated["enabled"] is False
    assert {k: updated[k] for k in ("name", "description", "severity", "conditions")} == {
        k: created[k] for k in ("name", "description", "severity", "conditions")
    }
    # Back to EVERY_MATCH: the stored threshold goes with it.
    result = await world.mutate(
        UPDATE,
        "updateAlertPolicy",
        {"alertPolicyId": created["id"], "trigger": "EVERY_MATCH", "aggregationSeconds": 600},
        "CONTRIBUTOR",
    )
    assert result["userErrors"] == []
    assert result["alertPolicy"]["thresholdCount"] is None
    assert result["alertPolicy"]["aggregationSeconds"] == 600

    result = await world.mutate(
        DELETE, "deleteAlertPolicy", {"alertPolicyId": created["id"]}, "CONTRIBUTOR"
    )
    assert result == {"deletedAlertPolicyId": created["id"], "userErrors": []}
    listed = (await world.api.query(POLICIES, token=world.tokens["READER"]))["alertPolicies"]
    assert [p["name"] for p in listed["nodes"]] == [
        "Assigned action failed testing",
        "Compliance score changes",
    ]


async def test_list_filters_and_order(world: World) -> None:
    await world.create(name="b high", severity="HIGH")
    await world.create(name="a low off", severity="LOW", enabled=False)
    await world.create(name="c high off", severity="HIGH", enabled=False)

    async def names(**variables: Any) -> list[str]:
        data = await world.api.query(POLICIES, variables, token=world.tokens["READER"])
        return [p["name"] for p in data["alertPolicies"]["nodes"]]

    assert await names() == [
        "Assigned action failed testing",
        "Compliance score changes",
        "a low off",
        "b high",
        "c high off",
    ]
    assert await names(filter={"enabled": False}) == ["a low off", "c high off"]
    assert await names(filter={"severity": "HIGH"}) == ["b high", "c high off"]
    assert await names(filter={"severity": "HIGH", "enabled": True}) == ["b high"]
    assert await names(orderBy={"field": "NAME", "direction": "DESC"}) == [
        "c high off",
        "b high",
        "a low off",
        "Compliance score changes",
        "Assigned action failed testing",
    ]


def _bad(**overrides: Any) -> dict[str, Any]:
    return {"name": "Bad", "conditions": [{"type": "SCORE_CHANGE"}], **overrides}


@pytest.mark.parametrize(
    ("input", "code", "field"),
    [
        (_bad(conditions=[]), "INVALID", ["conditions"]),
        (
            _bad(conditions=[{"type": "SCORE_CHANGE", "toStatuses": ["PASSED"]}]),
            "INVALID",
            ["conditions", "0", "toStatuses"],
        ),
        (
            _bad(
                conditions=[
                    {"type": "EVIDENCE_CHANGE"},
                    {"type": "TEST_STATUS_CHANGE", "toStatuses": ["DONE"]},
                ]
            ),
            "INVALID",
            ["conditions", "1", "toStatuses"],
        ),
        (
            _bad(
                conditions=[
                    {"type": "IMPLEMENTATION_STATUS_CHANGE", "toStatuses": ["FAILED_HIGH_RISK"]}
                ]
            ),
            "INVALID",
            ["conditions", "0", "toStatuses"],
        ),
        (
            _bad(conditions=[{"type": "TEST_STATUS_CHANGE", "toStatuses": []}]),
            "INVALID",
            ["conditions", "0", "toStatuses"],
        ),
        (
            _bad(conditions=[{"type": "EVIDENCE_CHANGE", "direction": "UP"}]),
            "INVALID",
            ["conditions", "0", "direction"],
        ),
        (
            _bad(conditions=[{"type": "UPDATE_AVAILABLE", "minPoints": 2}]),
            "INVALID",
            ["conditions", "0", "minPoints"],
        ),
        (
            _bad(conditions=[{"type": "SCORE_CHANGE", "minPoints": 0}]),
            "INVALID",
            ["conditions", "0", "minPoints"],
        ),
        (_bad(trigger="THRESHOLD", thresholdMinutes=5), "INVALID", ["thresholdCount"]),
        (
            _bad(trigger="THRESHOLD", thresholdCount=1, thresholdMinutes=5),
            "INVALID",
            ["thresholdCount"],
        ),
        (_bad(trigger="THRESHOLD", thresholdCount=2), "INVALID", ["thresholdMinutes"]),
        (
            _bad(trigger="THRESHOLD", thresholdCount=2, thresholdMinutes=1441),
            "INVALID",
            ["thresholdMinutes"],
        ),
        (_bad(thresholdCount=3), "INVALID", ["thresholdCount"]),
        (_bad(thresholdMinutes=3), "INVALID", ["thresholdMinutes"]),
        (_bad(aggregationSeconds=0), "INVALID", ["aggregationSeconds"]),
        (_bad(aggregationSeconds=86_401), "INVALID", ["aggregationSeconds"]),
        (_bad(name=" "), "INVALID", ["name"]),
        (_bad(name="n" * 201), "INVALID", ["name"]),
        (_bad(name="Compliance score changes"), "DUPLICATE", ["name"]),
        (_bad(description="d" * 2001), "INVALID", ["description"]),
        (
            _bad(scope={"assessmentIds": [to_base64("Assessment", 98_765)]}),
            "NOT_FOUND",
            ["scope", "assessmentIds"],
        ),
        (
            _bad(scope={"groupIds": [to_base64("Assessment", 1)]}),
            "NOT_FOUND",
            ["scope", "groupIds"],
        ),
        (
            _bad(scope={"regulationIds": [to_base64("Regulation", 98_765)]}),
            "NOT_FOUND",
            ["scope", "regulationIds"],
        ),
        (_bad(scope={"categories": [" "]}), "INVALID", ["scope", "categories"]),
        (_bad(recipientIds=[to_base64("User", 98_765)]), "NOT_FOUND", ["recipientIds"]),
        (_bad(recipientIds=["scoped"]), "INVALID", ["recipientIds"]),
    ],
)
async def test_creation_is_validated(world: World, input: dict, code: str, field: list) -> None:
    if input.get("recipientIds") == ["scoped"]:
        input = {**input, "recipientIds": [await world.gid("auditor@alerts.test")]}
    result = await world.mutate(CREATE, "createAlertPolicy", input, "CONTRIBUTOR")
    assert result["alertPolicy"] is None
    [error] = result["userErrors"]
    assert (error["code"], error["field"]) == (code, ["input", *field]), error
    assert error["message"]


async def test_updates_are_validated(world: World) -> None:
    policy = await world.create(name="Mine")

    async def refused(**input: Any) -> tuple[str, list[str]]:
        result = await world.mutate(
            UPDATE, "updateAlertPolicy", {"alertPolicyId": policy["id"], **input}, "CONTRIBUTOR"
        )
        assert result["alertPolicy"] is None
        [error] = result["userErrors"]
        return error["code"], error["field"]

    assert await refused(thresholdCount=4) == ("INVALID", ["input", "thresholdCount"])
    assert await refused(trigger="THRESHOLD") == ("INVALID", ["input", "thresholdCount"])
    assert await refused(conditions=None) == ("INVALID", ["input", "conditions"])
    assert await refused(severity=None) == ("INVALID", ["input", "severity"])
    result = await world.mutate(
        UPDATE,
        "updateAlertPolicy",
        {"alertPolicyId": to_base64("AlertPolicy", 98_765), "enabled": False},
        "CONTRIBUTOR",
    )
    assert [e["code"] for e in result["userErrors"]] == ["NOT_FOUND"]
    # The name is not part of the update at all.
    errors = await world.api.errors(
        UPDATE, {"input": {"alertPolicyId": policy["id"], "name": "x"}}, token=world.tokens["OWNER"]
    )
    assert "name" in errors[0]["message"]


async def test_the_default_policy_can_only_be_switched_or_readdressed(world: World) -> None:
    [default] = [
        policy
        for policy in (
            await world.api.query(
                POLICIES, {"filter": {"enabled": True}}, token=world.tokens["READER"]
            )
        )["alertPolicies"]["nodes"]
        if policy["isDefault"]
    ]
    assert default["isDefault"] and default["name"] == "Compliance score changes"
    assert default["aggregationSeconds"] == 3600 and default["severity"] == "MEDIUM"
    assert default["recipientRoles"] == ["OWNER", "ADMINISTRATOR"]
    assert default["createdBy"] is None

    result = await world.mutate(
        DELETE, "deleteAlertPolicy", {"alertPolicyId": default["id"]}, "OWNER"
    )
    assert [(e["code"], e["field"]) for e in result["userErrors"]] == [
        ("INVALID", ["input", "alertPolicyId"])
    ]
    for change in (
        {"severity": "HIGH"},
        {"description": "mine now"},
        {"conditions": [{"type": "EVIDENCE_CHANGE"}]},
        {"aggregationSeconds": 60},
        {"scope": {"categories": ["Control access"]}},
        {"trigger": "THRESHOLD", "thresholdCount": 2, "thresholdMinutes": 5},
    ):
        result = await world.mutate(
            UPDATE, "updateAlertPolicy", {"alertPolicyId": default["id"], **change}, "OWNER"
        )
        assert [e["code"] for e in result["userErrors"]] == ["INVALID"], change

    assessor = await world.gid("assessor@alerts.test")
    result = await world.mutate(
        UPDATE,
        "updateAlertPolicy",
        {
            "alertPolicyId": default["id"],
            "enabled": False,
            "recipientIds": [assessor],
            "recipientRoles": ["OWNER"],
            "severity": "MEDIUM",  # unchanged values are fine
            "conditions": [{"type": "SCORE_CHANGE", "direction": "ANY"}],
        },
        "CONTRIBUTOR",
    )
    assert result["userErrors"] == []
    policy = result["alertPolicy"]
    assert policy["enabled"] is False
    assert policy["recipients"] == [{"email": "assessor@alerts.test"}]
    assert policy["recipientRoles"] == ["OWNER"]
    assert policy["name"] == "Compliance score changes"


async def test_who_may_manage_and_read_policies(world: World) -> None:
    created = await world.create(name="Mine")
    for role in ("READER", "SCOPED", "SCOPED_CONTRIBUTOR"):
        result = await world.mutate(
            CREATE,
            "createAlertPolicy",
            {"name": "X", "conditions": [{"type": "SCORE_CHANGE"}]},
            role,
        )
        assert [e["code"] for e in result["userErrors"]] == ["FORBIDDEN"], role
        result = await world.mutate(
            UPDATE, "updateAlertPolicy", {"alertPolicyId": created["id"], "enabled": False}, role
        )
        assert [e["code"] for e in result["userErrors"]] == ["FORBIDDEN"], role
        result = await world.mutate(
            DELETE, "deleteAlertPolicy", {"alertPolicyId": created["id"]}, role
        )
        assert [e["code"] for e in result["userErrors"]] == ["FORBIDDEN"], role
    # Users with scoped grants only see no policies.
    data = await world.api.query(
        f'{{ alertPolicies {{ totalCount nodes {{ name }} }} node(id: "{created["id"]}") {{ id }} }}',
        token=world.tokens["SCOPED"],
    )
    assert data == {"alertPolicies": {"totalCount": 0, "nodes": []}, "node": None}
    for role in ("READER", "CONTRIBUTOR", "OWNER"):
        data = await world.api.query(POLICIES, token=world.tokens[role])
        assert data["alertPolicies"]["totalCount"] == 3  # default, built-in, created


# -- alerts -----------------------------------------------------------------------------------


async def _alert_world(world: World) -> str:
    """Three alerts: T1's score drop (default policy), T2's and N1@G2's status changes."""
    statuses = await world.create(
        name="Statuses",
        conditions=[{"type": "IMPLEMENTATION_STATUS_CHANGE"}],
        severity="HIGH",
        aggregationSeconds=1,
    )
    await world.change("T1", implementation_status=ImplementationStatus.PLANNED)  # A1, A3
    await world.evaluate(T0)
    await world.change("T2", implementation_status=ImplementationStatus.PLANNED)  # A2 only
    await world.evaluate(T0 + timedelta(minutes=1))
    await world.change("N1@G2", implementation_status=ImplementationStatus.PLANNED)  # A3 only
    await world.evaluate(T0 + timedelta(minutes=2))
    return str(statuses["id"])


async def test_alerts_list_with_events_log(world: World) -> None:
    await _alert_world(world)
    data = await world.alerts("READER")
    assert data["totalCount"] == 4
    # Newest first: N1@G2, T2, then T1's two alerts (ties: the later alert first; T1's
    # status change was written, and so matched, before its score change).
    summary = [
        (a["policyName"], a["detectedAt"], a["kind"], a["eventCount"]) for a in data["nodes"]
    ]
    assert summary == [
        ("Statuses", "2024-05-06T09:02:00+00:00", "SINGLE_EVENT", 1),
        ("Statuses", "2024-05-06T09:01:00+00:00", "SINGLE_EVENT", 1),
        ("Compliance score changes", "2024-05-06T09:00:00+00:00", "SINGLE_EVENT", 1),
        ("Statuses", "2024-05-06T09:00:00+00:00", "SINGLE_EVENT", 1),
    ]
    score_alert = data["nodes"][2]
    assert score_alert["severity"] == "MEDIUM" and score_alert["status"] == "ACTIVE"
    assert score_alert["policy"] == {"name": "Compliance score changes"}
    [event] = score_alert["events"]
    assert event["type"] == "SCORE_CHANGE"
    assert event["pointsDelta"] == -27
    assert event["details"]["delta"] == -27
    assert event["details"]["before"] == {"earned": 27.0, "possible": 27}
    assert event["user"] == {"email": "owner@example.test"}
    assert event["action"] == {"key": "we:t1"}
    assert sorted(a["name"] for a in event["assessments"]) == ["A1", "A3"]
    [status_event] = data["nodes"][3]["events"]
    assert (status_event["fromStatus"], status_event["toStatus"]) == ("IMPLEMENTED", "PLANNED")
    assert status_event["pointsDelta"] is None

    # An alert that gathers two score changes is multi-event; oldest event first.
    await world.change(
        "T1", implementation_status=ImplementationStatus.IMPLEMENTED, implementation_date=DAY
    )
    await world.change("T1", test_status=TestStatus.PASSED, test_date=DAY)
    await world.evaluate(T0 + timedelta(minutes=30))
    data = await world.alerts("READER", filter={"eventTypes": ["SCORE_CHANGE"]})
    [score_alert] = data["nodes"]
    assert score_alert["kind"] == "MULTI_EVENT" and score_alert["eventCount"] == 2
    assert [e["pointsDelta"] for e in score_alert["events"]] == [-27, 27]


async def test_alert_filters(world: World) -> None:
    await _alert_world(world)
    statuses = (await world.alerts("READER", filter={"severities": ["HIGH"]}))["nodes"]
    assert len(statuses) == 3

    async def count(**filter: Any) -> int:
        return (await world.alerts("READER", filter=filter))["totalCount"]

    policy_id = (
        await world.api.query(
            POLICIES, {"filter": {"severity": "HIGH"}}, token=world.tokens["READER"]
        )
    )["alertPolicies"]["nodes"][0]["id"]
    assert await count(policyIds=[policy_id]) == 3
    assert await count(severities=["MEDIUM"]) == 1
    assert await count(eventTypes=["IMPLEMENTATION_STATUS_CHANGE"]) == 3
    assert await count(eventTypes=["EVIDENCE_CHANGE"]) == 0
    assert await count(detectedAfter="2024-05-06T09:01:00+00:00") == 2
    assert await count(detectedBefore="2024-05-06T09:01:00Z") == 2
    assert (
        await count(detectedAfter="2024-05-06T09:00:30", detectedBefore="2024-05-06T09:01:30") == 1
    )

    contributor = await world.gid("contributor@alerts.test")
    result = await world.mutate(
        UPDATE_ALERT,
        "updateAlert",
        {"alertId": statuses[0]["id"], "assigneeId": contributor, "status": "INVESTIGATING"},
        "CONTRIBUTOR",
    )
    assert result["userErrors"] == []
    assert await count(assigneeIds=[contributor]) == 1
    assert await count(statuses=["INVESTIGATING"]) == 1
    assert await count(statuses=["ACTIVE", "INVESTIGATING"]) == 4
    oldest_first = await world.alerts(
        "READER", orderBy={"field": "DETECTED_AT", "direction": "ASC"}, first=2
    )
    assert [a["detectedAt"][11:16] for a in oldest_first["nodes"]] == ["09:00", "09:00"]
    by_update = await world.alerts("READER", orderBy={"field": "UPDATED_AT"}, first=1)
    assert by_update["nodes"][0]["id"] == statuses[0]["id"]


async def test_update_alert(world: World) -> None:
    await _alert_world(world)
    nodes = (await world.alerts("READER"))["nodes"]
    n1_alert, t2_alert = nodes[0]["id"], nodes[1]["id"]  # about A3 only, about A2 only

    async def update_alert(role: str, **input: Any) -> dict[str, Any]:
        return await world.mutate(UPDATE_ALERT, "updateAlert", input, role)

    result = await update_alert("CONTRIBUTOR", alertId=t2_alert, status="RESOLVED")
    assert result["userErrors"] == [] and result["alert"]["status"] == "RESOLVED"
    for status in ("ACTIVE", "DISMISSED", "INVESTIGATING", "ACTIVE"):
        result = await update_alert("ASSESSOR", alertId=t2_alert, status=status)
        assert result["alert"]["status"] == status
    reader = await world.gid("reader@alerts.test")
    result = await update_alert("OWNER", alertId=t2_alert, assigneeId=reader)
    assert result["alert"]["assignee"] == {"email": "reader@alerts.test"}
    assert result["alert"]["status"] == "ACTIVE"  # left out: unchanged
    result = await update_alert("OWNER", alertId=t2_alert, assigneeId=None)
    assert result["alert"]["assignee"] is None

    async def refused(role: str, **input: Any) -> list[tuple[str, list[str] | None]]:
        result = await update_alert(role, **input)
        assert result["alert"] is None
        return [(e["code"], e["field"]) for e in result["userErrors"]]

    assert await refused("READER", alertId=t2_alert, status="RESOLVED") == [("FORBIDDEN", None)]
    assert await refused("CONTRIBUTOR", alertId=to_base64("Alert", 98_765), status="RESOLVED") == [
        ("NOT_FOUND", ["input", "alertId"])
    ]
    assert await refused("CONTRIBUTOR", alertId=t2_alert, status=None) == [
        ("INVALID", ["input", "status"])
    ]
    assert await refused("CONTRIBUTOR", alertId=t2_alert, assigneeId=to_base64("User", 98_765)) == [
        ("NOT_FOUND", ["input", "assigneeId"])
    ]
    # The assignee must be able to see the alert: the auditor reads A3 only.
    auditor = await world.gid("auditor@alerts.test")
    assert await refused("CONTRIBUTOR", alertId=t2_alert, assigneeId=auditor) == [
        ("INVALID", ["input", "assigneeId"])
    ]
    result = await update_alert("CONTRIBUTOR", alertId=n1_alert, assigneeId=auditor)
    assert result["userErrors"] == []
    # Scoped grants: a contributor on A3 may handle A3's alerts only; others stay hidden.
    result = await update_alert("SCOPED_CONTRIBUTOR", alertId=n1_alert, status="RESOLVED")
    assert result["userErrors"] == [] and result["alert"]["status"] == "RESOLVED"
    assert await refused("SCOPED_CONTRIBUTOR", alertId=t2_alert, status="RESOLVED") == [
        ("NOT_FOUND", ["input", "alertId"])
    ]
    assert await refused("SCOPED", alertId=n1_alert, status="ACTIVE") == [("FORBIDDEN", None)]


async def test_scoped_users_see_alerts_about_what_they_read(world: World) -> None:
    await _alert_world(world)
    data = await world.alerts("SCOPED")
    # A3 holds T1 (score and status alerts) and N1@G2; T2's alert is about A2 only.
    assert data["totalCount"] == 3
    assert {(a["policyName"], a["detectedAt"][11:16]) for a in data["nodes"]} == {
        ("Statuses", "09:02"),
        ("Statuses", "09:00"),
        ("Compliance score changes", "09:00"),
    }
    assert all(a["policy"] is None for a in data["nodes"])  # policies are not theirs to read
    score = next(a for a in data["nodes"] if a["policyName"] == "Compliance score changes")
    assert [a["name"] for a in score["events"][0]["assessments"]] == ["A3"]
    t2_alert = next(
        a for a in (await world.alerts("READER"))["nodes"] if a["detectedAt"][11:16] == "09:01"
    )
    node = await world.api.query(
        "query($id: ID!) { node(id: $id) { id } }",
        {"id": t2_alert["id"]},
        token=world.tokens["SCOPED"],
    )
    assert node == {"node": None}


async def test_deleted_policy_alerts_keep_their_log(world: World) -> None:
    statuses = await _alert_world(world)
    result = await world.mutate(
        DELETE, "deleteAlertPolicy", {"alertPolicyId": statuses}, "CONTRIBUTOR"
    )
    assert result["userErrors"] == []
    data = await world.alerts("READER", filter={"eventTypes": ["IMPLEMENTATION_STATUS_CHANGE"]})
    assert data["totalCount"] == 3
    for alert in data["nodes"]:
        assert alert["policy"] is None and alert["policyName"] == "Statuses"
        assert alert["severity"] == "HIGH" and alert["eventCount"] == 1
        assert alert["events"][0]["type"] == "IMPLEMENTATION_STATUS_CHANGE"
    scoped = await world.alerts("SCOPED", filter={"eventTypes": ["IMPLEMENTATION_STATUS_CHANGE"]})
    assert scoped["totalCount"] == 2
    # A new policy may take the name again.
    await world.create(name="Statuses")


async def test_alerts_list_reads_in_a_fixed_number_of_statements(world: World) -> None:
    """More alerts (and events, actions, people) do not mean more statements."""
    await world.create(
        name="Statuses", conditions=[{"type": "IMPLEMENTATION_STATUS_CHANGE"}], aggregationSeconds=1
    )
    owner = await world.gid("owner@example.test")
    flips = [ImplementationStatus.PLANNED, ImplementationStatus.NOT_IMPLEMENTED]
    counts = []
    moment = T0
    for rounds in (2, 8):
        for i in range(rounds):
            for action in ("T2", "N1@G2"):
                await world.change(action, implementation_status=flips[i % 2])
            moment += timedelta(minutes=1)
            await world.evaluate(moment)
        data = await world.alerts("READER", first=100)
        for alert in data["nodes"][:3]:
            await world.mutate(
                UPDATE_ALERT, "updateAlert", {"alertId": alert["id"], "assigneeId": owner}, "OWNER"
            )
        for role in ("READER", "SCOPED"):
            await world.alerts(role, first=1)  # token bookkeeping out of the count
            with count_statements(world.db.engine) as statements:
                data = await world.alerts(role, first=100)
            counts.append(len(statements))
            assert all(a["events"] for a in data["nodes"])
        print(f"alerts list: {data['totalCount']} alerts, statements {counts[-2:]}")
    assert counts[0] == counts[2] and counts[1] == counts[3], counts
    assert max(counts) <= 12
