"""Assessment status and progress come from counts stored with each change (DOMAIN.md
section 7), and always equal a count of the actions' states as they are."""

from __future__ import annotations

import asyncio
import random

from alembic import command
from sqlalchemy import select

from cmgraph.adapters.migrate import alembic_config, upgrade
from cmgraph.domain.assessments import archive_assessment
from cmgraph.domain.enums import ImplementationStatus, TestStatus
from cmgraph.domain.errors import DomainError
from cmgraph.domain.models import Assessment
from cmgraph.domain.workflow import change_action
from tests.builders import DAY, worked_example
from tests.stored_figures import cells_agree, statuses_agree

STATUS = (
    "query { assessments(first: 10, filter: {archived: null}) { nodes { name status progress } } }"
)

IMPLEMENTATIONS = [
    ImplementationStatus.NOT_IMPLEMENTED,
    ImplementationStatus.PLANNED,
    ImplementationStatus.IMPLEMENTED,
    ImplementationStatus.ALTERNATIVE_IMPLEMENTATION,
    ImplementationStatus.OUT_OF_SCOPE,
]
TESTS = [
    TestStatus.NONE,
    TestStatus.NOT_ASSESSED,
    TestStatus.PASSED,
    TestStatus.FAILED_LOW_RISK,
    TestStatus.FAILED_HIGH_RISK,
]


async def read_statuses(api, token: str) -> dict[str, tuple[str, float]]:  # type: ignore[no-untyped-def]
    nodes = (await api.query(STATUS, token=token))["assessments"]["nodes"]
    return {n["name"]: (n["status"], n["progress"]) for n in nodes}


async def test_the_worked_example_reads_its_statuses_from_the_stored_counts(
    api, uow, owner, tokens
) -> None:
    async with uow() as u:
        example = await worked_example(u, owner)
    expected = await statuses_agree(uow)
    # C1{T1, N1} and C2{T1, P1} passed; C3{N1 passed, T2 not}; C4{T1 passed, N1@G2 not}.
    assert await read_statuses(api, tokens["READER"]) == {
        "A1": ("COMPLETE", 1.0),
        "A2": ("IN_PROGRESS", 0.0),
        "A3": ("IN_PROGRESS", 0.0),
    }
    assert expected[example.a1.id] == ("COMPLETE", 1.0)
    async with uow() as u:
        failed = {"test_status": TestStatus.FAILED_MEDIUM_RISK, "test_date": DAY}
        await change_action(u, owner, example.actions["T1"].id, failed)
    # T1 is in all three controls of A1 and A3.
    assert await read_statuses(api, tokens["READER"]) == {
        "A1": ("INCOMPLETE", 0.0),
        "A2": ("IN_PROGRESS", 0.0),
        "A3": ("INCOMPLETE", 0.0),
    }
    await statuses_agree(uow)


async def test_random_edits_keep_every_stored_count_equal_to_a_recount(
    api, uow, owner, tokens
) -> None:
    async with uow() as u:
        example = await worked_example(u, owner, attest_p1=False)
    actions = [a.id for name, a in example.actions.items() if name != "P1"]
    chance = random.Random(15)
    applied = 0
    for step in range(60):
        if step == 30:
            async with uow() as u:  # archived: the score freezes, statuses follow T1
                await archive_assessment(u, owner, example.a3.id)
        changes = {
            "implementation_status": chance.choice(IMPLEMENTATIONS),
            "test_status": chance.choice(TESTS),
        }
        if changes["implementation_status"] in (
            ImplementationStatus.IMPLEMENTED,
            ImplementationStatus.ALTERNATIVE_IMPLEMENTATION,
        ):
            changes["implementation_date"] = DAY
        if changes["test_status"] not in (TestStatus.NONE, TestStatus.NOT_ASSESSED):
            changes["test_date"] = DAY
        try:
            async with uow() as u:
                await change_action(u, owner, chance.choice(actions), changes)
        except DomainError:
            continue  # a combination the rules refuse changes nothing
        applied += 1
        found = await statuses_agree(uow)
    assert applied > 20
    async with uow() as u:
        names = {a.id: a.name for a in await u.session.scalars(select(Assessment))}
    assert await read_statuses(api, tokens["READER"]) == {
        names[i]: value for i, value in found.items()
    }


async def test_edits_that_meet_on_a_control_both_count(uow, owner) -> None:
    """Two units of work at once pass the two actions of C3 (on PostgreSQL, each in its own
    transaction): the control ends PASSED and A2 COMPLETE."""
    async with uow() as u:
        example = await worked_example(u, owner)
        n1 = example.actions["N1@G1"].id
        await change_action(u, owner, n1, {"test_status": TestStatus.NONE, "test_date": None})
    passed = {
        "implementation_status": ImplementationStatus.IMPLEMENTED,
        "implementation_date": DAY,
        "test_status": TestStatus.PASSED,
        "test_date": DAY,
    }

    async def pass_(action_id: int) -> None:
        async with uow() as u:
            await change_action(u, owner, action_id, passed)

    await asyncio.gather(pass_(example.actions["T2"].id), pass_(n1))
    found = await statuses_agree(uow)
    assert found[example.a2.id] == ("COMPLETE", 1.0)


async def test_the_migration_counts_an_existing_database(db, uow, owner) -> None:
    """Down to 0008 (the counts and the score's sums go), then up again: the migrations
    count what is there."""
    async with uow() as u:
        example = await worked_example(u, owner)
        out = {"implementation_status": ImplementationStatus.OUT_OF_SCOPE}
        await change_action(u, owner, example.actions["T2"].id, out)
    expected = await statuses_agree(uow)
    assert expected[example.a1.id] == ("COMPLETE", 1.0)
    sums = await cells_agree(uow)
    async with db.engine.begin() as connection:
        await connection.run_sync(lambda sync: command.downgrade(alembic_config(sync), "0008"))
    await upgrade(db.engine)
    assert await statuses_agree(uow) == expected
    assert await cells_agree(uow) == sums
