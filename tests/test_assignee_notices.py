"""What an assignee is told (DOMAIN.md section 11): the assignment mail says what the work
is, what it is worth and by when; the built-in policy tells them when it fails testing."""

from __future__ import annotations

from datetime import timedelta
from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from cmgraph.alerts.messages import guidance_summary, render
from cmgraph.config import Settings
from cmgraph.domain import alert_policies as policies
from cmgraph.domain.accounts import create_user, grant
from cmgraph.domain.assignment import assign_actions
from cmgraph.domain.enums import NotificationKind, OrgRole, TestStatus
from cmgraph.domain.errors import DomainError, ErrorCode
from cmgraph.domain.models import (
    ActionDefinitionVersion,
    AlertPolicy,
    Assessment,
    ImprovementAction,
)
from cmgraph.domain.scoring import priority
from tests.builders import DAY
from tests.test_alert_evaluation import T0, World, build_world


@pytest.fixture
async def world(db, uow, owner) -> World:  # type: ignore[no-untyped-def]
    return await build_world(db, uow, owner)


async def _builtin(world: World) -> AlertPolicy:
    async with world.db.sessions() as session:
        policy = await session.scalar(
            select(AlertPolicy).where(AlertPolicy.builtin == "ASSIGNEE_TEST_FAILED")
        )
    assert policy is not None
    return policy


async def _alert_mail_to(world: World, user_id: int) -> list[Any]:
    return [
        n for n in await world.notifications(NotificationKind.ALERT) if n.recipient_id == user_id
    ]


async def test_the_assignee_is_told_when_their_action_fails_testing(world: World) -> None:
    builtin = await _builtin(world)
    assert builtin.enabled and builtin.notify_assignee and builtin.recipient_roles == []
    ann = await world.person("ann", OrgRole.CONTRIBUTOR)
    async with world.uow() as u:
        await assign_actions(u, world.owner, [world.actions["T2"]], ann, notify=False)
    await world.implement("T2")
    await world.test("T2", TestStatus.PASSED)  # not a failure: nothing for ann
    await world.run(T0)
    assert await _alert_mail_to(world, ann) == []

    await world.test("T2", TestStatus.FAILED_HIGH_RISK)
    await world.run(T0 + timedelta(minutes=5))
    [notice] = await _alert_mail_to(world, ann)
    [(alert, types)] = await world.alerts(builtin.id)
    assert notice.subject_id == alert.id and types[-1] == "TEST_STATUS_CHANGE"
    # Nobody else is a recipient of the built-in policy.
    assert {n.recipient_id for n in await world.notifications() if n.subject_id == alert.id} == {
        ann
    }

    # A second failure of another assignee's action joins the alert and tells that person too,
    # once; ann is not told again.
    bob = await world.person("bob", OrgRole.CONTRIBUTOR)
    async with world.uow() as u:
        await assign_actions(u, world.owner, [world.actions["T1"]], bob, notify=False)
    await world.test("T1", TestStatus.FAILED_LOW_RISK)
    await world.run(T0 + timedelta(minutes=5, seconds=10))
    assert len(await _alert_mail_to(world, ann)) == 1
    [bobs] = await _alert_mail_to(world, bob)
    assert bobs.subject_id == alert.id


async def test_an_assignee_with_a_grant_reads_only_their_actions_in_the_notice(
    world: World, tmp_path: Path
) -> None:
    """Two failures join one alert; the assignee who may read only A2 (T2's assessment) is
    told about T2 alone, not about T1 of another assessment."""
    async with world.db.sessions() as session:
        a2 = await session.scalar(select(Assessment.id).where(Assessment.name == "A2"))
    async with world.uow() as u:
        gina = await create_user(u, "gina@eval.test", "Gina Grant", None)
        await grant(u, gina, OrgRole.CONTRIBUTOR, assessment_id=a2)
        await assign_actions(u, world.owner, [world.actions["T2"]], gina.id, notify=False)
    hugo = await world.person("hugo", OrgRole.CONTRIBUTOR)
    async with world.uow() as u:
        await assign_actions(u, world.owner, [world.actions["T1"]], hugo, notify=False)
    await world.implement("T2")
    await world.test("T2", TestStatus.FAILED_LOW_RISK)
    await world.test("T1", TestStatus.FAILED_HIGH_RISK)
    await world.run(T0)
    [row] = await _alert_mail_to(world, gina.id)
    settings = Settings(public_url="https://cm.example.test", mail_dir=str(tmp_path))
    async with world.db.sessions() as session:
        text = _plain(await render(session, row, settings))
        titles = dict(
            (
                await session.execute(
                    select(ImprovementAction.id, ActionDefinitionVersion.title).join(
                        ImprovementAction,
                        ImprovementAction.definition_version_id == ActionDefinitionVersion.id,
                    )
                )
            ).all()
        )
    t1_title, t2_title = titles[world.actions["T1"]], titles[world.actions["T2"]]
    assert f": {t2_title}" in text and f": {t1_title}" not in text
    [hugos] = await _alert_mail_to(world, hugo)
    async with world.db.sessions() as session:
        assert f": {t1_title}" in _plain(await render(session, hugos, settings))


