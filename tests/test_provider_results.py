"""Provider attestations (DOMAIN.md section 14): recorded through the API, stated by templates.

A provider action's status is the provider's: administrators and automation accounts record
it with ``recordProviderResult`` (history source PROVIDER), a template workbook may state
it, and the organisation's people still cannot edit it as their own work.
"""

from __future__ import annotations

import dataclasses
import io
from datetime import UTC, date, datetime
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import select
from strawberry.relay import to_base64

from cmgraph.domain import accounts, clock
from cmgraph.domain.enums import (
    ChangeSource,
    EventType,
    ImplementationStatus,
    OrgRole,
    TestStatus,
)
from cmgraph.domain.errors import DomainError
from cmgraph.domain.models import Event
from cmgraph.domain.provider_results import ProviderResult
from cmgraph.domain.templates import TemplateSpec, import_template
from tests.builders import DAY, P1, T1, _template, worked_example
from tests.exchange.test_template_workbook import (
    ACTION_HEADER,
    create_assessment,
    export_of,
    sheets,
    upload,
    xlsx,
)
from tests.test_updates import reimport

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

STATE = """id version owner implementationStatus implementationDate implementationNotes
  testStatus testDate testingNotes pendingUpdate points score { earned possible }
  history { field oldValue newValue source }"""

RECORD = f"""mutation($input: RecordProviderResultInput!) {{
  recordProviderResult(input: $input) {{
    improvementAction {{ {STATE} }}
    userErrors {{ field code message }}
  }}
}}"""

UPDATE_IMPLEMENTATION = """mutation($input: UpdateImplementationInput!) {
  updateImplementation(input: $input) { userErrors { field code message } }
}"""

UPDATE_TESTING = """mutation($input: UpdateTestingInput!) {
  updateTesting(input: $input) { userErrors { field code message } }
}"""

NODE = f"query($id: ID!) {{ node(id: $id) {{ ... on ImprovementAction {{ {STATE} }} }} }}"

SCORES = """{ assessments(orderBy: {field: NAME}) { nodes { name score { earned possible } } }
  complianceScore { overall { earned possible } } }"""


@pytest.fixture(autouse=True)
def frozen_clock():
    clock.freeze(NOW)
    yield
    clock.reset()


@dataclasses.dataclass
class World:
    ids: dict[str, str]
    tokens: dict[str, str]


@pytest.fixture
async def world(uow, owner) -> World:
    async with uow() as u:
        example = await worked_example(u, owner, attest_p1=False)
    tokens = {}
    for role in OrgRole:
        async with uow() as u:
            user = await accounts.create_user(u, f"{role.value.lower()}@p.test", role.value, role)
            tokens[role.value] = (await accounts.create_token(u, user, "t")).secret
    async with uow() as u:
        robot = await accounts.create_user(u, "robot@p.test", "Robot", None, is_automation=True)
        tokens["AUTOMATION"] = (await accounts.create_token(u, robot, "t")).secret
    ids = {n: to_base64("ImprovementAction", a.id) for n, a in example.actions.items()}
    return World(ids, tokens)


async def record(api, world: World, role: str, name: str = "P1", **fields: Any) -> dict[str, Any]:
    data = await api.query(
        RECORD, {"input": {"actionId": world.ids[name], **fields}}, token=world.tokens[role]
    )
    return data["recordProviderResult"]


async def action(api, world: World, name: str = "P1") -> dict[str, Any]:
    return (await api.query(NODE, {"id": world.ids[name]}, token=world.tokens["READER"]))["node"]


async def scores(api, world: World) -> dict[str, tuple[float, int]]:
    data = await api.query(SCORES, token=world.tokens["READER"])
    found = {a["name"]: a["score"] for a in data["assessments"]["nodes"]}
    found["overall"] = data["complianceScore"]["overall"]
    return {k: (v["earned"], v["possible"]) for k, v in found.items()}


PASSED = {
    "implementationStatus": "IMPLEMENTED",
    "implementationDate": "2026-02-01",
    "testStatus": "PASSED",
    "testDate": "2026-02-20",
}


