"""Every mutation, walked through bad input: the right error code, and nothing changed.

Each case names a mutation, its input (built from the world below), who calls it, and the
code the caller must see in ``userErrors``. After each refusal the whole database must be
as it was (token bookkeeping aside).

Then hostile input beyond the mutations: ids in other spellings (node, nodes, id filters,
every id a mutation takes, the evidence routes), search and list filters, control
characters in names, over-long file names, and what the log says about client mistakes.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import string
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import httpx
import pytest
from sqlalchemy import func, select, update
from strawberry.relay import to_base64

from cmgraph.alerts.evaluator import evaluate_pending
from cmgraph.config import Settings
from cmgraph.domain import clock
from cmgraph.domain.accounts import create_token, create_user, grant
from cmgraph.domain.enums import NotificationStatus, OrgRole
from cmgraph.domain.errors import DomainError, ErrorCode
from cmgraph.domain.evidence import add_evidence_link
from cmgraph.domain.models import (
    Alert,
    Assessment,
    Base,
    Notification,
    SignInSession,
    Template,
)
from cmgraph.domain.updates import MAX_ASSESSMENTS_AT_ONCE
from cmgraph.resolvers.reader import Reader, RequestFinished
from tests.builders import worked_example

FUTURE = str(clock.today() + timedelta(days=3))
# Due and review-by dates: a past day is fine, a typo's decade is not (domain/calendar.py).
SOON = FUTURE
FAR_AHEAD = str(clock.today() + timedelta(days=3661))
FAR_BEHIND = str(clock.today() - timedelta(days=3661))
HUGE = "x" * 100_001


@dataclass
class World:
    ids: dict[str, str]  # global ids by name
    tokens: dict[str, str]  # tokens by role name
    versions: dict[str, int]


@pytest.fixture
async def world(db, uow, owner) -> World:
    async with uow() as u:
        example = await worked_example(u, owner)
        link_t2 = await add_evidence_link(
            u, owner, example.actions["T2"].id, "Plan", "https://x.test/plan"
        )
        link_t1 = await add_evidence_link(
            u, owner, example.actions["T1"].id, "Proof", "https://x.test/proof"
        )
        (await u.session.get(Assessment, example.a3.id)).archived_at = datetime.now(UTC)
        regulation_id = (await u.session.get(Template, example.a1.template_id)).regulation_id
        tokens = {}
        users = {}
        for role in OrgRole:
            user = await create_user(u, f"{role.value.lower()}@bad.test", role.value, role)
            users[role.value] = user.id
            tokens[role.value] = (await create_token(u, user, "t")).secret
        robot = await create_user(u, "robot@bad.test", "Robot", None, is_automation=True)
        robot_token = await create_token(u, robot, "t")
        tokens["AUTOMATION"] = robot_token.secret
        # Someone with one grant (on A2) and one browser session, for the people mutations.
        grantee = await create_user(u, "grantee@bad.test", "Grantee", None)
        a2_grant = await grant(u, grantee, OrgRole.READER, assessment_id=example.a2.id)
        browser = SignInSession(
            user_id=grantee.id,
            token_hash="0" * 64,
            expires_at=datetime.now(UTC) + timedelta(hours=1),
        )
        u.session.add(browser)
        await u.session.flush()
    await evaluate_pending(db.sessions)  # alerts of the default policy, and their mail
    async with db.sessions.begin() as session:
        alert_id = await session.scalar(select(func.min(Alert.id)))
        dead_id = await session.scalar(select(func.min(Notification.id)))
        assert alert_id is not None and dead_id is not None
        await session.execute(
            update(Notification)
            .where(Notification.id == dead_id)
            .values(status=NotificationStatus.DEAD, attempts=3)
        )
    ids = {
        **{name: to_base64("ImprovementAction", a.id) for name, a in example.actions.items()},
        "alert": to_base64("Alert", alert_id),
        "dead-notification": to_base64("Notification", dead_id),
        "A1": to_base64("Assessment", example.a1.id),
        "A2": to_base64("Assessment", example.a2.id),
        "A3": to_base64("Assessment", example.a3.id),
        "G1": to_base64("Group", example.a1.group_id),
        "X": to_base64("Template", example.a1.template_id),
        "R1": to_base64("Regulation", regulation_id),
        "link-T2": to_base64("Evidence", link_t2.id),
        "link-T1": to_base64("Evidence", link_t1.id),
        "missing-action": to_base64("ImprovementAction", 987_654),
        "missing-user": to_base64("User", 987_654),
        **{f"user-{role}": to_base64("User", uid) for role, uid in users.items()},
        "user-grantee": to_base64("User", grantee.id),
        "user-robot": to_base64("User", robot.id),
        "grant-A2": to_base64("Grant", a2_grant.id),
        "token-robot": to_base64("ApiToken", robot_token.token.id),
        "session-grantee": to_base64("SignInSession", browser.id),
        "missing-grant": to_base64("Grant", 987_654),
        "missing-token": to_base64("ApiToken", 987_654),
        "missing-session": to_base64("SignInSession", 987_654),
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
    # provider attestations
    Case("recordProviderResult", action("P1", testingNotes="n"), "CONTRIBUTOR", "FORBIDDEN"),
    Case("recordProviderResult", action("P1", testingNotes="n"), "ASSESSOR", "FORBIDDEN"),
    Case(
        "recordProviderResult",
        action("P1", implementationStatus="NOT_IMPLEMENTED", testStatus="PASSED"),
        "ADMINISTRATOR",
        "INVALID",
    ),
    Case("recordProviderResult", action("P1", testDate=FUTURE), "AUTOMATION", "INVALID"),
    Case(
        "recordProviderResult",
        action("P1", implementationStatus="PARTIALLY_IMPLEMENTED"),
        "ADMINISTRATOR",
        "INVALID",
    ),
    Case("recordProviderResult", action("P1", testingNotes=HUGE), "ADMINISTRATOR", "INVALID"),
    Case("recordProviderResult", action("T2", testingNotes="n"), "ADMINISTRATOR", "INVALID"),
    Case("recordProviderResult", action("P1"), "ADMINISTRATOR", "INVALID"),  # states nothing
    Case(
        "recordProviderResult",
        lambda w: {"actionId": w.ids["P1"], "version": 99, "testingNotes": "n"},
        "ADMINISTRATOR",
        "CONFLICT",
    ),
    Case(
        "recordProviderResult",
        lambda w: {"actionId": w.ids["missing-action"], "testingNotes": "n"},
        "ADMINISTRATOR",
        "NOT_FOUND",
    ),
    Case("updateTesting", action("P1", testingNotes="n"), "OWNER", "FORBIDDEN"),
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
    # work on a calendar: due dates, cadences, review-by dates (past days are allowed)
    Case("updateImprovementAction", action("T2", dueDate=FAR_AHEAD), "CONTRIBUTOR", "INVALID"),
    Case("updateImprovementAction", action("T2", dueDate=FAR_BEHIND), "CONTRIBUTOR", "INVALID"),
    Case("updateImprovementAction", action("T2", retestIntervalDays=0), "CONTRIBUTOR", "INVALID"),
    Case("updateImprovementAction", action("T2", retestIntervalDays=-7), "CONTRIBUTOR", "INVALID"),
    Case(
        "updateImprovementAction", action("T2", retestIntervalDays=3661), "CONTRIBUTOR", "INVALID"
    ),
    Case("updateImprovementAction", action("T2", dueDate=SOON), "READER", "FORBIDDEN"),
    Case("updateImprovementAction", action("P1", dueDate=SOON), "OWNER", "FORBIDDEN"),
    Case(
        "updateImprovementAction",
        lambda w: {"actionId": w.ids["T2"], "version": w.versions["T2"] - 1, "dueDate": SOON},
        "CONTRIBUTOR",
        "CONFLICT",
    ),
    Case(
        "updateImprovementAction",
        lambda w: {"actionId": w.ids["missing-action"], "version": 1, "dueDate": SOON},
        "CONTRIBUTOR",
        "NOT_FOUND",
    ),
    Case(
        "assignImprovementActions",
        lambda w: {"actionIds": [w.ids["T2"]], "assigneeId": None, "dueDate": FAR_AHEAD},
        "CONTRIBUTOR",
        "INVALID",
    ),
    Case(
        "addEvidenceLink",
        lambda w: {
            "actionId": w.ids["T2"],
            "name": "n",
            "url": "https://x.test",
            "reviewBy": FAR_AHEAD,
        },
        "CONTRIBUTOR",
        "INVALID",
    ),
    Case(
        "updateEvidence",
        lambda w: {"evidenceId": w.ids["link-T2"], "reviewBy": FAR_AHEAD},
        "CONTRIBUTOR",
        "INVALID",
    ),
    Case(
        "updateEvidence",
        lambda w: {"evidenceId": w.ids["link-T2"], "reviewBy": FAR_BEHIND},
        "CONTRIBUTOR",
        "INVALID",
    ),
    Case(
        "updateEvidence",
        lambda w: {"evidenceId": w.ids["link-T2"], "reviewBy": SOON},
        "READER",
        "FORBIDDEN",
    ),
    Case(
        "updateEvidence",
        lambda w: {"evidenceId": to_base64("Evidence", 987_654), "reviewBy": SOON},
        "CONTRIBUTOR",
        "NOT_FOUND",
    ),
    Case("updateOrganisationSettings", lambda w: {"dueSoonDays": 0}, "OWNER", "INVALID"),
    Case("updateOrganisationSettings", lambda w: {"dueSoonDays": 366}, "OWNER", "INVALID"),
    Case(
        "updateOrganisationSettings",
        lambda w: {"retestLosesPoints": True},
        "ADMINISTRATOR",
        "FORBIDDEN",
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
    # people
    Case("inviteUser", lambda w: {"email": "new@bad.test"}, "ADMINISTRATOR", "FORBIDDEN"),
    Case("inviteUser", lambda w: {"email": "no-at-sign"}, "OWNER", "INVALID"),
    Case("inviteUser", lambda w: {"email": "reader@bad.test"}, "OWNER", "DUPLICATE"),
    Case("inviteUser", lambda w: {"email": "a@bad.test", "name": "a\x00b"}, "OWNER", "INVALID"),
    Case("inviteUser", lambda w: {"email": "a@bad.test", "name": HUGE}, "OWNER", "INVALID"),
    Case("updateUser", lambda w: {"userId": w.ids["user-READER"]}, "ADMINISTRATOR", "FORBIDDEN"),
    Case("updateUser", lambda w: {"userId": w.ids["missing-user"]}, "OWNER", "NOT_FOUND"),
    Case(
        "updateUser",
        lambda w: {"userId": w.ids["user-READER"], "name": "a\x00b"},
        "OWNER",
        "INVALID",
    ),
    Case(
        "updateUser", lambda w: {"userId": w.ids["user-READER"], "name": HUGE}, "OWNER", "INVALID"
    ),
    Case("updateUser", lambda w: {"userId": w.ids["user-READER"], "name": " "}, "OWNER", "INVALID"),
    Case(
        "updateUser",
        lambda w: {"userId": w.ids["user-OWNER"], "disabled": True},
        "OWNER",
        "CANNOT_DISABLE_SELF",
    ),
    Case(
        "grantAccess",
        lambda w: {"userId": w.ids["user-grantee"], "role": "READER", "assessmentId": w.ids["A1"]},
        "ADMINISTRATOR",
        "FORBIDDEN",
    ),
    Case(
        "grantAccess",
        lambda w: {"userId": w.ids["user-grantee"], "role": "OWNER", "assessmentId": w.ids["A1"]},
        "OWNER",
        "INVALID",
    ),
    Case(
        "grantAccess",
        lambda w: {"userId": w.ids["user-grantee"], "role": "READER"},
        "OWNER",
        "INVALID",
    ),
    Case(
        "grantAccess",
        lambda w: {
            "userId": w.ids["user-grantee"],
            "role": "READER",
            "assessmentId": w.ids["A1"],
            "regulationId": w.ids["R1"],
        },
        "OWNER",
        "INVALID",
    ),
    Case(
        "grantAccess",
        lambda w: {"userId": w.ids["missing-user"], "role": "READER", "assessmentId": w.ids["A1"]},
        "OWNER",
        "NOT_FOUND",
    ),
    Case(
        "grantAccess",
        lambda w: {
            "userId": w.ids["user-grantee"],
            "role": "READER",
            "assessmentId": to_base64("Assessment", 987_654),
        },
        "OWNER",
        "NOT_FOUND",
    ),
    Case("revokeGrant", lambda w: {"grantId": w.ids["grant-A2"]}, "ADMINISTRATOR", "FORBIDDEN"),
    Case("revokeGrant", lambda w: {"grantId": w.ids["missing-grant"]}, "OWNER", "NOT_FOUND"),
    Case(
        "createApiToken",
        lambda w: {"userId": w.ids["user-READER"], "name": "t"},
        "ADMINISTRATOR",
        "FORBIDDEN",
    ),
    Case(
        "createApiToken",
        lambda w: {"userId": w.ids["missing-user"], "name": "t"},
        "OWNER",
        "NOT_FOUND",
    ),
    Case(  # a token would act as another person
        "createApiToken",
        lambda w: {"userId": w.ids["user-READER"], "name": "t"},
        "OWNER",
        "FORBIDDEN",
    ),
    Case(
        "createApiToken",
        lambda w: {"userId": w.ids["user-robot"], "name": " "},
        "OWNER",
        "INVALID",
    ),
    Case(
        "createApiToken",
        lambda w: {"userId": w.ids["user-robot"], "name": "t\x1b[2J"},
        "OWNER",
        "INVALID",
    ),
    Case(
        "createApiToken",
        lambda w: {
            "userId": w.ids["user-robot"],
            "name": "t",
            "expiresAt": "2001-01-01T00:00:00Z",
        },
        "OWNER",
        "INVALID",
    ),
    Case(
        "createApiToken",
        lambda w: {"userId": w.ids["user-robot"], "name": "t", "expiresAt": "2099-01-01T00:00:00"},
        "OWNER",
        "INVALID",
    ),
    Case(
        "createApiToken",
        lambda w: {
            "userId": w.ids["user-robot"],
            "name": "t",
            "expiresAt": "9999-01-01T00:00:00Z",
        },
        "OWNER",
        "INVALID",
    ),
    Case("revokeApiToken", lambda w: {"tokenId": w.ids["token-robot"]}, "CONTRIBUTOR", "FORBIDDEN"),
    Case("revokeApiToken", lambda w: {"tokenId": w.ids["missing-token"]}, "OWNER", "NOT_FOUND"),
    Case("endSession", lambda w: {"sessionId": w.ids["session-grantee"]}, "READER", "FORBIDDEN"),
    Case("endSession", lambda w: {"sessionId": w.ids["missing-session"]}, "OWNER", "NOT_FOUND"),
    Case("endSessions", lambda w: {"userId": w.ids["user-grantee"]}, "ADMINISTRATOR", "FORBIDDEN"),
    Case("endSessions", lambda w: {"userId": w.ids["missing-user"]}, "OWNER", "NOT_FOUND"),
    Case(
        "assignImprovementActions",
        lambda w: {"actionIds": [w.ids["T1"]], "assigneeId": w.ids["user-grantee"]},
        "CONTRIBUTOR",
        "ASSIGNEE_CANNOT_READ",
    ),
    Case(
        "assignImprovementActions",
        lambda w: {
            "actionIds": [w.ids["T1"]],
            "assigneeId": w.ids["user-grantee"],
            "grantAccess": True,
        },
        "ADMINISTRATOR",
        "FORBIDDEN",
    ),
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
        lambda w: {"alertPolicyId": DEFAULT_POLICY, "dailyDigest": None},
        "OWNER",
        "INVALID",
    ),
    Case(
        "createAlertPolicy",
        lambda w: _policy(conditions=[{"type": "OVERDUE", "toStatuses": ["PLANNED"]}]),
        "CONTRIBUTOR",
        "INVALID",
    ),
    Case(
        "createAlertPolicy",
        lambda w: _policy(conditions=[{"type": "DUE_SOON", "direction": "DOWN"}], dailyDigest=True),
        "CONTRIBUTOR",
        "INVALID",
    ),
    Case(
        "createAlertPolicy",
        lambda w: _policy(conditions=[{"type": "RETEST_DUE"}], dailyDigest=True),
        "READER",
        "FORBIDDEN",
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
    # control characters in names and notes (tabs and line breaks only in notes)
    Case(
        "createAssessment",
        lambda w: {"templateId": w.ids["X"], "name": "Q1\x00", "newGroupName": "N"},
        "ADMINISTRATOR",
        "INVALID",
    ),
    Case(
        "createAssessment",
        lambda w: {"templateId": w.ids["X"], "name": "N", "newGroupName": "Line\nbreak"},
        "ADMINISTRATOR",
        "INVALID",
    ),
    Case(
        "renameAssessment",
        lambda w: {"assessmentId": w.ids["A1"], "name": "\x1b[2JA1"},
        "ADMINISTRATOR",
        "INVALID",
    ),
    Case(
        "renameGroup",
        lambda w: {"groupId": w.ids["G1"], "name": "G\u202e1"},
        "ADMINISTRATOR",
        "INVALID",
    ),
    Case("createAlertPolicy", lambda w: _policy(name="Watch\x00"), "CONTRIBUTOR", "INVALID"),
    Case("createAlertPolicy", lambda w: _policy(description="d\x00"), "CONTRIBUTOR", "INVALID"),
    Case(
        "createAlertPolicy",
        lambda w: _policy(scope={"categories": ["Au\tdit"]}),
        "CONTRIBUTOR",
        "INVALID",
    ),
    Case(
        "updateAlertPolicy",
        lambda w: {"alertPolicyId": DEFAULT_POLICY, "description": "bell\x07"},
        "OWNER",
        "INVALID",
    ),
    Case(
        "addEvidenceLink",
        lambda w: {"actionId": w.ids["T2"], "name": "Plan\x00", "url": "https://x.test"},
        "CONTRIBUTOR",
        "INVALID",
    ),
    Case(
        "updateImplementation", action("T2", implementationNotes="n\x00"), "CONTRIBUTOR", "INVALID"
    ),
    Case("updateTesting", action("T1", testingNotes="\x9b31m"), "ASSESSOR", "INVALID"),
    Case(
        "assignImprovementActions",
        lambda w: {"actionIds": [w.ids["T2"]], "assigneeId": None, "notes": "\x00"},
        "CONTRIBUTOR",
        "INVALID",
    ),
    # action bulk updates (row-level refusals: tests/exchange/test_action_import.py)
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
    from cmgraph.schema.api import schema_sdl

    sdl = schema_sdl()
    block = sdl[sdl.index("type Mutation {") :]
    block = block[: block.index("\n}")]
    names = {line.strip().split("(")[0] for line in block.splitlines() if "(input:" in line}
    assert names == {case.mutation for case in CASES}


# -- ids in other spellings -----------------------------------------------------------------
#
# A global id has exactly one spelling (cmgraph.global_ids). Below, real ids are respelled the
# ways a lenient decoder (str.isdigit, int(), base64 without validation) would accept as the
# same row, or crash on. None of them may reach the row, and none may crash.

# Decimal digits of other scripts, by the code point of their zero: str.isdigit() takes them.
_DIGITS = {
    "Arabic-Indic digits": 0x0660,
    "Devanagari digits": 0x0966,
    "fullwidth digits": 0xFF10,
}


def _encode(type_name: str, node_id: str) -> str:
    return base64.b64encode(f"{type_name}:{node_id}".encode()).decode()


def respellings(global_id: str) -> dict[str, str]:
    """The row behind ``global_id``, named in ways that must not reach it."""
    type_name, _, digits = base64.b64decode(global_id).decode().partition(":")
    other_digits = {
        name: _encode(type_name, "".join(chr(zero + int(d)) for d in digits))
        for name, zero in _DIGITS.items()
    }
    return other_digits | {
        "superscript digit": _encode(type_name, "²"),  # isdigit() is true; int() raises
        "leading zero": _encode(type_name, "0" + digits),
        "plus sign": _encode(type_name, "+" + digits),
        "underscore": _encode(type_name, "0_" + digits),  # int("0_7") == 7
        "spaces": _encode(type_name, f" {digits}\n"),
        "beyond the id columns": _encode(type_name, str(2**31 + int(digits))),
        "zero": _encode(type_name, "0"),
    }


def _spare_bits(global_id: str) -> str:
    """The same bytes, with the unused low bits of the last base64 character set."""
    data = global_id.rstrip("=")
    padding = len(global_id) - len(data)
    assert padding, "an id whose base64 has padding"
    alphabet = string.ascii_uppercase + string.ascii_lowercase + string.digits + "+/"
    last = alphabet.index(data[-1]) | (0b1111 if padding == 2 else 0b11)
    return data[:-1] + alphabet[last] + "=" * padding


def base64_aliases(global_id: str) -> dict[str, str]:
    """Non-canonical base64 that a decoder without validation reads as ``global_id``."""
    aliases = {
        "line break": global_id[:4] + "\n" + global_id[4:],
        "spaces": f" {global_id} ",
        "foreign character": global_id[:4] + "!" + global_id[4:],
    }
    if global_id.endswith("="):
        aliases["spare bits"] = _spare_bits(global_id)
    for alias in aliases.values():
        assert alias != global_id
        assert base64.b64decode(alias) == base64.b64decode(global_id)  # lenient: same id
    return aliases | {
        "no padding": global_id.rstrip("=") if global_id.endswith("=") else global_id + "=",
        "plain text": base64.b64decode(global_id).decode(),
    }


def test_the_base64_aliases_include_spare_bits() -> None:
    action = to_base64("ImprovementAction", 7)  # 19 bytes: padded
    assert "spare bits" in base64_aliases(action)


@pytest.mark.parametrize("name", ["T2", "A1", "G1", "X", "R1", "link-T2", "user-READER"])
async def test_node_and_nodes_are_null_for_any_other_spelling_of_an_id(
    api, world: World, name: str
) -> None:
    real = world.ids[name]
    others = list({**respellings(real), **base64_aliases(real)}.values())
    token = world.tokens["OWNER"]
    data = await api.query(
        "query($ids: [ID!]!) { nodes(ids: $ids) { id } }", {"ids": [*others, real]}, token=token
    )
    assert data["nodes"] == [None] * len(others) + [{"id": real}]
    for other in others:
        data = await api.query(
            "query($id: ID!) { node(id: $id) { id } }", {"id": other}, token=token
        )
        assert data == {"node": None}, other


ID_FILTERS = [
    ("improvementActions", "ImprovementActionFilter", "assessmentIds", "A1"),
    ("improvementActions", "ImprovementActionFilter", "groupIds", "G1"),
    ("improvementActions", "ImprovementActionFilter", "regulationIds", "R1"),
    ("improvementActions", "ImprovementActionFilter", "assigneeIds", "user-READER"),
    ("improvementActionsExport", "ImprovementActionFilter", "assessmentIds", "A1"),
    ("assessments", "AssessmentFilter", "groupIds", "G1"),
    ("assessments", "AssessmentFilter", "templateIds", "X"),
    ("assessments", "AssessmentFilter", "regulationIds", "R1"),
    ("controls", "ControlFilter", "assessmentIds", "A1"),
    ("controls", "ControlFilter", "assigneeIds", "user-READER"),
    ("templates", "TemplateFilter", "regulationIds", "R1"),
    ("complianceScore", "ScoreFilter", "assessmentIds", "A1"),
    ("complianceScore", "ScoreFilter", "groupIds", "G1"),
    ("complianceScore", "ScoreFilter", "regulationIds", "R1"),
    ("alerts", "AlertFilter", "policyIds", "default-policy"),
    ("alerts", "AlertFilter", "assigneeIds", "user-READER"),
]


@pytest.mark.parametrize(("root", "filter_type", "field", "name"), ID_FILTERS)
async def test_id_filters_refuse_other_spellings_of_an_id(
    api, world: World, root: str, filter_type: str, field: str, name: str
) -> None:
    document = f"query($f: {filter_type}) {{ {root}(filter: $f) {{ __typename }} }}"
    real = {**world.ids, "default-policy": DEFAULT_POLICY}[name]
    token = world.tokens["OWNER"]
    assert await api.query(document, {"f": {field: [real]}}, token=token)
    for spelling, other in respellings(real).items():
        errors = await api.errors(document, {"f": {field: [other]}}, token=token)
        assert [e["extensions"]["code"] for e in errors] == ["BAD_USER_INPUT"], spelling


@dataclass(frozen=True)
class IdField:
    """A mutation whose ``field`` takes an id; ``input`` spells that one id with ``spell``."""

    mutation: str
    field: str
    role: str
    input: Callable[[World, Callable[[str], str]], dict[str, Any]]

    def __str__(self) -> str:
        return f"{self.mutation}.{self.field}"


def _same(gid: str) -> str:
    return gid


ID_FIELDS = [
    IdField(
        "createAssessment",
        "templateId",
        "ADMINISTRATOR",
        lambda w, s: {"templateId": s(w.ids["X"]), "name": "New", "newGroupName": "New"},
    ),
    IdField(
        "createAssessment",
        "groupId",
        "ADMINISTRATOR",
        lambda w, s: {"templateId": w.ids["X"], "name": "New", "groupId": s(w.ids["G1"])},
    ),
    IdField(
        "createAssessment",
        "copyFromGroupId",
        "ADMINISTRATOR",
        lambda w, s: {
            "templateId": w.ids["X"],
            "name": "New",
            "newGroupName": "New",
            "copyFromGroupId": s(w.ids["G1"]),
        },
    ),
    IdField(
        "renameAssessment",
        "assessmentId",
        "ADMINISTRATOR",
        lambda w, s: {"assessmentId": s(w.ids["A1"]), "name": "New"},
    ),
    IdField(
        "renameGroup",
        "groupId",
        "ADMINISTRATOR",
        lambda w, s: {"groupId": s(w.ids["G1"]), "name": "New"},
    ),
    IdField(
        "archiveAssessment",
        "assessmentId",
        "ADMINISTRATOR",
        lambda w, s: {"assessmentId": s(w.ids["A1"])},
    ),
    IdField(
        "deleteAssessment",
        "assessmentId",
        "ADMINISTRATOR",
        lambda w, s: {"assessmentId": s(w.ids["A2"])},
    ),
    IdField(
        "updateImplementation",
        "actionId",
        "CONTRIBUTOR",
        lambda w, s: {
            "actionId": s(w.ids["T2"]),
            "version": w.versions["T2"],
            "implementationNotes": "n",
        },
    ),
    IdField(
        "updateTesting",
        "actionId",
        "ASSESSOR",
        lambda w, s: {"actionId": s(w.ids["T1"]), "version": w.versions["T1"], "testingNotes": "n"},
    ),
    IdField(
        "assignImprovementActions",
        "actionIds",
        "CONTRIBUTOR",
        lambda w, s: {"actionIds": [s(w.ids["T2"])], "assigneeId": w.ids["user-READER"]},
    ),
    IdField(
        "assignImprovementActions",
        "assigneeId",
        "CONTRIBUTOR",
        lambda w, s: {"actionIds": [w.ids["T2"]], "assigneeId": s(w.ids["user-READER"])},
    ),
    IdField(
        "reassignUserActions",
        "fromUserId",
        "ADMINISTRATOR",
        lambda w, s: {"fromUserId": s(w.ids["user-READER"]), "toUserId": w.ids["user-OWNER"]},
    ),
    IdField(
        "reassignUserActions",
        "toUserId",
        "ADMINISTRATOR",
        lambda w, s: {"fromUserId": w.ids["user-READER"], "toUserId": s(w.ids["user-OWNER"])},
    ),
    IdField(
        "deleteUserHistory", "userId", "OWNER", lambda w, s: {"userId": s(w.ids["user-READER"])}
    ),
    IdField(
        "updateUser",
        "userId",
        "OWNER",
        lambda w, s: {"userId": s(w.ids["user-READER"]), "name": "Renamed"},
    ),
    IdField(
        "grantAccess",
        "userId",
        "OWNER",
        lambda w, s: {
            "userId": s(w.ids["user-grantee"]),
            "role": "READER",
            "assessmentId": w.ids["A1"],
        },
    ),
    IdField(
        "grantAccess",
        "assessmentId",
        "OWNER",
        lambda w, s: {
            "userId": w.ids["user-grantee"],
            "role": "READER",
            "assessmentId": s(w.ids["A1"]),
        },
    ),
    IdField(
        "grantAccess",
        "regulationId",
        "OWNER",
        lambda w, s: {
            "userId": w.ids["user-grantee"],
            "role": "READER",
            "regulationId": s(w.ids["R1"]),
        },
    ),
    IdField("revokeGrant", "grantId", "OWNER", lambda w, s: {"grantId": s(w.ids["grant-A2"])}),
    IdField(
        "createApiToken",
        "userId",
        "OWNER",
        lambda w, s: {"userId": s(w.ids["user-READER"]), "name": "t"},
    ),
    IdField(
        "revokeApiToken", "tokenId", "OWNER", lambda w, s: {"tokenId": s(w.ids["token-robot"])}
    ),
    IdField(
        "endSession",
        "sessionId",
        "OWNER",
        lambda w, s: {"sessionId": s(w.ids["session-grantee"])},
    ),
    IdField("endSessions", "userId", "OWNER", lambda w, s: {"userId": s(w.ids["user-grantee"])}),
    IdField(
        "setTestingSource",
        "actionId",
        "ASSESSOR",
        lambda w, s: {
            "actionId": s(w.ids["T2"]),
            "version": w.versions["T2"],
            "testingSource": "PARENT",
            "parentId": w.ids["T1"],
        },
    ),
    IdField(
        "setTestingSource",
        "parentId",
        "ASSESSOR",
        lambda w, s: {
            "actionId": w.ids["T2"],
            "version": w.versions["T2"],
            "testingSource": "PARENT",
            "parentId": s(w.ids["T1"]),
        },
    ),
    IdField(
        "recordAutomationResult",
        "actionId",
        "AUTOMATION",
        lambda w, s: {
            "actionId": s(w.ids["T2"]),
            "implementationStatus": "IMPLEMENTED",
            "testStatus": "PASSED",
        },
    ),
    IdField(
        "recordProviderResult",
        "actionId",
        "ADMINISTRATOR",
        lambda w, s: {"actionId": s(w.ids["P1"]), "testingNotes": "Attested."},
    ),
    IdField(
        "acceptActionUpdate", "actionId", "ADMINISTRATOR", lambda w, s: {"actionId": s(w.ids["T2"])}
    ),
    IdField(
        "acceptAllActionUpdates",
        "assessmentIds",
        "ADMINISTRATOR",
        lambda w, s: {"assessmentIds": [s(w.ids["A1"])]},
    ),
    IdField(
        "acceptAssessmentUpdate",
        "assessmentId",
        "ADMINISTRATOR",
        lambda w, s: {"assessmentId": s(w.ids["A1"])},
    ),
    IdField(
        "addEvidenceLink",
        "actionId",
        "CONTRIBUTOR",
        lambda w, s: {"actionId": s(w.ids["T2"]), "name": "n", "url": "https://x.test"},
    ),
    IdField(
        "deleteEvidence",
        "evidenceId",
        "CONTRIBUTOR",
        lambda w, s: {"evidenceId": s(w.ids["link-T2"])},
    ),
    IdField(
        "updateEvidence",
        "evidenceId",
        "CONTRIBUTOR",
        lambda w, s: {"evidenceId": s(w.ids["link-T2"]), "reviewBy": SOON},
    ),
    IdField(
        "updateImprovementAction",
        "actionId",
        "CONTRIBUTOR",
        lambda w, s: {"actionId": s(w.ids["T2"]), "version": w.versions["T2"], "dueDate": SOON},
    ),
    IdField(
        "requeueDeadNotifications",
        "notificationIds",
        "ADMINISTRATOR",
        lambda w, s: {"notificationIds": [s(w.ids["dead-notification"])]},
    ),
    IdField(
        "createAlertPolicy",
        "recipientIds",
        "CONTRIBUTOR",
        lambda w, s: _policy(recipientIds=[s(w.ids["user-READER"])]),
    ),
    IdField(
        "createAlertPolicy",
        "scope.assessmentIds",
        "CONTRIBUTOR",
        lambda w, s: _policy(scope={"assessmentIds": [s(w.ids["A1"])]}),
    ),
    IdField(
        "createAlertPolicy",
        "scope.groupIds",
        "CONTRIBUTOR",
        lambda w, s: _policy(scope={"groupIds": [s(w.ids["G1"])]}),
    ),
    IdField(
        "createAlertPolicy",
        "scope.regulationIds",
        "CONTRIBUTOR",
        lambda w, s: _policy(scope={"regulationIds": [s(w.ids["R1"])]}),
    ),
    IdField(
        "updateAlertPolicy",
        "alertPolicyId",
        "OWNER",
        lambda w, s: {"alertPolicyId": s(DEFAULT_POLICY), "enabled": False},
    ),
    IdField(
        "updateAlertPolicy",
        "recipientIds",
        "OWNER",
        lambda w, s: {"alertPolicyId": DEFAULT_POLICY, "recipientIds": [s(w.ids["user-READER"])]},
    ),
    IdField(
        "deleteAlertPolicy",
        "alertPolicyId",
        "OWNER",
        lambda w, s: {"alertPolicyId": s(DEFAULT_POLICY)},
    ),
    IdField(
        "updateAlert",
        "alertId",
        "OWNER",
        lambda w, s: {"alertId": s(w.ids["alert"]), "status": "RESOLVED"},
    ),
    IdField(
        "updateAlert",
        "assigneeId",
        "OWNER",
        lambda w, s: {"alertId": w.ids["alert"], "assigneeId": s(w.ids["user-READER"])},
    ),
]


def test_every_id_a_mutation_takes_is_walked() -> None:
    from cmgraph.schema.api import schema_sdl

    sdl = schema_sdl()
    taken = set()
    for mutation in {c.mutation for c in CASES}:
        block = sdl[sdl.index(f"input {mutation[0].upper()}{mutation[1:]}Input {{") :]
        for line in block[: block.index("\n}")].splitlines()[1:]:
            field, _, kind = line.strip().partition(": ")
            if kind.startswith(("ID", "[ID")):
                taken.add((mutation, field))
    assert len(taken) > 25
    assert taken == {(f.mutation, f.field) for f in ID_FIELDS if "." not in f.field}


@pytest.mark.parametrize("case", ID_FIELDS, ids=str)
async def test_mutations_refuse_other_spellings_of_an_id(
    api, db, world: World, case: IdField
) -> None:
    before = await snapshot(db)
    document = f"""mutation($input: {case.mutation[0].upper()}{case.mutation[1:]}Input!) {{
        {case.mutation}(input: $input) {{ userErrors {{ field code message }} }} }}"""
    token = world.tokens[case.role]
    field = ["input", *case.field.split(".")]
    for spelling in respellings(_encode("Any", "1")):
        variables = {"input": case.input(world, lambda gid, s=spelling: respellings(gid)[s])}
        data = await api.query(document, variables, token=token)
        errors = data[case.mutation]["userErrors"]
        assert [(e["code"], e["field"]) for e in errors] == [("NOT_FOUND", field)], spelling
    assert await snapshot(db) == before
    # The same input with the id spelled right does not fail on the id.
    data = await api.query(document, {"input": case.input(world, _same)}, token=token)
    assert "NOT_FOUND" not in [e["code"] for e in data[case.mutation]["userErrors"]]


# -- evidence over HTTP ---------------------------------------------------------------------


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Evidence files in the test's own folder."""
    return Settings.from_env({}, data_dir=tmp_path / "data", public_url="http://cmgraph.test")


