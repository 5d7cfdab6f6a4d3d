"""The demo seed: complete on first call, a no-op with the same tokens afterwards."""

from __future__ import annotations

import stat
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from cmgraph.adapters.db import UnitOfWork
from cmgraph.config import Settings
from cmgraph.demo import (
    AUDITOR_EMAIL,
    HEAD_OFFICE_ASSESSMENT,
    SUBSIDIARY_ASSESSMENT,
    demo_secret,
    seed_demo,
)
from cmgraph.domain import accounts, calendar, clock
from cmgraph.domain.accounts import AuthenticationError
from cmgraph.domain.calendar import DueState
from cmgraph.domain.enums import (
    ChangeSource,
    EvidenceKind,
    ImplementationStatus,
    OrgRole,
    Owner,
    TestStatus,
)
from cmgraph.domain.models import (
    ActionDefinition,
    ApiToken,
    Assessment,
    Control,
    ControlAction,
    Evidence,
    HistoryEntry,
    ImprovementAction,
    User,
)
from cmgraph.domain.sign_in import SessionPolicy, start_session
from tests.databases import Database

COUNTED = (User, Assessment, ImprovementAction, Evidence, HistoryEntry, ApiToken)

EXPECTED_ROLES = {
    "owner@demo.cmgraph.test": OrgRole.OWNER,
    "admin@demo.cmgraph.test": OrgRole.ADMINISTRATOR,
    "assessor@demo.cmgraph.test": OrgRole.ASSESSOR,
    "contributor@demo.cmgraph.test": OrgRole.CONTRIBUTOR,
    "reader@demo.cmgraph.test": OrgRole.READER,
    "auditor@demo.cmgraph.test": None,
}


async def _counts(db: Database) -> dict[str, int]:
    async with UnitOfWork(db.sessions) as u:
        return {
            model.__name__: await u.session.scalar(select(func.count()).select_from(model)) or 0
            for model in COUNTED
        }


async def _score(u: UnitOfWork, assessment_id: int) -> tuple[float, int]:
    reachable = (
        select(ControlAction.action_id)
        .join(Control, Control.id == ControlAction.control_id)
        .where(Control.assessment_id == assessment_id)
        .distinct()
    )
    row = (
        await u.session.execute(
            select(func.sum(ImprovementAction.earned), func.sum(ImprovementAction.possible)).where(
                ImprovementAction.id.in_(reachable)
            )
        )
    ).one()
    return float(row[0] or 0), int(row[1] or 0)


async def test_seed_is_complete_then_idempotent(db: Database, tmp_path: Path) -> None:
    first = await seed_demo(db.sessions, tmp_path)
    assert len(first) == 6
    assert {u.email for u in first} == set(EXPECTED_ROLES)
    assert all(u.token.startswith(accounts.TOKEN_PREFIX) and u.name for u in first)
    assert len({u.token for u in first}) == 6
    counts = await _counts(db)
    assert counts["User"] == 6 and counts["Assessment"] == 2 and counts["ApiToken"] == 6
    assert counts["Evidence"] > 0 and counts["HistoryEntry"] > 0

    second = await seed_demo(db.sessions, tmp_path)
    assert second == first
    assert await _counts(db) == counts


async def test_tokens_authenticate_to_the_right_roles(db: Database, tmp_path: Path) -> None:
    users = await seed_demo(db.sessions, tmp_path)
    async with UnitOfWork(db.sessions) as u:
        for demo in users:
            principal = await accounts.authenticate(u, demo.token)
            user = await u.session.get(User, principal.user_id)
            assert user is not None and user.email == demo.email
            assert principal.role == EXPECTED_ROLES[demo.email]
        # Only digests are stored.
        hashes = set((await u.session.scalars(select(ApiToken.token_hash))).all())
        assert not {d.token for d in users} & hashes
        assert {accounts.hash_token(d.token) for d in users} == hashes


async def test_auditor_has_one_assessment_grant(db: Database, tmp_path: Path) -> None:
    users = await seed_demo(db.sessions, tmp_path)
    auditor = next(u for u in users if u.email == AUDITOR_EMAIL)
    async with UnitOfWork(db.sessions) as u:
        principal = await accounts.authenticate(u, auditor.token)
        assert principal.role is None
        assert not principal.regulation_grants
        assert len(principal.assessment_grants) == 1
        [(assessment_id, role)] = principal.assessment_grants.items()
        assert role is OrgRole.ASSESSOR
        assessment = await u.session.get(Assessment, assessment_id)
        assert assessment is not None and assessment.name == SUBSIDIARY_ASSESSMENT