@pytest.mark.parametrize("role", ["ADMINISTRATOR", "AUTOMATION", "OWNER"])
async def test_administrators_and_automation_record_a_providers_result(
    api, db, world, role
) -> None:
    before = await scores(api, world)
    assert before["A1"] == (30, 39)  # P1 counts in possible only

    result = await record(api, world, role, **PASSED, testingNotes="Attested in SOC 2 report.")
    assert result["userErrors"] == []
    # An automation account without a role reads nothing back, as for automation results.
    assert (result["improvementAction"] is None) == (role == "AUTOMATION")
    p1 = await action(api, world)
    assert (p1["implementationStatus"], p1["testStatus"], p1["testDate"]) == (
        "IMPLEMENTED",
        "PASSED",
        "2026-02-20",
    )
    assert p1["score"] == {"earned": 9.0, "possible": 9}
    assert {(h["field"], h["newValue"], h["source"]) for h in p1["history"]} >= {
        ("implementation_status", "IMPLEMENTED", "PROVIDER"),
        ("test_status", "PASSED", "PROVIDER"),
        ("testing_notes", "Attested in SOC 2 report.", "PROVIDER"),
    }
    assert (await scores(api, world))["A1"] == (39, 39)
    async with db.sessions() as session:
        events = (await session.scalars(select(Event).order_by(Event.id))).all()
    kinds = {(e.type, e.payload.get("source")) for e in events if e.action_id is not None}
    assert (EventType.TEST_STATUS_CHANGE.value, ChangeSource.PROVIDER.value) in kinds
    assert (EventType.SCORE_CHANGE.value, ChangeSource.PROVIDER.value) in kinds


@pytest.mark.parametrize("role", ["READER", "CONTRIBUTOR", "ASSESSOR"])
async def test_others_may_not_record_a_providers_result(api, world, role) -> None:
    result = await record(api, world, role, **PASSED)
    assert result["improvementAction"] is None
    assert [(e["code"], e["field"]) for e in result["userErrors"]] == [("FORBIDDEN", None)]
    assert (await action(api, world))["testStatus"] == "NONE"


async def test_a_customer_action_takes_no_providers_result(api, world) -> None:
    result = await record(api, world, "ADMINISTRATOR", name="T2", **PASSED)
    assert [(e["code"], e["field"]) for e in result["userErrors"]] == [
        ("INVALID", ["input", "actionId"])
    ]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"testStatus": "PASSED"}, "testStatus"),  # not implemented
        ({"implementationStatus": "NOT_IMPLEMENTED", "testStatus": "PASSED"}, "testStatus"),
        ({"implementationStatus": "IMPLEMENTED", "implementationDate": "2026-03-03"}, None),
        ({**PASSED, "testDate": "2026-01-01"}, "testDate"),  # before implementation
        ({"implementationStatus": "PARTIALLY_IMPLEMENTED"}, "implementationStatus"),
        ({"implementationStatus": "IMPLEMENTED", "testStatus": "TO_BE_DETECTED"}, "testStatus"),
        ({"implementationStatus": "PLANNED", "implementationDate": "2026-01-01"}, None),
        ({}, None),
    ],
)
async def test_a_statement_is_checked_by_the_rules_of_any_change(api, world, fields, field) -> None:
    result = await record(api, world, "ADMINISTRATOR", **fields)
    assert result["improvementAction"] is None
    (error,) = result["userErrors"]
    assert error["code"] == "INVALID", error
    if field is not None:
        assert error["field"] == ["input", field]
    assert (await action(api, world))["version"] == 1


async def test_a_contradiction_is_refused_not_settled(api, world) -> None:
    """Rule 3 settles a change that leaves implemented; a statement saying both is refused."""
    assert (await record(api, world, "ADMINISTRATOR", **PASSED))["userErrors"] == []
    result = await record(
        api, world, "ADMINISTRATOR", implementationStatus="NOT_IMPLEMENTED", testStatus="PASSED"
    )
    assert [e["code"] for e in result["userErrors"]] == ["INVALID"]
    # Said alone, leaving implemented resets the test as for anyone (rule 3).
    result = await record(api, world, "ADMINISTRATOR", implementationStatus="NOT_IMPLEMENTED")
    p1 = result["improvementAction"]
    assert (p1["testStatus"], p1["testDate"], p1["implementationDate"]) == ("NONE", None, None)