UPLOAD_HEADERS = {"X-CMGraph-CSRF": "1"}


async def _upload(api, token: str, action_id: str, name: str) -> httpx.Response:
    return await api.client.post(
        "/evidence/upload",
        data={"actionId": action_id},
        files={"file": (name, b"evidence\n", "text/plain")},
        headers={**UPLOAD_HEADERS, "Authorization": f"Bearer {token}"},
    )


def _json_error(response: httpx.Response, status: int, code: str, note: str = "") -> None:
    assert response.status_code == status, (note, response.text)
    assert [e["extensions"]["code"] for e in response.json()["errors"]] == [code]


async def test_downloads_answer_404_for_other_spellings_of_a_file_id(api, world: World) -> None:
    token = world.tokens["CONTRIBUTOR"]
    uploaded = await _upload(api, token, world.ids["T2"], "proof.txt")
    assert uploaded.status_code == 201, uploaded.text
    real = uploaded.json()["evidence"]["id"]
    data = await api.query(
        "query($id: ID!) { node(id: $id) { ... on Evidence { downloadUrl } } }",
        {"id": real},
        token=token,
    )
    link = urlsplit(data["node"]["downloadUrl"])
    assert (await api.client.get(f"{link.path}?{link.query}")).status_code == 200
    genuine = parse_qs(link.query)["token"][0]  # signed for this file and user
    for spelling, other in {**respellings(real), **base64_aliases(real)}.items():
        path = f"/evidence/{quote(other, safe='')}/download"
        for query in (f"?token={genuine}", "?token=x"):
            _json_error(await api.client.get(path + query), 404, "NOT_FOUND", spelling)
        if spelling in respellings(real):  # (a line break in the path matches no route: 404)
            _json_error(await api.client.get(path), 401, "UNAUTHENTICATED", spelling)
        bearer = {"Authorization": f"Bearer {token}"}
        _json_error(await api.client.get(path, headers=bearer), 404, "NOT_FOUND", spelling)


