"""A lapse that comes with another change is written like every lapse (DOMAIN.md section 15).

Accepting an update with a shorter default cadence, or copying a pass from another group,
can make a retest due at once; under ``retestLosesPoints`` the points lapse then, with a
``retest_lapsed`` history row like the daily upkeep's.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import select

from cmgraph.domain import clock
from cmgraph.domain.assessments import NewAssessment, create_assessment
from cmgraph.domain.enums import ChangeSource
from cmgraph.domain.models import HistoryEntry
from cmgraph.domain.templates import import_template
from tests.builders import DAY, N1, T1, T2, _template, worked_example
from tests.stored_figures import scores_agree
from tests.test_retest_cadence import (
    NOW,
    _actions_of,
    read,
    set_interval,
    settings,
    worked_example_of,
)
from tests.test_retest_cadence import gid as action_gid


@pytest.fixture(autouse=True)
def frozen_clock():
    clock.freeze(NOW)
    yield
    clock.reset()


async def lapse_rows(db, action) -> list[tuple[str | None, str | None, ChangeSource]]:
    async with db.sessions() as session:
        rows = await session.scalars(
            select(HistoryEntry)
            .where(HistoryEntry.action_id == action.id, HistoryEntry.field == "retest_lapsed")
            .order_by(HistoryEntry.id)
        )
        return [(r.old_value, r.new_value, r.source) for r in rows]


async def test_accepting_a_shorter_default_cadence_lapses_with_history(
    api, db, uow, owner, tokens
) -> None:
    spec = _template("lapse", "Regulation L", {"C1": (replace(T1, retest_interval_days=90), N1)})
    async with uow() as u:
        await import_template(u, spec, source="test")
        t1 = (await worked_example_of(u, owner, spec))["T1"]
    assert (await settings(api, tokens["OWNER"], retestLosesPoints=True))["userErrors"] == []
    before = await read(api, t1, tokens["READER"])
    assert (before["isRetestDue"], before["pointsLapsed"]) == (False, False)  # 2026-04-15

    shorter = replace(T1, retest_interval_days=30)  # due since 2026-02-14
    async with uow() as u:
        await import_template(
            u, _template("lapse", "Regulation L", {"C1": (shorter, N1)}), source="t"
        )
    data = await api.query(
        """mutation($input: AcceptActionUpdateInput!) { acceptActionUpdate(input: $input) {
            userErrors { code } } }""",
        {"input": {"actionId": action_gid(t1)}},
        token=tokens["ADMINISTRATOR"],
    )
    assert data["acceptActionUpdate"]["userErrors"] == []
    after = await read(api, t1, tokens["READER"])
    assert (after["isRetestDue"], after["pointsLapsed"]) == (True, True)
    assert after["score"] == {"earned": 0.0, "possible": 27}
    assert await lapse_rows(db, t1) == [("false", "true", ChangeSource.UPDATE)]
    await scores_agree(uow)


async def test_a_copied_pass_due_for_retest_lapses_with_history(
    api, db, uow, owner, tokens
) -> None:
    async with uow() as u:
        example = await worked_example(u, owner)
    n1 = example.actions["N1@G1"]  # passed on DAY in G1
    await set_interval(api, n1, tokens["CONTRIBUTOR"], 20)  # due since 2026-01-22
    assert (await settings(api, tokens["OWNER"], retestLosesPoints=True))["userErrors"] == []
    spec = _template("copy", "Regulation Copy", {"K1": (N1,), "K2": (T2,)})
    async with uow() as u:
        template = (await import_template(u, spec, source="test")).template
        assessment = await create_assessment(
            u,
            owner,
            NewAssessment(
                template.id, "Copied", new_group_name="G3", copy_from_group_id=example.a1.group_id
            ),
        )
        copy = (await _actions_of(u, assessment.id))["N1"]
    action = await read(api, copy, tokens["READER"])
    assert action["retestDueOn"] == (DAY + timedelta(days=20)).isoformat()
    assert (action["isRetestDue"], action["pointsLapsed"]) == (True, True)
    assert action["score"]["earned"] == 0.0
    assert await lapse_rows(db, copy) == [("false", "true", ChangeSource.USER)]
    await scores_agree(uow)
