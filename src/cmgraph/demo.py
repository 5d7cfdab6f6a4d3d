"""Demo data: users for every role, two assessments of the starter template, varied statuses.

``seed_demo`` is safe to call at every start. The first call writes everything in one
transaction; later calls see the demo owner and write nothing, yet return the same users and
tokens. Tokens are derived from a random secret kept in the data folder (``demo-secret``,
mode 0600), so the database stores only their digests, as for every other token, while the
demo can print working tokens after each restart. Deleting the secret file invalidates the
old tokens; the next start derives new ones and stores their digests.

Everything goes through the domain services, so history, events and scores look exactly as
if people had done the work. Content is fixed (no randomness); dates are relative to today
so the demo always looks recent.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cmgraph.adapters.db import UnitOfWork
from cmgraph.domain import accounts, clock, sign_in
from cmgraph.domain.assessments import ORG_SCOPE, NewAssessment, create_assessment
from cmgraph.domain.assignment import assign_actions
from cmgraph.domain.enums import ChangeSource, OrgRole, Owner, TestingSource
from cmgraph.domain.enums import ImplementationStatus as Impl
from cmgraph.domain.enums import TestStatus as Test
from cmgraph.domain.evidence import add_evidence_link
from cmgraph.domain.models import ActionDefinition, ApiToken, ImprovementAction, User
from cmgraph.domain.permissions import Principal
from cmgraph.domain.starter import STARTER_TEMPLATE_SOURCE, starter_template
from cmgraph.domain.templates import import_template
from cmgraph.domain.workflow import change_action

SECRET_FILE = "demo-secret"
TOKEN_NAME = "demo"
DOMAIN = "demo.cmgraph.test"
OWNER_EMAIL = f"owner@{DOMAIN}"

HEAD_OFFICE_GROUP = "Head office"
HEAD_OFFICE_ASSESSMENT = "Data protection \u2013 Head office"  # en dash, as typeset
SUBSIDIARY_GROUP = "Subsidiary"
SUBSIDIARY_ASSESSMENT = "Data protection \u2013 Subsidiary"


@dataclass(frozen=True)
class DemoUser:
    """A demo login to print: who it is, what it may do, its bearer token and its password."""

    email: str
    name: str
    role_label: str
    token: str
    password: str


@dataclass(frozen=True)
class _Person:
    email: str
    name: str
    role: OrgRole | None
    label: str


PEOPLE = (
    _Person(OWNER_EMAIL, "Olivia Bennett", OrgRole.OWNER, "Owner"),
    _Person(f"admin@{DOMAIN}", "Marcus Okafor", OrgRole.ADMINISTRATOR, "Administrator"),
    _Person(f"assessor@{DOMAIN}", "Priya Raman", OrgRole.ASSESSOR, "Assessor"),
    _Person(f"contributor@{DOMAIN}", "Lukas Novak", OrgRole.CONTRIBUTOR, "Contributor"),
    _Person(f"reader@{DOMAIN}", "Hannah Schmidt", OrgRole.READER, "Reader"),
    _Person(
        f"auditor@{DOMAIN}",
        "Elena Duarte",
        None,
        f"External auditor (Assessor on {SUBSIDIARY_ASSESSMENT} only)",
    ),
)
AUDITOR_EMAIL = PEOPLE[-1].email


@dataclass(frozen=True)
class _Status:
    """One action's demo state; days are counted back from today."""

    key: str
    implementation: Impl | None = None
    implemented_days_ago: int | None = None
    test: Test | None = None
    tested_days_ago: int | None = None
    implementation_notes: str = ""
    testing_notes: str = ""

    def changes(self, today: date) -> dict[str, Any]:
        values: dict[str, Any] = {}
        if self.implementation is not None:
            values["implementation_status"] = self.implementation
        if self.implemented_days_ago is not None:
            values["implementation_date"] = today - timedelta(days=self.implemented_days_ago)
        if self.test is not None:
            values["test_status"] = self.test
        if self.tested_days_ago is not None:
            values["test_date"] = today - timedelta(days=self.tested_days_ago)
        if self.implementation_notes:
            values["implementation_notes"] = self.implementation_notes
        if self.testing_notes:
            values["testing_notes"] = self.testing_notes
        return values


def _k(name: str) -> str:
    return f"dpb:{name}"