async def test_download_tokens_have_one_spelling(api, world: World) -> None:
    token = world.tokens["CONTRIBUTOR"]
    uploaded = await _upload(api, token, world.ids["T2"], "proof.txt")
    real = uploaded.json()["evidence"]["id"]
    data = await api.query(
        "query($id: ID!) { node(id: $id) { ... on Evidence { downloadUrl } } }",
        {"id": real},
        token=token,
    )
    link = urlsplit(data["node"]["downloadUrl"])
    genuine = parse_qs(link.query)["token"][0]
    payload, _, signature = genuine.rpartition(".")
    for other in (
        f"0{genuine}",
        f"{genuine}é",
        f"{payload}=.{signature}",
        f"{payload}.{signature}=",
        f"{payload}\n.{signature}",
    ):
        response = await api.client.get(f"{link.path}?token={quote(other)}")
        _json_error(response, 404, "NOT_FOUND")


async def test_uploads_refuse_other_spellings_of_an_action_id(api, db, world: World) -> None:
    before = await snapshot(db)
    for spelling, other in {
        **respellings(world.ids["T2"]),
        **base64_aliases(world.ids["T2"]),
    }.items():
        response = await _upload(api, world.tokens["CONTRIBUTOR"], other, "proof.txt")
        assert response.status_code == 404, (spelling, response.text)
        assert response.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert await snapshot(db) == before