async def test_fields_left_out_are_kept_and_null_clears(api, world) -> None:
    first = await record(api, world, "ADMINISTRATOR", **PASSED, implementationNotes="Keys held.")
    version = first["improvementAction"]["version"]
    result = await record(
        api, world, "ADMINISTRATOR", version=version, testDate=None, implementationNotes=None
    )
    assert result["userErrors"] == []
    p1 = result["improvementAction"]
    assert (p1["testStatus"], p1["testDate"], p1["implementationNotes"]) == ("PASSED", None, "")
    assert p1["implementationDate"] == "2026-02-01"
    stale = await record(api, world, "ADMINISTRATOR", version=version, testingNotes="x")
    assert [(e["code"], e["field"]) for e in stale["userErrors"]] == [
        ("CONFLICT", ["input", "version"])
    ]


async def test_people_still_cannot_edit_a_provider_action(api, world) -> None:
    for document, fields in (
        (UPDATE_IMPLEMENTATION, {"implementationNotes": "ours"}),
        (UPDATE_TESTING, {"testStatus": "PASSED"}),
    ):
        data = await api.query(
            document,
            {"input": {"actionId": world.ids["P1"], "version": 1, **fields}},
            token=world.tokens["OWNER"],
        )
        (error,) = next(iter(data.values()))["userErrors"]
        assert error["code"] == "FORBIDDEN"
        assert "recordProviderResult" in error["message"] and "template" in error["message"]


# -- stated by a template workbook ---------------------------------------------------------------

PROVIDER_HEADER = [
    "Key",
    "Retest every (days)",
    "Provider implementation status",
    "Provider implementation date",
    "Provider implementation notes",
    "Provider test status",
    "Provider test date",
    "Provider testing notes",
]


def provider_sheets(**provider: Any) -> dict[str, list[list[Any]]]:
    """The workbook tests' template; its provider action "Keep logs" states ``provider``."""
    data = sheets()
    data["Template"][0].append("Key")
    data["Template"][1].append("csr")
    data["Actions"][0] = [*ACTION_HEADER, *PROVIDER_HEADER]
    cells = dict.fromkeys(PROVIDER_HEADER)
    cells.update(provider)
    for row in data["Actions"][1:]:
        extra = dict.fromkeys(PROVIDER_HEADER)
        if row[0] == "Keep logs":
            extra = cells
        if row[0] == "Review admins":
            extra["Retest every (days)"] = 90
        row.extend(extra[h] for h in PROVIDER_HEADER)
    return data


STATED = {
    "Provider implementation status": "Implemented",
    "Provider implementation date": date(2026, 1, 10),
    "Provider test status": "passed",
    "Provider test date": "2026-02-01",
    "Provider testing notes": "Provider audit, January.",
}

KEEP_LOGS = """query($id: ID!) { node(id: $id) { ... on Assessment {
  score { earned possible }
  controls { actions { key owner pendingUpdate points implementationStatus implementationDate
    testStatus testDate testingNotes retestIntervalDays
    history { field newValue source } } } } } }"""


async def keep_logs(api, token: str, assessment_id: str) -> dict[str, Any]:
    data = await api.query(KEEP_LOGS, {"id": assessment_id}, token=token)
    actions = [a for c in data["node"]["controls"] for a in c["actions"]]
    return next(a for a in actions if a["key"] == "csr:keep-logs")


async def test_a_template_states_provider_results_that_new_assessments_take(
    api, db, token_for
) -> None:
    admin = await token_for("admin@example.test", OrgRole.ADMINISTRATOR)
    imported = await upload(api, admin, xlsx(provider_sheets(**STATED)))
    assert imported["rowErrors"] == [] and imported["userErrors"] == []
    assessment_id = await create_assessment(api, admin, imported["template"]["id"], "CSR")
    logs = await keep_logs(api, admin, assessment_id)
    assert (
        logs["implementationStatus"],
        logs["implementationDate"],
        logs["testStatus"],
        logs["testDate"],
        logs["testingNotes"],
    ) == ("IMPLEMENTED", "2026-01-10", "PASSED", "2026-02-01", "Provider audit, January.")
    assert ("test_status", "PASSED", "PROVIDER") in {
        (h["field"], h["newValue"], h["source"]) for h in logs["history"]
    }

    # The export writes the statement back, and importing it changes nothing.
    content = await export_of(api, admin, imported["template"]["id"])
    rows = [
        list(r) for r in load_workbook(io.BytesIO(content))["Actions"].iter_rows(values_only=True)
    ]
    header = rows[0]
    by_title = {r[0]: dict(zip(header, r, strict=True)) for r in rows[1:]}
    assert by_title["Keep logs"]["Provider test status"] == "PASSED"
    assert by_title["Keep logs"]["Provider implementation date"].date() == date(2026, 1, 10)
    assert by_title["Review admins"]["Retest every (days)"] == 90
    assert by_title["Enforce MFA"]["Provider implementation status"] is None
    back = await upload(api, admin, content, "csr-v1.xlsx")
    assert back["rowErrors"] == [] and back["versionCreated"] is False
    assert back["actionsPendingUpdate"] == 0


