"""What a subscriber of action changes may rely on when commits come quickly.

Each message is the action as it was right after the commits it reports: every committed
state reaches a subscriber at most once, in commit order, and the last one always arrives.
"""

from __future__ import annotations

from typing import Any

import pytest

from cmgraph.domain import evidence, workflow
from cmgraph.domain.enums import ImplementationStatus
from cmgraph.domain.permissions import Principal
from cmgraph.resolvers.hub import ActionChanged, ActionTopic, Hub, Subscriber
from tests.builders import WorkedExample, worked_example
from tests.databases import Database

PLANNED = ImplementationStatus.PLANNED
NOT_IMPLEMENTED = ImplementationStatus.NOT_IMPLEMENTED


@pytest.fixture
async def world(uow, owner: Principal) -> WorkedExample:
    async with uow() as u:
        return await worked_example(u, owner)


@pytest.fixture
async def hub(db: Database, world: WorkedExample) -> Hub:
    """A hub without its loop: each test pumps it by hand, past the world's own events."""
    made = Hub(db.sessions)
    await made.pump()
    return made


async def set_status(uow, owner: Principal, action_id: int, status: ImplementationStatus) -> None:  # type: ignore[no-untyped-def]
    async with uow() as u:
        await workflow.change_action(u, owner, action_id, {"implementation_status": status})


async def taken(subscriber: Subscriber) -> list[ActionChanged]:
    """Everything queued for ``subscriber`` (the hub queues before ``pump`` returns)."""
    messages = []
    while subscriber.pending:
        message = await subscriber.get()
        assert isinstance(message, ActionChanged)
        messages.append(message)
    return messages


def seen(messages: list[ActionChanged]) -> list[tuple[int, ImplementationStatus]]:
    return [(m.version, m.row[0].implementation_status) for m in messages]


async def test_a_commit_during_a_read_is_sent_once_after_the_one_before(
    hub: Hub, world: WorkedExample, owner: Principal, uow, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The second commit lands after the hub read the first one's event and before it read
    the action: the first message still shows the first commit, the second the second."""
    t2 = world.actions["T2"].id
    subscriber = await hub.subscribe(owner, ActionTopic(action_ids=frozenset({t2})))
    start = world.actions["T2"].version
    await set_status(uow, owner, t2, PLANNED)

    read_events = hub._read_events
    raced: list[bool] = []

    async def read_then_commit(session: Any) -> list[Any]:
        rows = await read_events(session)
        if not raced:
            raced.append(True)
            await set_status(uow, owner, t2, NOT_IMPLEMENTED)
        return rows

    monkeypatch.setattr(hub, "_read_events", read_then_commit)
    await hub.pump()
    await hub.pump()
    await hub.pump()
    assert raced
    assert seen(await taken(subscriber)) == [(start + 1, PLANNED), (start + 2, NOT_IMPLEMENTED)]


async def test_commits_read_together_arrive_as_the_latest_state_once(
    hub: Hub, world: WorkedExample, owner: Principal, uow
) -> None:
    t2 = world.actions["T2"].id
    subscriber = await hub.subscribe(owner, ActionTopic(action_ids=frozenset({t2})))
    start = world.actions["T2"].version
    await set_status(uow, owner, t2, PLANNED)
    await set_status(uow, owner, t2, NOT_IMPLEMENTED)
    await hub.pump()
    await hub.pump()
    assert seen(await taken(subscriber)) == [(start + 2, NOT_IMPLEMENTED)]


async def test_the_hub_drops_repeats_but_not_new_evidence(
    hub: Hub, world: WorkedExample, owner: Principal, uow
) -> None:
    t2 = world.actions["T2"].id
    subscriber = await hub.subscribe(owner, ActionTopic(action_ids=frozenset({t2})))
    start = world.actions["T2"].version
    await set_status(uow, owner, t2, PLANNED)
    await hub.pump()
    [first] = await taken(subscriber)
    await set_status(uow, owner, t2, NOT_IMPLEMENTED)
    await hub.pump()
    [second] = await taken(subscriber)
    assert (first.version, second.version) == (start + 1, start + 2)

    # The same events read again (as after a wake-up racing the poll): nothing is sent.
    hub._last_id = 0
    await hub.pump()
    assert subscriber.pending == 0
    assert hub.stats.repeats == 1

    # Evidence leaves the version as it is, and is still news.
    async with uow() as u:
        await evidence.add_evidence_link(u, owner, t2, "Scan", "https://scan.example.test/1")
    await hub.pump()
    [linked] = await taken(subscriber)
    assert linked.version == start + 2
    assert linked.state != second.state
    assert hub.stats.repeats == 1