async def test_file_names_longer_than_file_systems_allow_are_refused(api, db, world: World) -> None:
    before = await snapshot(db)
    response = await _upload(api, world.tokens["CONTRIBUTOR"], world.ids["T2"], "x" * 252 + ".txt")
    _json_error(response, 400, "INVALID")
    assert "255" in response.json()["errors"][0]["message"]
    response = await _upload(api, world.tokens["CONTRIBUTOR"], world.ids["T2"], "x" * 2000 + ".txt")
    _json_error(response, 400, "INVALID")
    assert await snapshot(db) == before


# -- search and list filters ----------------------------------------------------------------

SEARCHES = [
    ("improvementActions", "ImprovementActionFilter"),
    ("improvementActionsExport", "ImprovementActionFilter"),
    ("assessments", "AssessmentFilter"),
    ("controls", "ControlFilter"),
    ("groups", "GroupFilter"),
    ("templates", "TemplateFilter"),
    ("users", "UserFilter"),
]


@pytest.mark.parametrize(("root", "filter_type"), SEARCHES)
async def test_search_text_is_bounded_and_free_of_control_characters(
    api, world: World, root: str, filter_type: str
) -> None:
    document = f"query($f: {filter_type}) {{ {root}(filter: $f) {{ __typename }} }}"
    token = world.tokens["OWNER"]
    for bad in ("\x00", "A\x00", "x" * 201, "x" * 50_001, "T\n1", "\x1b[0m"):
        errors = await api.errors(document, {"f": {"search": bad}}, token=token)
        assert [e["extensions"]["code"] for e in errors] == ["BAD_USER_INPUT"], bad[:10]
        assert errors[0]["message"]
    assert await api.query(document, {"f": {"search": "x" * 200}}, token=token)