def _plain(message: Any) -> str:
    parsed = message_from_bytes(message.as_bytes(), policy=default_policy)
    return parsed.get_body(preferencelist=("plain",)).get_content()  # type: ignore[no-any-return,union-attr]


async def test_an_unassigned_failure_tells_nobody_and_an_owner_may_turn_it_off(
    world: World,
) -> None:
    builtin = await _builtin(world)
    await world.implement("T2")
    await world.test("T2", TestStatus.FAILED_LOW_RISK)
    await world.run(T0)
    [(alert, _)] = await world.alerts(builtin.id)
    assert [n for n in await world.notifications() if n.subject_id == alert.id] == []

    carla = await world.person("carla", OrgRole.CONTRIBUTOR)
    with pytest.raises(DomainError) as refused:
        async with world.uow() as u:
            await policies.update_alert_policy(
                u, world.people["carla"], builtin.id, {"enabled": False}
            )
    assert refused.value.code is ErrorCode.FORBIDDEN
    with pytest.raises(DomainError) as refused:
        async with world.uow() as u:
            await policies.delete_alert_policy(u, world.owner, builtin.id)
    assert refused.value.code is ErrorCode.INVALID and "cannot be deleted" in refused.value.message
    with pytest.raises(DomainError) as refused:
        await world.update_policy(builtin.id, severity="HIGH")
    assert refused.value.field == "severity"

    await world.update_policy(builtin.id, enabled=False)
    async with world.uow() as u:
        await assign_actions(u, world.owner, [world.actions["T1"]], carla, notify=False)
    await world.test("T1", TestStatus.FAILED_HIGH_RISK)
    await world.run(T0 + timedelta(hours=1))
    assert await _alert_mail_to(world, carla) == []


async def test_any_policy_may_tell_the_assignee(world: World) -> None:
    dora = await world.person("dora", OrgRole.CONTRIBUTOR)
    async with world.uow() as u:
        await assign_actions(u, world.owner, [world.actions["T2"]], dora, notify=False)
    policy = await world.policy(
        "Implementation moves",
        policies.ConditionSpec(policies.EventType.IMPLEMENTATION_STATUS_CHANGE),
        notify_assignee=True,
    )
    await world.implement("T2")
    await world.run(T0)
    [(alert, _)] = await world.alerts(policy)
    recipients = {n.recipient_id for n in await world.notifications() if n.subject_id == alert.id}
    assert recipients == {dora, world.owner.user_id}  # the assignee and the creator


def test_priority_follows_points() -> None:
    assert [priority(p).value for p in (27, 20, 19, 9, 5, 4, 3, 1)] == [
        "HIGH",
        "HIGH",
        "MEDIUM",
        "MEDIUM",
        "MEDIUM",
        "LOW",
        "LOW",
        "LOW",
    ]


def test_guidance_summary_is_the_first_paragraph_in_plain_text() -> None:
    guidance = (
        "## Turn on MFA\n\nUse **conditional access** for [all users](https://x.test).\n\nMore."
    )
    assert guidance_summary(guidance) == "Turn on MFA"
    assert guidance_summary("\n\n- Use *conditional* access for [all](https://x.test) users.") == (
        "Use conditional access for all users."
    )
    long = "word " * 100
    summary = guidance_summary(long, limit=50)
    assert summary.endswith("…") and len(summary) <= 51 and "wor…" not in summary
    assert guidance_summary("") == ""


async def test_the_assignment_mail_carries_guidance_points_priority_notes_and_due_date(
    world: World, tmp_path: Path
) -> None:
    eve = await world.person("eve", OrgRole.CONTRIBUTOR)
    t1 = world.actions["T1"]
    async with world.db.sessions() as session, session.begin():
        version_id = await session.scalar(
            select(ImprovementAction.definition_version_id).where(ImprovementAction.id == t1)
        )
        await session.execute(
            update(ActionDefinitionVersion)
            .where(ActionDefinitionVersion.id == version_id)
            .values(guidance="Require **MFA** for every administrator.\n\nDetails follow.")
        )
    due = DAY + timedelta(days=30)
    async with world.uow() as u:
        await assign_actions(
            u, world.owner, [t1], eve, notes="Before the audit, please.", due_date=due
        )
    await world.run(T0)
    [row] = await world.notifications(NotificationKind.ASSIGNMENT)
    settings = Settings(public_url="https://cm.example.test", mail_dir=str(tmp_path))
    async with world.db.sessions() as session:
        message = await render(session, row, settings)
    parsed = message_from_bytes(message.as_bytes(), policy=default_policy)
    text = parsed.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    markup = parsed.get_body(preferencelist=("html",)).get_content()  # type: ignore[union-attr]
    for body in (text, markup):
        assert "Require MFA for every administrator." in body
        assert "Details follow" not in body
        assert "27" in body and "High" in body
        assert due.isoformat() in body
        assert "Before the audit, please." in body