async def test_a_changed_statement_reaches_provider_actions_at_once(api, db, token_for) -> None:
    admin = await token_for("admin@example.test", OrgRole.ADMINISTRATOR)
    imported = await upload(api, admin, xlsx(provider_sheets(**STATED)))
    assessment_id = await create_assessment(api, admin, imported["template"]["id"], "CSR")
    async with db.sessions() as session:
        updates_before = len(
            (
                await session.scalars(
                    select(Event).where(Event.type == EventType.UPDATE_AVAILABLE.value)
                )
            ).all()
        )

    failed = {**STATED, "Provider test status": "FAILED_HIGH_RISK", "Provider testing notes": None}
    again = await upload(api, admin, xlsx(provider_sheets(**failed)))
    assert again["rowErrors"] == [] and again["versionCreated"] is False
    assert again["actionsPendingUpdate"] == 0  # a provider action is never pending
    logs = await keep_logs(api, admin, assessment_id)
    assert (logs["testStatus"], logs["testingNotes"], logs["pendingUpdate"]) == (
        "FAILED_HIGH_RISK",
        "",
        False,
    )
    sources = [(h["field"], h["source"]) for h in logs["history"]]
    assert ("definition_version", "UPDATE") in sources
    assert ("test_status", "PROVIDER") in sources
    async with db.sessions() as session:
        updates_after = (
            await session.scalars(
                select(Event).where(Event.type == EventType.UPDATE_AVAILABLE.value)
            )
        ).all()
    assert len(updates_after) == updates_before

    # A template that states nothing leaves the result the provider gave last.
    blank = await upload(api, admin, xlsx(provider_sheets()))
    assert blank["rowErrors"] == []
    logs = await keep_logs(api, admin, assessment_id)
    assert (logs["testStatus"], logs["pendingUpdate"]) == ("FAILED_HIGH_RISK", False)


@pytest.mark.parametrize(
    ("row", "column", "code"),
    [
        ({"Provider test status": "PASSED"}, "Provider implementation status", "REQUIRED"),
        (
            {"Provider implementation status": "NOT_IMPLEMENTED", "Provider test status": "PASSED"},
            "Provider test status",
            "INVALID",
        ),
        (
            {**STATED, "Provider test date": "2026-03-09"},
            "Provider test date",
            "INVALID",
        ),
        (
            {**STATED, "Provider implementation date": "soon"},
            "Provider implementation date",
            "BAD_DATE",
        ),
        ({**STATED, "Provider test status": "GREAT"}, "Provider test status", "UNKNOWN_VALUE"),
        (
            {"Provider implementation status": "PARTIALLY_IMPLEMENTED"},
            "Provider implementation status",
            "INVALID",
        ),
    ],
)
async def test_bad_provider_columns_are_row_errors(api, db, token_for, row, column, code) -> None:
    admin = await token_for("admin@example.test", OrgRole.ADMINISTRATOR)
    result = await upload(api, admin, xlsx(provider_sheets(**row)))
    assert result["template"] is None
    assert [(e["sheet"], e["row"], e["column"], e["code"]) for e in result["rowErrors"]] == [
        ("Actions", 4, column, code)
    ]