async def test_a_nul_no_longer_matches_every_action(api, world: World) -> None:
    document = "query($s: String) { improvementActions(filter: {search: $s}) { totalCount } }"
    token = world.tokens["OWNER"]
    found = await api.query(document, {"s": "T2"}, token=token)
    assert found["improvementActions"]["totalCount"] == 1
    errors = await api.errors(document, {"s": "T2\x00"}, token=token)
    assert errors[0]["extensions"]["code"] == "BAD_USER_INPUT"


@pytest.mark.parametrize(
    ("root", "filter_type", "field"),
    [
        ("improvementActions", "ImprovementActionFilter", "categories"),
        ("improvementActions", "ImprovementActionFilter", "solutions"),
        ("controls", "ControlFilter", "families"),
        ("controls", "ControlFilter", "keys"),
        ("complianceScore", "ScoreFilter", "categories"),
        ("complianceScore", "ScoreFilter", "solutions"),
    ],
)
async def test_list_filters_refuse_control_characters(
    api, world: World, root: str, filter_type: str, field: str
) -> None:
    document = f"query($f: {filter_type}) {{ {root}(filter: $f) {{ __typename }} }}"
    token = world.tokens["OWNER"]
    for bad in (["Audit\x00"], ["x" * 501], ["x"] * 201):
        errors = await api.errors(document, {"f": {field: bad}}, token=token)
        assert [e["extensions"]["code"] for e in errors] == ["BAD_USER_INPUT"]
    assert await api.query(document, {"f": {field: ["Audit"]}}, token=token)