# Head office first: technical and provider actions are organisation-wide, so these also show
# in the subsidiary; non-technical ones reach it through "copy from group".
HEAD_OFFICE_STATUSES = (
    _Status(
        _k("mfa-admins"), Impl.IMPLEMENTED, 150, Test.PASSED, 120,
        "Sign-in policy 'Admins - security key' covers every privileged role. Two break-glass "
        "accounts are excluded and alert on use.",
        "Policy export and five sampled admin sign-ins reviewed; all used a security key.",
    ),
    _Status(
        _k("mfa-all-users"), Impl.IMPLEMENTED, 95, Test.FAILED_MEDIUM_RISK, 40,
        "Rolled out in three waves by department.",
        "14 shared mailboxes and 3 service accounts are still excluded without an end date.",
    ),
    _Status(
        _k("block-legacy-auth"), Impl.PLANNED,
        implementation_notes="Two multifunction printers still send scans over basic "
        "authentication; replacements are ordered.",
    ),
    _Status(_k("least-privilege-roles"), Impl.IMPLEMENTED, 210, Test.PASSED, 160),
    _Status(_k("access-reviews"), Impl.IMPLEMENTED, 70, Test.PASSED, 35),
    _Status(
        _k("joiner-mover-leaver"), Impl.ALTERNATIVE_IMPLEMENTATION, 200, Test.PASSED, 130,
        "HR tickets drive account changes in the service desk tool instead of automated "
        "provisioning.",
    ),
    _Status(_k("access-policy"), Impl.IMPLEMENTED, 320, Test.PASSED, 300),
    _Status(
        _k("classify-data"), Impl.PLANNED,
        implementation_notes="Label names agreed with the works council; rollout next quarter.",
    ),
    _Status(_k("classification-scheme"), Impl.IMPLEMENTED, 60),
    _Status(
        _k("dlp-policies"), Impl.IMPLEMENTED, 50, Test.FAILED_HIGH_RISK, 20,
        "Policies for mail and file sharing created.",
        "Policies are still in audit-only mode; a test message with sample bank details was "
        "delivered to an external mailbox.",
    ),
    _Status(_k("external-sharing"), Impl.IMPLEMENTED, 180, Test.PASSED, 170),
    _Status(
        _k("customer-managed-keys"), Impl.OUT_OF_SCOPE,
        implementation_notes="No data is classified Restricted; revisit if that changes.",
    ),
    _Status(_k("device-encryption"), Impl.IMPLEMENTED, 240, Test.PASSED, 200),
    _Status(_k("device-compliance"), Impl.IMPLEMENTED, 120, Test.IN_PROGRESS, 5),
    _Status(
        _k("patch-management"), Impl.IMPLEMENTED, 365, Test.FAILED_LOW_RISK, 12,
        testing_notes="92% of devices met the deadline for the last critical update "
        "(target 95%).",
    ),
    _Status(_k("asset-inventory"), Impl.IMPLEMENTED, 300, Test.PASSED, 90),
    _Status(
        _k("mobile-app-protection"), Impl.OUT_OF_SCOPE,
        implementation_notes="Company data is not accessed from phones.",
    ),
    _Status(_k("remote-wipe"), Impl.IMPLEMENTED, 100, Test.PASSED, 90),
    _Status(_k("malware-protection"), Impl.IMPLEMENTED, 400, Test.PASSED, 30),
    _Status(_k("phishing-protection"), Impl.IMPLEMENTED, 380, Test.PASSED, 30),
    _Status(_k("security-awareness"), Impl.IMPLEMENTED, 150, Test.PASSED, 60),
    _Status(_k("audit-logging"), Impl.IMPLEMENTED, 330, Test.PASSED, 300),
    _Status(_k("alert-review"), Impl.IMPLEMENTED, 100, Test.NOT_ASSESSED),
    _Status(
        _k("incident-response-plan"), Impl.ALTERNATIVE_IMPLEMENTATION, 260, Test.PASSED, 210,
        "Covered by the group IT incident procedure, section 4 (personal data breaches).",
    ),
    _Status(_k("breach-register"), Impl.IMPLEMENTED, 260, Test.PASSED, 210),
    _Status(
        _k("backup-restore"), Impl.IMPLEMENTED, 90, Test.REMEDIATED, 15,
        testing_notes="The quarterly restore test missed its target; storage throughput was "
        "fixed and a retest is booked.",
    ),
    _Status(_k("processing-register"), Impl.IMPLEMENTED, 180, Test.PASSED, 150),
    _Status(_k("privacy-notice"), Impl.IMPLEMENTED, 420, Test.PASSED, 380),
    _Status(
        _k("dpia"), Impl.PLANNED,
        implementation_notes="First assessment due for the new visitor camera system.",
    ),
    _Status(
        _k("retention-schedule"),
        implementation_notes="Waiting for legal to confirm the statutory periods.",
    ),
    _Status(_k("subject-requests"), Impl.IMPLEMENTED, 200, Test.PASSED, 100),
    _Status(_k("vendor-assessment"), Impl.PLANNED),
    _Status(_k("dp-roles"), Impl.IMPLEMENTED, 500, Test.PASSED, 450),
    # Provider actions: the provider's attestation (DOMAIN.md section 14).
    _Status(_k("provider-access-mgmt"), Impl.IMPLEMENTED, 365, Test.PASSED, 60),
    _Status(_k("provider-encrypt-at-rest"), Impl.IMPLEMENTED, 365, Test.PASSED, 60),
    _Status(_k("provider-encrypt-in-transit"), Impl.IMPLEMENTED, 365, Test.PASSED, 60),
    _Status(_k("provider-ddos"), Impl.IMPLEMENTED, 365, Test.PASSED, 60),
    _Status(_k("provider-monitoring"), Impl.IMPLEMENTED, 365, Test.PASSED, 60),
    _Status(_k("provider-breach-notice"), Impl.IMPLEMENTED, 365),
)  # fmt: skip

