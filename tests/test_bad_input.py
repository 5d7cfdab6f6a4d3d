"""Every mutation, walked through bad input: the right error code, and nothing changed.

Each case names a mutation, its input (built from the world below), who calls it, and the
code the caller must see in ``userErrors``. After each refusal the whole database must be
as it was (token bookkeeping aside).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from strawberry.relay import to_base64

from cmgraph.domain.accounts import create_token, create_user
from cmgraph.domain.enums import OrgRole
from cmgraph.domain.evidence import add_evidence_link
from cmgraph.domain.models import Assessment, Base
from tests.builders import worked_example

FUTURE = str(date.today() + timedelta(days=3))
HUGE = "x" * 100_001


@dataclass
class World:
    ids: dict[str, str]  # global ids by name
    tokens: dict[str, str]  # tokens by role name
    versions: dict[str, int]


@pytest.fixture
async def world(uow, owner) -> World:
    async with uow() as u:
        example = await worked_example(u, owner)
        link_t2 = await add_evidence_link(
            u, owner, example.actions["T2"].id, "Plan", "https://x.test/plan"
        )
        link_t1 = await add_evidence_link(
            u, owner, example.actions["T1"].id, "Proof", "https://x.test/proof"
        )
        (await u.session.get(Assessment, example.a3.id)).archived_at = datetime.now(UTC)
        tokens = {}
        users = {}
        for role in OrgRole:
            user = await create_user(u, f"{role.value.lower()}@bad.test", role.value, role)
            users[role.value] = user.id
            tokens[role.value] = (await create_token(u, user, "t")).secret
        robot = await create_user(u, "robot@bad.test", "Robot", None, is_automation=True)
        tokens["AUTOMATION"] = (await create_token(u, robot, "t")).secret
    ids = {
        **{name: to_base64("ImprovementAction", a.id) for name, a in example.actions.items()},
        "A1": to_base64("Assessment", example.a1.id),
        "A2": to_base64("Assessment", example.a2.id),
        "A3": to_base64("Assessment", example.a3.id),
        "G1": to_base64("Group", example.a1.group_id),
        "X": to_base64("Template", example.a1.template_id),
        "link-T2": to_base64("Evidence", link_t2.id),
        "link-T1": to_base64("Evidence", link_t1.id),
        "missing-action": to_base64("ImprovementAction", 987_654),
        "missing-user": to_base64("User", 987_654),
        **{f"user-{role}": to_base64("User", uid) for role, uid in users.items()},
    }
    versions = {name: a.version for name, a in example.actions.items()}
    return World(ids, tokens, versions)


Input = Callable[[World], dict[str, Any]]
DEFAULT_POLICY = to_base64("AlertPolicy", 1)


def _policy(**fields: Any) -> dict[str, Any]:
    return {"name": "Watch", "conditions": [{"type": "SCORE_CHANGE"}], **fields}


@dataclass(frozen=True)
class Case:
    mutation: str
    input: Input
    role: str
    code: str

    def __str__(self) -> str:
        return f"{self.mutation}-{self.role}-{self.code}"


def action(name: str, **fields: Any) -> Input:
    return lambda w: {"actionId": w.ids[name], "version": w.versions[name], **fields}


CASES = [
    # assessments and groups
    Case(
        "createAssessment",
        lambda w: {"templateId": w.ids["missing-action"], "name": "N", "newGroupName": "N"},
        "ADMINISTRATOR",
        "NOT_FOUND",
    ),
    Case(
        "createAssessment",
        lambda w: {"templateId": w.ids["X"], "name": "N", "newGroupName": "N"},
        "ASSESSOR",
        "FORBIDDEN",
    ),
    Case(
        "createAssessment",
        lambda w: {"templateId": w.ids["X"], "name": "A2", "newGroupName": "N"},
        "ADMINISTRATOR",
        "DUPLICATE",
    ),
    Case(
        "createAssessment",
        lambda w: {"templateId": w.ids["X"], "name": "n" * 201, "newGroupName": "N"},
        "ADMINISTRATOR",
        "INVALID",
    ),
    Case(
        "createAssessment",
        lambda w: {
            "templateId": w.ids["X"],
            "name": "N",
            "groupId": w.ids["G1"],
            "newGroupName": "N",
        },
        "ADMINISTRATOR",
        "INVALID",
    ),
    Case(
        "renameAssessment",
        lambda w: {"assessmentId": w.ids["G1"], "name": "N"},
        "ADMINISTRATOR",
        "NOT_FOUND",
    ),
    Case(
        "renameAssessment",
        lambda w: {"assessmentId": w.ids["A3"], "name": "N"},
        "ADMINISTRATOR",
        "INVALID",
    ),
    Case(
        "renameAssessment",
        lambda w: {"assessmentId": w.ids["A1"], "name": " "},
        "ADMINISTRATOR",
        "INVALID",
    ),
    Case(
        "renameAssessment",
        lambda w: {"assessmentId": w.ids["A1"], "name": "N"},
        "READER",
        "FORBIDDEN",
    ),
    Case(
        "renameGroup",
        lambda w: {"groupId": w.ids["G1"], "name": "g" * 500},
        "ADMINISTRATOR",
        "INVALID",
    ),
    Case(
        "renameGroup", lambda w: {"groupId": w.ids["A1"], "name": "N"}, "ADMINISTRATOR", "NOT_FOUND"
    ),
    Case("archiveAssessment", lambda w: {"assessmentId": w.ids["A3"]}, "ADMINISTRATOR", "INVALID"),
    Case("archiveAssessment", lambda w: {"assessmentId": w.ids["A1"]}, "CONTRIBUTOR", "FORBIDDEN"),
    Case("deleteAssessment", lambda w: {"assessmentId": w.ids["A1"]}, "ASSESSOR", "FORBIDDEN"),
    Case(
        "deleteAssessment",
        lambda w: {"assessmentId": w.ids["missing-action"]},
        "ADMINISTRATOR",
        "NOT_FOUND",
    ),
    # implementation and testing
    Case(
        "updateImplementation",
        lambda w: {"actionId": w.ids["missing-action"], "version": 1, "implementationNotes": "n"},
        "OWNER",
        "NOT_FOUND",
    ),
    Case("updateImplementation", action("T2", implementationNotes="n"), "READER", "FORBIDDEN"),
    Case(
        "updateImplementation",
        action("T2", implementationDate="2026-01-01"),
        "CONTRIBUTOR",
        "INVALID",
    ),
    Case(
        "updateImplementation",
        action("T2", implementationStatus="IMPLEMENTED", implementationDate=FUTURE),
        "CONTRIBUTOR",
        "INVALID",
    ),
    Case(
        "updateImplementation",
        action("T2", implementationStatus="PARTIALLY_IMPLEMENTED"),
        "OWNER",
        "INVALID",
    ),
    Case(
        "updateImplementation", action("N1@G2", implementationNotes="n"), "OWNER", "INVALID"
    ),  # archived only
    Case("updateImplementation", action("T2", implementationNotes=HUGE), "CONTRIBUTOR", "INVALID"),
    Case("updateImplementation", action("P1", implementationNotes="n"), "OWNER", "FORBIDDEN"),
    Case(
        "updateImplementation",
        lambda w: {"actionId": w.ids["T2"], "version": 99, "implementationNotes": "n"},
        "CONTRIBUTOR",
        "CONFLICT",
    ),
    Case(
        "updateTesting", action("T1", testDate="2026-01-01"), "ASSESSOR", "INVALID"
    ),  # before implementation
    Case("updateTesting", action("T1", testDate=FUTURE), "ASSESSOR", "INVALID"),
    Case(
        "updateTesting", action("T2", testStatus="PASSED"), "ASSESSOR", "INVALID"
    ),  # not implemented
    Case("updateTesting", action("T1", testStatus="FAILED_LOW_RISK"), "CONTRIBUTOR", "FORBIDDEN"),
    Case("updateTesting", action("T1", testStatus="TO_BE_DETECTED"), "ASSESSOR", "INVALID"),
    Case("updateTesting", action("T1", testingNotes=HUGE), "ASSESSOR", "INVALID"),
    # assignment and user history
    Case(
        "assignImprovementActions",
        lambda w: {"actionIds": [w.ids["T2"]], "assigneeId": w.ids["missing-user"]},
        "CONTRIBUTOR",
        "NOT_FOUND",
    ),
    Case(
        "assignImprovementActions",
        lambda w: {"actionIds": [w.ids["T2"]], "assigneeId": w.ids["user-READER"]},
        "READER",
        "FORBIDDEN",
    ),
    Case(
        "assignImprovementActions",
        lambda w: {"actionIds": [w.ids["T2"], w.ids["P1"]], "assigneeId": w.ids["user-READER"]},
        "CONTRIBUTOR",
        "FORBIDDEN",
    ),
    Case(
        "assignImprovementActions",
        lambda w: {
            "actionIds": [w.ids["T2"]]
            + [to_base64("ImprovementAction", 10_000 + i) for i in range(501)],
            "assigneeId": None,
        },
        "CONTRIBUTOR",
        "INVALID",
    ),
    Case(
        "assignImprovementActions",
        lambda w: {"actionIds": [w.ids["T2"]], "assigneeId": w.ids["user-READER"], "notes": HUGE},
        "CONTRIBUTOR",
        "INVALID",
    ),
    Case(
        "assignImprovementActions",
        lambda w: {"actionIds": [], "assigneeId": None},
        "CONTRIBUTOR",
        "INVALID",
    ),
    Case(
        "reassignUserActions",
        lambda w: {"fromUserId": w.ids["user-READER"], "toUserId": w.ids["user-READER"]},
        "ADMINISTRATOR",
        "INVALID",
    ),
    Case(
        "reassignUserActions",
        lambda w: {"fromUserId": w.ids["user-READER"], "toUserId": w.ids["user-OWNER"]},
        "CONTRIBUTOR",
        "FORBIDDEN",
    ),
    Case(
        "reassignUserActions",
        lambda w: {"fromUserId": w.ids["missing-user"], "toUserId": w.ids["user-OWNER"]},
        "ADMINISTRATOR",
        "NOT_FOUND",
    ),
    Case(
        "deleteUserHistory",
        lambda w: {"userId": w.ids["user-READER"]},
        "ADMINISTRATOR",
        "FORBIDDEN",
    ),
    Case("deleteUserHistory", lambda w: {"userId": w.ids["missing-user"]}, "OWNER", "NOT_FOUND"),
    # testing source and automation
    Case(
        "setTestingSource",
        lambda w: {
            "actionId": w.ids["T2"],
            "version": w.versions["T2"],
            "testingSource": "PARENT",
            "parentId": w.ids["T2"],
        },
        "ASSESSOR",
        "INVALID",
    ),
    Case(
        "setTestingSource",
        lambda w: {
            "actionId": w.ids["T2"],
            "version": w.versions["T2"],
            "testingSource": "PARENT",
            "parentId": w.ids["missing-action"],
        },
        "ASSESSOR",
        "NOT_FOUND",
    ),
    Case(
        "setTestingSource",
        lambda w: {
            "actionId": w.ids["T2"],
            "version": w.versions["T2"],
            "testingSource": "AUTOMATIC",
        },
        "ADMINISTRATOR",
        "INVALID",
    ),
    Case(
        "setTestingSource",
        lambda w: {
            "actionId": w.ids["T2"],
            "version": w.versions["T2"],
            "testingSource": "PARENT",
            "parentId": w.ids["T1"],
        },
        "READER",
        "FORBIDDEN",
    ),
    Case(
        "recordAutomationResult",
        lambda w: {
            "actionId": w.ids["T2"],
            "implementationStatus": "IMPLEMENTED",
            "testStatus": "PASSED",
        },
        "OWNER",
        "FORBIDDEN",
    ),
    Case(
        "recordAutomationResult",
        lambda w: {
            "actionId": w.ids["T2"],
            "implementationStatus": "IMPLEMENTED",
            "testStatus": "PARTIALLY_TESTED",
            "fraction": 1.5,
        },
        "AUTOMATION",
        "INVALID",
    ),
    Case(
        "updateOrganisationSettings",
        lambda w: {"automaticTesting": "ON_FOR_ALL"},
        "ADMINISTRATOR",
        "FORBIDDEN",
    ),
    # updates
    Case(
        "acceptActionUpdate", lambda w: {"actionId": w.ids["T2"]}, "ADMINISTRATOR", "INVALID"
    ),  # nothing pending
    Case("acceptActionUpdate", lambda w: {"actionId": w.ids["T2"]}, "CONTRIBUTOR", "FORBIDDEN"),
    Case(
        "acceptActionUpdate",
        lambda w: {"actionId": w.ids["missing-action"]},
        "ADMINISTRATOR",
        "NOT_FOUND",
    ),
    Case("acceptAllActionUpdates", lambda w: {}, "ASSESSOR", "FORBIDDEN"),
    Case(
        "acceptAssessmentUpdate",
        lambda w: {"assessmentId": w.ids["A3"]},
        "ADMINISTRATOR",
        "INVALID",
    ),  # archived
    Case(
        "acceptAssessmentUpdate",
        lambda w: {"assessmentId": w.ids["A1"]},
        "ADMINISTRATOR",
        "INVALID",
    ),  # up to date
    # evidence
    Case(
        "addEvidenceLink",
        lambda w: {"actionId": w.ids["T2"], "name": "n", "url": "ftp://x.test/f"},
        "CONTRIBUTOR",
        "INVALID",
    ),
    Case(
        "addEvidenceLink",
        lambda w: {"actionId": w.ids["T2"], "name": "n", "url": "https://x.test/" + "a" * 3000},
        "CONTRIBUTOR",
        "INVALID",
    ),
    Case(
        "addEvidenceLink",
        lambda w: {"actionId": w.ids["T2"], "name": "", "url": "https://x.test"},
        "CONTRIBUTOR",
        "INVALID",
    ),
    Case(
        "addEvidenceLink",
        lambda w: {"actionId": w.ids["T2"], "name": "n", "url": "https://x.test"},
        "READER",
        "FORBIDDEN",
    ),
    Case(
        "addEvidenceLink",
        lambda w: {"actionId": w.ids["N1@G2"], "name": "n", "url": "https://x.test"},
        "OWNER",
        "INVALID",
    ),
    Case(
        "deleteEvidence", lambda w: {"evidenceId": w.ids["link-T1"]}, "CONTRIBUTOR", "INVALID"
    ),  # T1 passed
    Case("deleteEvidence", lambda w: {"evidenceId": w.ids["link-T2"]}, "READER", "FORBIDDEN"),
    Case(
        "deleteEvidence",
        lambda w: {"evidenceId": to_base64("Evidence", 987_654)},
        "CONTRIBUTOR",
        "NOT_FOUND",
    ),
    # mail outbox
    Case("requeueDeadNotifications", lambda w: {}, "ASSESSOR", "FORBIDDEN"),
    Case(
        "requeueDeadNotifications",
        lambda w: {"notificationIds": [w.ids["T2"]]},
        "ASSESSOR",
        "FORBIDDEN",
    ),
    Case(
        "requeueDeadNotifications",
        lambda w: {"notificationIds": [to_base64("Notification", 987_654)]},
        "ADMINISTRATOR",
        "NOT_FOUND",
    ),
    Case(
        "requeueDeadNotifications",
        lambda w: {"notificationIds": [w.ids["T2"]]},
        "ADMINISTRATOR",
        "NOT_FOUND",
    ),
    Case("requeueDeadNotifications", lambda w: {"notificationIds": []}, "ADMINISTRATOR", "INVALID"),
    # alert policies and alerts (the default policy is migration 0002's only row)
    Case("createAlertPolicy", lambda w: _policy(), "READER", "FORBIDDEN"),
    Case("createAlertPolicy", lambda w: _policy(conditions=[]), "CONTRIBUTOR", "INVALID"),
    Case(
        "createAlertPolicy",
        lambda w: _policy(conditions=[{"type": "TEST_STATUS_CHANGE", "toStatuses": ["DONE"]}]),
        "CONTRIBUTOR",
        "INVALID",
    ),
    Case(
        "createAlertPolicy",
        lambda w: _policy(trigger="THRESHOLD", thresholdCount=1, thresholdMinutes=5),
        "CONTRIBUTOR",
        "INVALID",
    ),
    Case(
        "createAlertPolicy",
        lambda w: _policy(name="Compliance score changes"),
        "CONTRIBUTOR",
        "DUPLICATE",
    ),
    Case("createAlertPolicy", lambda w: _policy(name="n" * 201), "CONTRIBUTOR", "INVALID"),
    Case(
        "createAlertPolicy",
        lambda w: _policy(scope={"assessmentIds": [w.ids["G1"]]}),
        "CONTRIBUTOR",
        "NOT_FOUND",
    ),
    Case(
        "createAlertPolicy",
        lambda w: _policy(recipientIds=[w.ids["missing-user"]]),
        "CONTRIBUTOR",
        "NOT_FOUND",
    ),
    Case(
        "updateAlertPolicy",
        lambda w: {"alertPolicyId": DEFAULT_POLICY, "enabled": False},
        "READER",
        "FORBIDDEN",
    ),
    Case(
        "updateAlertPolicy",
        lambda w: {"alertPolicyId": DEFAULT_POLICY, "severity": "HIGH"},
        "OWNER",
        "INVALID",
    ),
    Case(
        "updateAlertPolicy",
        lambda w: {"alertPolicyId": DEFAULT_POLICY, "aggregationSeconds": 0},
        "OWNER",
        "INVALID",
    ),
    Case(
        "updateAlertPolicy",
        lambda w: {"alertPolicyId": w.ids["G1"], "enabled": False},
        "CONTRIBUTOR",
        "NOT_FOUND",
    ),
    Case("deleteAlertPolicy", lambda w: {"alertPolicyId": DEFAULT_POLICY}, "OWNER", "INVALID"),
    Case("deleteAlertPolicy", lambda w: {"alertPolicyId": DEFAULT_POLICY}, "READER", "FORBIDDEN"),
    Case(
        "deleteAlertPolicy",
        lambda w: {"alertPolicyId": to_base64("AlertPolicy", 987_654)},
        "CONTRIBUTOR",
        "NOT_FOUND",
    ),
    Case(
        "updateAlert",
        lambda w: {"alertId": to_base64("Alert", 987_654), "status": "RESOLVED"},
        "CONTRIBUTOR",
        "NOT_FOUND",
    ),
    Case(
        "updateAlert",
        lambda w: {"alertId": w.ids["T1"], "status": "RESOLVED"},
        "OWNER",
        "NOT_FOUND",
    ),
    # template workbooks (a JSON value where a multipart upload belongs reads as no workbook)
    Case("importTemplateWorkbook", lambda w: {"file": "rules.xlsx"}, "ASSESSOR", "FORBIDDEN"),
    Case("importTemplateWorkbook", lambda w: {"file": "rules.xlsx"}, "ADMINISTRATOR", "INVALID"),
    # action bulk updates (row-level refusals: tests/export/test_action_import.py)
    Case(
        "importImprovementActions",
        lambda w: {"file": "actions.xlsx", "dryRun": False},
        "CONTRIBUTOR",
        "INVALID",
    ),
]


async def snapshot(db) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table but the tokens (signing in touches their last-used time)."""
    tables = [t for t in Base.metadata.sorted_tables if t.name != "api_token"]
    async with db.engine.connect() as connection:
        return {
            table.name: sorted(
                map(tuple, (await connection.execute(select(table))).all()), key=repr
            )
            for table in tables
        }


@pytest.mark.parametrize("case", CASES, ids=str)
async def test_bad_input_is_refused_and_changes_nothing(api, db, world: World, case: Case) -> None:
    before = await snapshot(db)
    document = f"""mutation($input: {case.mutation[0].upper()}{case.mutation[1:]}Input!) {{
        {case.mutation}(input: $input) {{ userErrors {{ field code message }} }} }}"""
    data = await api.query(document, {"input": case.input(world)}, token=world.tokens[case.role])
    errors = data[case.mutation]["userErrors"]
    assert [e["code"] for e in errors] == [case.code], errors
    assert errors[0]["message"]
    assert await snapshot(db) == before


def test_every_mutation_is_walked() -> None:
    from cmgraph.schema.sdl import schema_sdl

    sdl = schema_sdl()
    block = sdl[sdl.index("type Mutation {") :]
    block = block[: block.index("\n}")]
    names = {line.strip().split("(")[0] for line in block.splitlines() if "(input:" in line}
    assert names == {case.mutation for case in CASES}