# -- names and notes ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("email", "name"),
    [
        ("ann@bad.test", "Ann\x00"),
        ("ann@bad.test", "Ann\nAdmin"),
        ("ann@bad.test", "a" * 201),
        ("ann\x00@bad.test", "Ann"),
        ("a" * 312 + "@bad.test", "Ann"),  # 321 characters
    ],
)
async def test_user_names_and_emails_follow_the_name_rule(uow, db, email: str, name: str) -> None:
    before = await snapshot(db)
    with pytest.raises(DomainError) as refused:
        async with uow() as u:
            await create_user(u, email, name, OrgRole.READER)
    assert refused.value.code is ErrorCode.INVALID
    assert await snapshot(db) == before


async def test_token_names_follow_the_name_rule(uow, db) -> None:
    async with uow() as u:
        user = await create_user(u, "ann@bad.test", "Ann", OrgRole.READER)
    before = await snapshot(db)
    with pytest.raises(DomainError) as refused:
        async with uow() as u:
            await create_token(u, user, "laptop\x1b[31m")
    assert refused.value.code is ErrorCode.INVALID
    assert await snapshot(db) == before


async def test_notes_may_span_lines_and_hold_tabs(api, world: World) -> None:
    notes = "Step 1:\tenable\r\nStep 2:\tverify\n"
    data = await api.query(
        """mutation($input: UpdateImplementationInput!) { updateImplementation(input: $input) {
            improvementAction { implementationNotes } userErrors { code } } }""",
        {"input": action("T2", implementationNotes=notes)(world)},
        token=world.tokens["CONTRIBUTOR"],
    )
    assert data["updateImplementation"] == {
        "improvementAction": {"implementationNotes": notes},
        "userErrors": [],
    }