# The subsidiary starts as a copy of the head office and then differs in a few places.
SUBSIDIARY_STATUSES = (
    _Status(
        _k("security-awareness"), Impl.PLANNED,
        implementation_notes="Subsidiary staff join the group training programme next quarter.",
    ),
    _Status(_k("incident-exercise"), Impl.IMPLEMENTED, 45, Test.PASSED, 40),
    _Status(
        _k("policy-review"), Impl.IMPLEMENTED, 30, Test.FAILED_LOW_RISK, 10,
        testing_notes="Two local policies are past their review date.",
    ),
    _Status(
        _k("dpia"), Impl.OUT_OF_SCOPE,
        implementation_notes="The subsidiary runs no high-risk processing.",
    ),
)  # fmt: skip

# Work on a calendar (head office; non-technical ones are copied to the subsidiary):
# (action key, assignee email, due in days from today, assignment notes).
ASSIGNMENTS = (
    (
        _k("block-legacy-auth"),
        f"contributor@{DOMAIN}",
        -9,
        "Two line-of-business apps still use basic authentication; agree dates with their owners.",
    ),
    (_k("classify-data"), f"contributor@{DOMAIN}", 4, "Start with finance and HR shares."),
    (_k("dpia"), f"assessor@{DOMAIN}", 40, "Needed before the CRM migration goes live."),
)
# (action key, retest every N days): access reviews are due again, malware protection not yet.
RETEST_CADENCES = ((_k("access-reviews"), 30), (_k("malware-protection"), 90))

# (action key, uploader email, name, url, review by in days from today or None); added in the
# head office before the subsidiary is created, so links on non-technical actions are copied
# there too.
EVIDENCE_LINKS = (
    (
        _k("access-policy"), f"contributor@{DOMAIN}", "Access control policy",
        f"https://wiki.{DOMAIN}/policies/access-control", -10,
    ),
    (
        _k("mfa-admins"), f"assessor@{DOMAIN}", "Sign-in policy export",
        f"https://files.{DOMAIN}/evidence/admin-sign-in-policy.json", None,
    ),
    (
        _k("dlp-policies"), f"assessor@{DOMAIN}", "DLP test message results",
        f"https://files.{DOMAIN}/evidence/dlp-test-results.pdf", None,
    ),
    (
        _k("incident-response-plan"), f"contributor@{DOMAIN}", "Group IT incident procedure",
        f"https://wiki.{DOMAIN}/it/incident-procedure", 180,
    ),
    (
        _k("incident-response-plan"), f"contributor@{DOMAIN}", "Breach notification checklist",
        f"https://wiki.{DOMAIN}/it/incident-procedure#breach-checklist", None,
    ),
    (
        _k("privacy-notice"), f"contributor@{DOMAIN}", "Published privacy notice",
        f"https://www.{DOMAIN}/privacy", 5,
    ),
)  # fmt: skip