async def test_only_provider_actions_state_results_and_cadences_are_bounded(api, token_for) -> None:
    admin = await token_for("admin@example.test", OrgRole.ADMINISTRATOR)
    data = provider_sheets()
    header = data["Actions"][0]
    data["Actions"][1][header.index("Provider test status")] = "PASSED"  # Enforce MFA: customer
    data["Actions"][2][header.index("Retest every (days)")] = 4000
    result = await upload(api, admin, xlsx(data))
    assert [(e["row"], e["column"], e["code"]) for e in result["rowErrors"]] == [
        (2, "Provider test status", "INVALID"),
        (3, "Retest every (days)", "INVALID"),
    ]


async def test_the_json_template_format_states_provider_results_too() -> None:
    action = {
        "key": "pr:p1",
        "title": "P1",
        "implementationType": "TECHNICAL",
        "enforcement": "DISCRETIONARY",
        "purpose": "PREVENTATIVE",
        "owner": "PROVIDER",
        "providerResult": {
            "implementationStatus": "IMPLEMENTED",
            "implementationDate": DAY.isoformat(),
            "testStatus": "PASSED",
            "testDate": DAY.isoformat(),
        },
    }
    data = {
        "key": "pr",
        "title": "PR",
        "regulation": "Regulation P",
        "controls": [{"key": "C1", "family": "F", "title": "C1", "actions": ["pr:p1"]}],
        "actions": [action],
    }
    parsed = TemplateSpec.from_dict(data)
    assert parsed.actions[0].provider_result == ProviderResult(
        ImplementationStatus.IMPLEMENTED, DAY, "", TestStatus.PASSED, DAY, ""
    )
    future = {**action["providerResult"], "testDate": "2026-03-03"}
    with pytest.raises(DomainError, match="future"):
        TemplateSpec.from_dict({**data, "actions": [{**action, "providerResult": future}]})
    customer = {**action, "owner": "CUSTOMER"}
    with pytest.raises(DomainError, match="only provider actions"):
        TemplateSpec.from_dict({**data, "actions": [customer]})


async def test_a_command_line_import_writes_a_statement_without_an_actor(uow, api, owner) -> None:
    """``cmgraph templates import-workbook`` runs as the operator: history names nobody."""
    stated = ProviderResult(ImplementationStatus.IMPLEMENTED, DAY, "", TestStatus.PASSED, DAY)
    p1 = dataclasses.replace(P1, provider_result=stated)
    async with uow() as u:
        x = await import_template(u, _template("x", "Regulation X", {"C2": (T1, p1)}), source="t")
        a1 = await create_assessment_in(u, owner, x.template.id)
    reader = await _token(uow, "reader@p.test", OrgRole.READER)
    logs = await _p1(api, reader, a1)
    assert (logs["testStatus"], logs["score"]) == ("PASSED", {"earned": 9.0, "possible": 9})
    assert {h["source"] for h in logs["history"]} == {"PROVIDER"}

    failed = dataclasses.replace(stated, test_status=TestStatus.FAILED_LOW_RISK)
    await reimport(
        uow, "x", "Regulation X", {"C2": (T1, dataclasses.replace(P1, provider_result=failed))}
    )
    logs = await _p1(api, reader, a1)
    assert (logs["testStatus"], logs["pendingUpdate"]) == ("FAILED_LOW_RISK", False)
    latest = next(h for h in logs["history"] if h["field"] == "test_status")
    assert (latest["newValue"], latest["source"], latest["actor"]) == (
        "FAILED_LOW_RISK",
        "PROVIDER",
        None,
    )


async def create_assessment_in(u, owner, template_id: int) -> int:
    from cmgraph.domain.assessments import NewAssessment
    from cmgraph.domain.assessments import create_assessment as create

    return (await create(u, owner, NewAssessment(template_id, "A1", new_group_name="G1"))).id


async def _token(uow, email: str, role: OrgRole) -> str:
    async with uow() as u:
        user = await accounts.create_user(u, email, email, role)
        return (await accounts.create_token(u, user, "t")).secret


async def _p1(api, token: str, assessment_id: int) -> dict[str, Any]:
    data = await api.query(
        """query($id: ID!) { node(id: $id) { ... on Assessment { controls { actions {
             key testStatus pendingUpdate score { earned possible }
             history { field newValue source actor { name } } } } } } }""",
        {"id": to_base64("Assessment", assessment_id)},
        token=token,
    )
    actions = [a for c in data["node"]["controls"] for a in c["actions"]]
    return next(a for a in actions if a["key"] == P1.key)