# -- what the log says about client mistakes ------------------------------------------------


def _ours(records: list[logging.LogRecord]) -> list[logging.LogRecord]:
    """What cmgraph and strawberry logged (the libraries below them log SQL and HTTP)."""
    return [r for r in records if r.name.split(".")[0] in ("cmgraph", "strawberry")]


async def test_a_bad_id_in_node_or_a_mutation_logs_nothing(api, world: World, caplog) -> None:
    bad = respellings(world.ids["A1"])["superscript digit"]
    token = world.tokens["ADMINISTRATOR"]
    caplog.set_level(logging.DEBUG)
    caplog.clear()
    data = await api.query("query($id: ID!) { node(id: $id) { id } }", {"id": bad}, token=token)
    assert data == {"node": None}
    data = await api.query(
        """mutation($input: RenameAssessmentInput!) {
            renameAssessment(input: $input) { userErrors { code } } }""",
        {"input": {"assessmentId": bad, "name": "New"}},
        token=token,
    )
    assert data["renameAssessment"]["userErrors"] == [{"code": "NOT_FOUND"}]
    assert [r.getMessage() for r in _ours(caplog.records)] == []


async def test_bad_ids_in_filters_and_arguments_are_coded_and_logged_without_a_traceback(
    api, world: World, caplog
) -> None:
    token = world.tokens["ADMINISTRATOR"]
    caplog.set_level(logging.DEBUG)
    caplog.clear()
    # the codec refuses it (a filter: BAD_USER_INPUT)
    bad = respellings(world.ids["A1"])["superscript digit"]
    errors = await api.errors(
        "query($ids: [ID!]) { assessments(filter: {groupIds: $ids}) { totalCount } }",
        {"ids": [bad]},
        token=token,
    )
    assert [e["extensions"]["code"] for e in errors] == ["BAD_USER_INPUT"]
    # not base64 at all: the same answers, from the same codec
    errors = await api.errors(
        "query($ids: [ID!]) { assessments(filter: {groupIds: $ids}) { totalCount } }",
        {"ids": ["not base64!"]},
        token=token,
    )
    assert [e["extensions"]["code"] for e in errors] == ["BAD_USER_INPUT"], errors
    data = await api.query(
        """mutation($input: RenameAssessmentInput!) {
            renameAssessment(input: $input) { userErrors { code } } }""",
        {"input": {"assessmentId": "not base64!", "name": "New"}},
        token=token,
    )
    assert data["renameAssessment"]["userErrors"] == [{"code": "NOT_FOUND"}]
    assert [r.getMessage() for r in _ours(caplog.records) if r.exc_info or r.stack_info] == []
    assert [r.getMessage() for r in _ours(caplog.records) if "\n" in r.getMessage()] == []