async def test_assessments_have_scores_and_varied_statuses(db: Database, tmp_path: Path) -> None:
    await seed_demo(db.sessions, tmp_path)
    async with UnitOfWork(db.sessions) as u:
        assessments = {a.name: a for a in (await u.session.scalars(select(Assessment))).all()}
        assert set(assessments) == {HEAD_OFFICE_ASSESSMENT, SUBSIDIARY_ASSESSMENT}
        scores = {name: await _score(u, a.id) for name, a in assessments.items()}
        for earned, possible in scores.values():
            assert 0 < earned < possible
        assert scores[HEAD_OFFICE_ASSESSMENT] != scores[SUBSIDIARY_ASSESSMENT]

        actions = (await u.session.scalars(select(ImprovementAction))).all()
        implementation = {a.implementation_status for a in actions}
        tests = {a.test_status for a in actions}
        assert {
            ImplementationStatus.IMPLEMENTED,
            ImplementationStatus.ALTERNATIVE_IMPLEMENTATION,
            ImplementationStatus.PLANNED,
            ImplementationStatus.NOT_IMPLEMENTED,
            ImplementationStatus.OUT_OF_SCOPE,
        } <= implementation
        assert {TestStatus.PASSED, TestStatus.FAILED_HIGH_RISK, TestStatus.NONE} <= tests
        today = datetime.now(UTC).date()
        assert all(a.implementation_date is None or a.implementation_date < today for a in actions)
        assert all(a.test_date is None or a.test_date < today for a in actions)

        evidence = (await u.session.scalars(select(Evidence))).all()
        assert evidence and all(e.kind is EvidenceKind.LINK for e in evidence)
        assert all(e.url and e.url.startswith("https://") for e in evidence)
        # Copy-from carried the head office's links on group actions into the subsidiary.
        subsidiary_group = assessments[SUBSIDIARY_ASSESSMENT].group_id
        copied = await u.session.scalar(
            select(func.count())
            .select_from(Evidence)
            .join(ImprovementAction, ImprovementAction.id == Evidence.action_id)
            .where(ImprovementAction.group_id == subsidiary_group)
        )
        assert copied and copied > 0


async def test_same_secret_gives_same_tokens_in_a_new_database(databases, tmp_path: Path) -> None:
    async with databases.database() as one:
        first = await seed_demo(one.sessions, tmp_path)
    async with databases.database() as two:
        second = await seed_demo(two.sessions, tmp_path)
    assert [u.token for u in first] == [u.token for u in second]


async def test_a_new_secret_stores_the_new_tokens(db: Database, tmp_path: Path) -> None:
    old = await seed_demo(db.sessions, tmp_path)
    (tmp_path / "demo-secret").unlink()
    new = await seed_demo(db.sessions, tmp_path)
    assert {u.token for u in new}.isdisjoint(u.token for u in old)
    assert {u.password for u in new}.isdisjoint(u.password for u in old)
    async with UnitOfWork(db.sessions) as u:
        for demo in new:
            await accounts.authenticate(u, demo.token)
    policy = SessionPolicy.of(Settings.from_env({}))
    for demo, stale in zip(new, old, strict=True):
        started = await start_session(db.sessions, policy, demo.email, demo.password, address="a")
        assert started.user.email == demo.email
        with pytest.raises(AuthenticationError):
            await start_session(db.sessions, policy, stale.email, stale.password, address="b")


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX file modes")
def test_secret_file_is_private_and_stable(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    secret = demo_secret(folder)
    assert demo_secret(folder) == secret
    mode = stat.S_IMODE((folder / "demo-secret").stat().st_mode)
    assert mode == 0o600
    assert not [p.name for p in folder.iterdir() if p.name != "demo-secret"]


async def test_the_demo_shows_work_on_a_calendar_and_provider_attestations(
    db: Database, tmp_path: Path
) -> None:
    await seed_demo(db.sessions, tmp_path)
    today = clock.today()
    async with UnitOfWork(db.sessions) as u:
        actions = (await u.session.scalars(select(ImprovementAction))).all()
        states = {
            calendar.due_state(a.due_date, a.implementation_status, today, 7) for a in actions
        }
        assert {DueState.OVERDUE, DueState.DUE_SOON, DueState.ON_TRACK} <= states
        assert any(calendar.is_retest_due(a.retest_due_on, today) for a in actions)
        assert any(
            a.retest_due_on and not calendar.is_retest_due(a.retest_due_on, today) for a in actions
        )
        assert all(a.assignee_id for a in actions if a.due_date)
        evidence = (await u.session.scalars(select(Evidence))).all()
        assert any(calendar.evidence_expired(e.review_by, today) for e in evidence)
        assert any(calendar.evidence_expiring(e.review_by, today, 7) for e in evidence)
        sources = set(
            await u.session.scalars(
                select(HistoryEntry.source)
                .join(ImprovementAction, ImprovementAction.id == HistoryEntry.action_id)
                .join(ActionDefinition, ActionDefinition.id == ImprovementAction.definition_id)
                .where(ActionDefinition.owner == Owner.PROVIDER)
            )
        )
        assert sources == {ChangeSource.PROVIDER}