def demo_secret(data_dir: Path) -> bytes:
    """Read the demo secret, creating it (mode 0600) on first use.

    The new file is written under a temporary name and hard-linked into place, so a second
    process starting at the same moment either wins or reads a complete secret.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / SECRET_FILE
    if not path.exists():
        temporary = data_dir / f".{SECRET_FILE}.{os.getpid()}.{secrets.token_hex(4)}"
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(descriptor, "w", encoding="ascii") as handle:
                handle.write(secrets.token_hex(32) + "\n")
            with contextlib.suppress(FileExistsError):
                os.link(temporary, path)
        finally:
            temporary.unlink(missing_ok=True)
    secret = path.read_text(encoding="ascii").strip()
    if len(secret) < 32:
        raise RuntimeError(f"{path} is too short to be a demo secret; delete it to make a new one")
    return secret.encode("ascii")


async def seed_demo(sessions: async_sessionmaker[AsyncSession], data_dir: Path) -> list[DemoUser]:
    """Create the demo once; return its users and their tokens on every call."""
    secret = demo_secret(data_dir)
    users = [
        DemoUser(
            p.email,
            p.name,
            p.label,
            accounts.derived_token(secret, p.email),
            _derived_password(secret, p.email),
        )
        for p in PEOPLE
    ]
    async with UnitOfWork(sessions) as uow:
        seeded = await uow.session.scalar(select(User.id).where(User.email == OWNER_EMAIL))
        if seeded is None:
            await _seed(uow, users)
        else:
            await _ensure_credentials(uow, users)
    return users


def _derived_password(secret: bytes, email: str) -> str:
    """A stable password for ``email`` under the demo's secret (printed at each start)."""
    digest = hmac.new(secret, f"password:{email}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode()[:16]


async def _seed(uow: UnitOfWork, users: list[DemoUser]) -> None:
    rows: dict[str, User] = {}
    for person, demo in zip(PEOPLE, users, strict=True):
        user = await accounts.create_user(uow, person.email, person.name, person.role)
        await accounts.create_token(uow, user, TOKEN_NAME, secret=demo.token)
        await sign_in.set_password(uow, user, demo.password)
        rows[person.email] = user
    principals = {email: await accounts.principal_for(uow, u) for email, u in rows.items()}
    owner = principals[OWNER_EMAIL]
    today = clock.today()

    imported = await import_template(uow, starter_template(), source=STARTER_TEMPLATE_SOURCE)
    head_office = await create_assessment(
        uow,
        owner,
        NewAssessment(
            imported.template.id, HEAD_OFFICE_ASSESSMENT, new_group_name=HEAD_OFFICE_GROUP
        ),
    )
    await _apply(uow, owner, head_office.group_id, HEAD_OFFICE_STATUSES, today)
    actions = await _actions_in_group(uow, head_office.group_id)
    for key, email, name, url, review_in in EVIDENCE_LINKS:
        review_by = None if review_in is None else today + timedelta(days=review_in)
        await add_evidence_link(
            uow, principals[email], actions[key][0], name, url, review_by=review_by
        )
    for key, email, due_in, notes in ASSIGNMENTS:
        await assign_actions(
            uow,
            owner,
            [actions[key][0]],
            rows[email].id,
            notes=notes,
            notify=False,
            due_date=today + timedelta(days=due_in),
        )
    for key, days in RETEST_CADENCES:
        await change_action(
            uow, owner, actions[key][0], {"retest_interval_days": days}, today=today
        )

    subsidiary = await create_assessment(
        uow,
        owner,
        NewAssessment(
            imported.template.id,
            SUBSIDIARY_ASSESSMENT,
            new_group_name=SUBSIDIARY_GROUP,
            copy_from_group_id=head_office.group_id,
        ),
    )
    await _apply(uow, owner, subsidiary.group_id, SUBSIDIARY_STATUSES, today)
    await accounts.grant(uow, rows[AUDITOR_EMAIL], OrgRole.ASSESSOR, assessment_id=subsidiary.id)


async def _apply(
    uow: UnitOfWork,
    actor: Principal,
    group_id: int,
    statuses: tuple[_Status, ...],
    today: date,
) -> None:
    actions = await _actions_in_group(uow, group_id)
    for status in statuses:
        action_id, owner, testing = actions[status.key]
        # The provider attests its own actions; a detector reports on automatic ones.
        source = (
            ChangeSource.PROVIDER
            if owner is Owner.PROVIDER
            else ChangeSource.AUTOMATION
            if testing is TestingSource.AUTOMATIC
            else ChangeSource.USER
        )
        await change_action(
            uow, actor, action_id, status.changes(today), source=source, today=today
        )


async def _actions_in_group(
    uow: UnitOfWork, group_id: int
) -> dict[str, tuple[int, Owner, TestingSource]]:
    """Definition key -> (instance id, owner, testing source) for a group's instances."""
    rows = await uow.session.execute(
        select(
            ActionDefinition.key,
            ImprovementAction.id,
            ActionDefinition.owner,
            ImprovementAction.testing_source,
        )
        .join(ImprovementAction, ImprovementAction.definition_id == ActionDefinition.id)
        .where(ImprovementAction.scope_key.in_([ORG_SCOPE, f"group:{group_id}"]))
    )
    return {key: (action_id, owner, testing) for key, action_id, owner, testing in rows}


async def _ensure_credentials(uow: UnitOfWork, users: list[DemoUser]) -> None:
    """Store tokens and passwords derived from a replaced secret; revoked tokens stay revoked."""
    for demo in users:
        user = await uow.session.scalar(select(User).where(User.email == demo.email))
        if user is None:
            continue
        known = await uow.session.scalar(
            select(ApiToken.id).where(ApiToken.token_hash == accounts.hash_token(demo.token))
        )
        if known is None:
            await accounts.create_token(uow, user, TOKEN_NAME, secret=demo.token)
        if not sign_in.password_matches(user, demo.password):
            await sign_in.set_password(uow, user, demo.password)