async def test_an_interface_named_in_an_id_is_nothing(api, world: World, caplog) -> None:
    caplog.set_level(logging.WARNING)
    node_id = to_base64("Node", 1)
    data = await api.query(
        "query($id: ID!) { node(id: $id) { id } nodes(ids: [$id]) { id } }",
        {"id": node_id},
        token=world.tokens["READER"],
    )
    assert data == {"node": None, "nodes": [None]}
    assert _ours(caplog.records) == []


@pytest.mark.parametrize(
    ("role", "document"),
    [
        ("OWNER", '{ node(id: "%s") { id } users(first: -1) { totalCount } }'),
        ("READER", '{ node(id: "%s") { id } mailQueue { oldestPendingCreatedAt } }'),
    ],
)
async def test_a_failed_root_field_leaves_its_siblings_no_session_to_break(
    api, world: World, caplog, role: str, document: str
) -> None:
    """A non-null root field fails while a sibling still reads: the answer is the refusal,
    and the sibling's read ends cleanly instead of racing the closing session."""
    caplog.set_level(logging.WARNING)
    for node_id in [world.ids["A1"], to_base64("Alert", 1), to_base64("Assessment", 1)]:
        body = (await api.post(document % node_id, token=world.tokens[role])).json()
        assert body["data"] is None
        assert body["errors"][0]["extensions"]["code"] in {"BAD_USER_INPUT", "FORBIDDEN"}
    assert [r.getMessage() for r in _ours(caplog.records)] == []


@pytest.mark.parametrize(
    "cursor",
    [
        base64.b64encode(b"cursor:1").decode(),  # an offset cursor of old
        base64.b64encode(b"cursor:1").decode().rstrip("="),  # unpadded
        base64.b64encode("cursor:²".encode()).decode(),
        base64.b64encode("cursor:٣".encode()).decode(),
        base64.b64encode(b"cursor:01").decode(),
        base64.b64encode(b"cursor:-1").decode(),
        "x" * 100_000,
    ],
)
async def test_cursors_have_one_spelling_and_errors_do_not_echo_input(
    api, world: World, cursor: str
) -> None:
    errors = await api.errors(
        "query($after: String) { assessments(after: $after) { totalCount } }",
        {"after": cursor},
        token=world.tokens["READER"],
    )
    assert errors[0]["extensions"] == {"code": "BAD_CURSOR", "field": "after"}
    assert len(errors[0]["message"]) < 200
    long_id = "x" * 100_000
    errors = await api.errors(
        "query($ids: [ID!]) { assessments(filter: {groupIds: $ids}) { totalCount } }",
        {"ids": [long_id]},
        token=world.tokens["READER"],
    )
    assert errors[0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert len(errors[0]["message"]) < 200


async def test_a_document_of_several_operations_runs_only_the_one_named(api, world: World) -> None:
    document = "query A { viewer { role } } mutation B { __typename }"
    token = world.tokens["READER"]
    body = (
        await api.client.post(
            "/graphql", json={"query": document}, headers={"Authorization": f"Bearer {token}"}
        )
    ).json()
    assert "data" not in body  # nothing ran: a request error has no data entry
    assert [e["extensions"]["code"] for e in body["errors"]] == ["BAD_REQUEST"]
    named = await api.client.post(
        "/graphql",
        json={"query": document, "operationName": "A"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert named.json() == {"data": {"viewer": {"role": "READER"}}}


async def test_accepting_updates_takes_a_bounded_list_of_assessments(api, db, world: World) -> None:
    before = await snapshot(db)
    ids = [to_base64("Assessment", i) for i in range(1, MAX_ASSESSMENTS_AT_ONCE + 2)]
    data = await api.query(
        """mutation($input: AcceptAllActionUpdatesInput!) {
            acceptAllActionUpdates(input: $input) { userErrors { field code message } } }""",
        {"input": {"assessmentIds": ids}},
        token=world.tokens["ADMINISTRATOR"],
    )
    assert data["acceptAllActionUpdates"]["userErrors"] == [
        {
            "field": ["input", "assessmentIds"],
            "code": "INVALID",
            "message": f"At most {MAX_ASSESSMENTS_AT_ONCE} assessments at once.",
        }
    ]
    assert await snapshot(db) == before


async def test_a_refused_list_or_a_bad_filter_is_reported_before_a_bad_page_size(
    api, world: World
) -> None:
    refused = await api.errors("{ users(first: -1) { totalCount } }", token=world.tokens["READER"])
    assert [e["extensions"]["code"] for e in refused] == ["FORBIDDEN"]
    bad_filter = await api.errors(
        '{ assessments(first: -1, filter: {groupIds: ["nope"]}) { totalCount } }',
        token=world.tokens["READER"],
    )
    assert [e["extensions"]["code"] for e in bad_filter] == ["BAD_USER_INPUT"]
    assert "not an id of type Group" in bad_filter[0]["message"]


async def test_a_closed_reader_waits_for_the_read_in_flight_then_refuses_more(db) -> None:
    """What the GraphQL endpoint does when it answers while sibling fields still read."""
    async with db.sessions() as session:
        reader = Reader(session)
        await reader.lock.acquire()  # a statement in flight
        closing = asyncio.create_task(reader.close())
        await asyncio.sleep(0)  # one turn of the loop: close() starts and meets the lock
        assert not closing.done() and not reader.closed
        reader.lock.release()
        await closing
        assert reader.closed
        with pytest.raises(RequestFinished):
            await reader.scalar(select(func.count(Assessment.id)))
