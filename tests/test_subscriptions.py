"""Subscriptions end to end: a real uvicorn server, real WebSocket clients, mutations over HTTP."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, select
from starlette.types import ASGIApp
from strawberry.relay import to_base64

from cmgraph.adapters import signals
from cmgraph.config import Settings
from cmgraph.domain import accounts, workflow
from cmgraph.domain.enums import ImplementationStatus
from cmgraph.domain.errors import DomainError, ErrorCode
from cmgraph.domain.models import Event, User
from cmgraph.domain.permissions import Principal
from cmgraph.http.app import create_app
from cmgraph.resolvers import hub as hub_module
from cmgraph.resolvers.hub import ActionChanged, ActionTopic, Hub, SubscriberClosed
from tests.builders import WorkedExample, worked_example
from tests.databases import Database
from tests.graphql_ws import Http, WsClient, hub_of, subscribed, uvicorn_server, wait_until

DAY = "2026-01-15"

UPDATE_IMPLEMENTATION = """
mutation($input: UpdateImplementationInput!) {
  updateImplementation(input: $input) {
    improvementAction { id version implementationStatus }
    userErrors { field code message }
  }
}"""

UPDATE_TESTING = """
mutation($input: UpdateTestingInput!) {
  updateTesting(input: $input) {
    improvementAction { id version testStatus }
    userErrors { field code message }
  }
}"""

ACTION_CHANGED = """
subscription($filter: ImprovementActionChangeFilter) {
  improvementActionChanged(filter: $filter) {
    id key version implementationStatus assessments { name }
  }
}"""

SCORE_CHANGED = """
subscription($assessmentId: ID) {
  scoreChanged(assessmentId: $assessmentId) {
    assessment { name score { earned possible } }
    score { earned possible percent }
    delta
  }
}"""


def gid(type_name: str, row_id: int) -> str:
    return to_base64(type_name, row_id)


@pytest.fixture
async def world(uow, owner: Principal) -> WorkedExample:
    async with uow() as u:
        return await worked_example(u, owner)


@pytest.fixture
async def owner_token(uow, owner: Principal) -> str:
    async with uow() as u:
        user = await u.session.get(User, owner.user_id)
        assert user is not None
        return (await accounts.create_token(u, user, "subscriptions")).secret


@pytest.fixture
def app(db: Database, world: WorkedExample) -> ASGIApp:
    return create_app(Settings.from_env({}, background_work=False), db.engine)


@pytest.fixture
def hub(app: ASGIApp) -> Hub:
    return hub_of(app)


@pytest.fixture
async def server(app: ASGIApp) -> AsyncIterator[str]:
    async with uvicorn_server(app) as base:
        yield base


@pytest.fixture
async def http(server: str) -> AsyncIterator[Http]:
    client = Http(server)
    yield client
    await client.aclose()


async def implement(http: Http, token: str, action_id: int, version: int, status: str) -> int:
    """Set an action's implementation status over HTTP; return its new version."""
    changes: dict[str, object] = {"implementationStatus": status}
    if status == "IMPLEMENTED":
        changes["implementationDate"] = DAY
    data = await http.query(
        UPDATE_IMPLEMENTATION,
        {"input": {"actionId": gid("ImprovementAction", action_id), "version": version, **changes}},
        token=token,
    )
    payload = data["updateImplementation"]
    assert payload["userErrors"] == [], payload
    return payload["improvementAction"]["version"]


async def current_version(db: Database, action_id: int) -> int:
    from cmgraph.domain.models import ImprovementAction

    async with db.sessions() as session:
        return int(
            await session.scalar(
                select(ImprovementAction.version).where(ImprovementAction.id == action_id)
            )
        )


async def test_a_mutation_reaches_a_subscriber(
    server: str, hub: Hub, http: Http, world: WorkedExample, owner_token: str, db: Database
) -> None:
    t2 = world.actions["T2"]
    async with WsClient.signed_in(server, owner_token) as ws:
        await ws.subscribe(
            ACTION_CHANGED, {"filter": {"actionIds": [gid("ImprovementAction", t2.id)]}}
        )
        await subscribed(hub, 1)
        version = await implement(
            http, owner_token, t2.id, await current_version(db, t2.id), "IMPLEMENTED"
        )
        data = await ws.next_data()
        change = data["improvementActionChanged"]
        assert change["id"] == gid("ImprovementAction", t2.id)
        assert change["version"] == version
        assert change["implementationStatus"] == "IMPLEMENTED"
        # Nested fields are read at delivery, through the subscriber's own loaders.
        assert [a["name"] for a in change["assessments"]] == ["A2"]


async def test_a_scoped_subscriber_only_gets_what_it_may_read(
    server: str,
    hub: Hub,
    http: Http,
    world: WorkedExample,
    owner_token: str,
    token_for,
    db: Database,
) -> None:
    auditor = await token_for("auditor@example.test", None, assessment_id=world.a2.id)
    t1, t2 = world.actions["T1"], world.actions["T2"]  # T1: A1 and A3; T2: A2
    async with (
        WsClient.signed_in(server, auditor) as scoped,
        WsClient.signed_in(server, owner_token) as everything,
    ):
        await scoped.subscribe(ACTION_CHANGED)
        await everything.subscribe(ACTION_CHANGED)
        await subscribed(hub, 2)
        await implement(http, owner_token, t1.id, await current_version(db, t1.id), "PLANNED")
        first = (await everything.next_data())["improvementActionChanged"]
        assert first["key"] == "we:t1"
        await implement(http, owner_token, t2.id, await current_version(db, t2.id), "PLANNED")
        assert (await everything.next_data())["improvementActionChanged"]["key"] == "we:t2"
        # The auditor's first message is T2's: T1's change was never sent to it.
        seen = (await scoped.next_data())["improvementActionChanged"]
        assert seen["key"] == "we:t2"
        assert [a["name"] for a in seen["assessments"]] == ["A2"]
        await scoped.nothing_within(0.5)

        # Nor may it subscribe to the score of an assessment it cannot read.
        await scoped.subscribe(SCORE_CHANGED, {"assessmentId": gid("Assessment", world.a1.id)})
        refused = await scoped.receive()
        assert refused["type"] == "next"
        assert refused["payload"]["errors"][0]["extensions"]["code"] == "NOT_FOUND"
        assert (await scoped.receive())["type"] == "complete"


async def test_scores_of_an_assessment_and_overall(
    server: str, hub: Hub, http: Http, world: WorkedExample, owner_token: str, db: Database
) -> None:
    t2 = world.actions["T2"]
    async with (
        WsClient.signed_in(server, owner_token) as one,
        WsClient.signed_in(server, owner_token) as overall,
    ):
        await one.subscribe(SCORE_CHANGED, {"assessmentId": gid("Assessment", world.a2.id)})
        await overall.subscribe(SCORE_CHANGED)
        await subscribed(hub, 2)
        version = await implement(
            http, owner_token, t2.id, await current_version(db, t2.id), "IMPLEMENTED"
        )
        data = await http.query(
            UPDATE_TESTING,
            {
                "input": {
                    "actionId": gid("ImprovementAction", t2.id),
                    "version": version,
                    "testStatus": "PASSED",
                    "testDate": DAY,
                }
            },
            token=owner_token,
        )
        assert data["updateTesting"]["userErrors"] == []
        a2 = (await one.next_data())["scoreChanged"]
        assert a2["assessment"]["name"] == "A2"
        assert a2["score"] == {"earned": 4.0, "possible": 4, "percent": 100.0}
        assert a2["delta"] == 1.0
        total = (await overall.next_data())["scoreChanged"]
        assert total["assessment"] is None
        assert (total["score"]["earned"], total["score"]["possible"]) == (40.0, 43)
        assert total["delta"] == 1.0


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"Authorization": "Bearer cmg_not-a-token"},
        {"token": "cmg_not-a-token"},
        {"Authorization": "Basic abc"},
    ],
)
async def test_a_bad_or_missing_token_is_refused(server: str, payload: dict[str, str]) -> None:
    async with WsClient.connect(server, payload) as ws:
        assert await ws.closed() == (4403, "Forbidden")


async def test_other_ways_to_sign_in_and_protocol_errors(server: str, owner_token: str) -> None:
    async with WsClient.connect(server, {"token": owner_token}) as ws:
        ack = await ws.receive()
        assert ack["type"] == "connection_ack"
        assert ack["payload"]["userId"].startswith("VXNlcj")  # base64 "User:"
        # Queries and mutations belong on HTTP; over the socket they are refused.
        await ws.subscribe("{ viewer { role } }")
        answer = await ws.receive()
        assert answer["payload"]["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    # A subscribe before connection_init is unauthorised.
    async with WsClient.connect(server, None) as ws:
        await ws.subscribe(ACTION_CHANGED)
        assert await ws.closed() == (4401, "Unauthorized")
    # A token on the upgrade request itself also works (non-browser clients).
    async with WsClient.connect(
        server, {}, additional_headers={"Authorization": f"Bearer {owner_token}"}
    ) as ws:
        assert (await ws.receive())["type"] == "connection_ack"


async def test_a_rolled_back_mutation_sends_nothing(
    server: str,
    hub: Hub,
    http: Http,
    world: WorkedExample,
    owner_token: str,
    db: Database,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    t2 = world.actions["T2"]
    real_propagate = workflow._propagate

    async def fail_after_events_were_written(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise DomainError(ErrorCode.INVALID, "refused late, after events were flushed")

    async with WsClient.signed_in(server, owner_token) as ws:
        await ws.subscribe(ACTION_CHANGED)
        await subscribed(hub, 1)
        async with db.sessions() as session:
            events_before = await session.scalar(select(func.count()).select_from(Event))
        generation = signals.events_committed.generation
        monkeypatch.setattr(workflow, "_propagate", fail_after_events_were_written)
        version = await current_version(db, t2.id)
        data = await http.query(
            UPDATE_IMPLEMENTATION,
            {
                "input": {
                    "actionId": gid("ImprovementAction", t2.id),
                    "version": version,
                    "implementationStatus": "PLANNED",
                }
            },
            token=owner_token,
        )
        assert data["updateImplementation"]["userErrors"][0]["code"] == "INVALID"
        assert signals.events_committed.generation == generation  # no wake-up at all
        async with db.sessions() as session:
            assert await session.scalar(select(func.count()).select_from(Event)) == events_before
        # Route everything committed so far now, rather than wait for the hub's poll: a
        # message for the refused change would be queued here, with T2 still at `version`,
        # ahead of the next one.
        await hub.pump()
        monkeypatch.setattr(workflow, "_propagate", real_propagate)
        await implement(http, owner_token, t2.id, version, "PLANNED")
        change = (await ws.next_data())["improvementActionChanged"]
        assert (change["key"], change["version"]) == ("we:t2", version + 1)


async def test_a_slow_subscriber_does_not_stall_the_others(
    db: Database,
    world: WorkedExample,
    owner_token: str,
    uow,
    owner: Principal,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A client that never reads: its socket and queue fill up, then only it is closed."""
    monkeypatch.setattr(hub_module, "QUEUE_SIZE", 8)
    t2 = world.actions["T2"]
    async with uow() as u:  # make every message of the slow subscription large
        await workflow.change_action(
            u,
            owner,
            t2.id,
            {"implementation_notes": "n" * 90_000, "additional_notes": "a" * 90_000},
        )
    app = create_app(Settings.from_env({}, background_work=False), db.engine)
    async with uvicorn_server(app) as server:
        http = Http(server)
        slow_socket = socket.socket()
        slow_socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        slow_socket.connect(("127.0.0.1", int(server.rsplit(":", 1)[1])))
        async with (
            WsClient.signed_in(
                server, owner_token, sock=slow_socket, max_queue=1, compression=None
            ) as slow,
            WsClient.signed_in(server, owner_token) as fast,
        ):
            await slow.subscribe(
                "subscription { improvementActionChanged { implementationNotes additionalNotes } }"
            )
            await fast.subscribe("subscription { improvementActionChanged { version } }")
            await subscribed(hub_of(app), 2)
            version = await current_version(db, t2.id)
            statuses = ["PLANNED", "NOT_IMPLEMENTED"]
            for index in range(60):
                version = await implement(http, owner_token, t2.id, version, statuses[index % 2])
                received = (await fast.next_data(within=5))["improvementActionChanged"]
                assert received["version"] == version
            # The slow one was closed with a reason once it fell too far behind.
            errors = []
            while not errors:
                message = await slow.receive(within=30)
                if message["type"] == "next" and "errors" in message["payload"]:
                    errors = message["payload"]["errors"]
            assert errors[0]["extensions"]["code"] == "SUBSCRIBER_TOO_SLOW"
            assert "fell behind" in errors[0]["message"]
            assert (await slow.receive())["type"] == "complete"
        await http.aclose()


async def test_the_hub_never_waits_for_a_subscriber_that_never_reads(
    db: Database, world: WorkedExample, owner: Principal, uow
) -> None:
    """Without sockets: one subscriber reads everything, one never reads at all."""
    hub = Hub(db.sessions, queue_size=5)
    await hub.start()
    try:
        reader = await hub.subscribe(owner, ActionTopic())
        idle = await hub.subscribe(owner, ActionTopic())
        t2 = world.actions["T2"]
        statuses = [ImplementationStatus.PLANNED, ImplementationStatus.NOT_IMPLEMENTED]
        for index in range(12):
            async with uow() as u:
                await workflow.change_action(
                    u, owner, t2.id, {"implementation_status": statuses[index % 2]}
                )
            await hub.pump()
            message = await asyncio.wait_for(reader.get(), 1)
            assert isinstance(message, ActionChanged) and message.action_id == t2.id
        assert idle.closed and hub.stats.closed_slow == 1
        with pytest.raises(SubscriberClosed) as closed:
            await idle.get()
        assert closed.value.code == "SUBSCRIBER_TOO_SLOW"
        assert hub.subscriber_count == 1
    finally:
        await hub.stop()
    with pytest.raises(SubscriberClosed):
        await reader.get()


async def test_commit_wakes_consumers_and_rollback_does_not(
    db: Database, world: WorkedExample, owner: Principal, uow
) -> None:
    """The unit of work fires its signal after commit only; on PostgreSQL it NOTIFYs too."""
    listener = None
    notified: list[tuple[str, str]] = []
    if db.url.startswith("postgresql"):
        listener = signals.PgListener(db.url, on_notify=lambda c, p: notified.append((c, p)))
        await listener.start()
    try:
        t2 = world.actions["T2"]
        generation = signals.events_committed.generation
        with pytest.raises(RuntimeError):
            async with uow() as u:
                await workflow.change_action(
                    u, owner, t2.id, {"implementation_status": ImplementationStatus.PLANNED}
                )
                await u.session.flush()
                raise RuntimeError("abandon")
        assert signals.events_committed.generation == generation
        async with uow() as u:
            await workflow.change_action(
                u, owner, t2.id, {"implementation_status": ImplementationStatus.PLANNED}
            )
        assert signals.events_committed.generation > generation
        if listener is not None:
            async with db.sessions() as session:
                last = await session.scalar(select(func.max(Event.id)))
            await wait_until(lambda: bool(notified), "the NOTIFY arriving")
            # Only the committed transaction's NOTIFY arrived, carrying its last event id.
            assert notified == [(signals.EVENTS_CHANNEL, str(last))]
    finally:
        if listener is not None:
            await listener.stop()


async def test_signals_wake_every_waiter() -> None:
    signal = signals.Signal("test")
    seen = signal.generation
    waiters = [asyncio.create_task(signal.wait(seen, 5)) for _ in range(3)]
    await asyncio.sleep(0)
    signal.fire()
    assert await asyncio.gather(*waiters) == [seen + 1] * 3
    # A firing between a consumer's work and its wait is not lost.
    assert await signal.wait(seen, 5) == seen + 1
    assert await signal.wait(seen + 1, 0.01) == seen + 1  # timed out, nothing new


ALERT_CHANGED = """
subscription($filter: AlertChangeFilter) {
  alertChanged(filter: $filter) { id severity status eventCount events { type } }
}"""

UPDATE_ALERT = """
mutation($input: UpdateAlertInput!) {
  updateAlert(input: $input) { alert { id status } userErrors { code message } }
}"""


async def test_alerts_from_the_evaluator_and_from_update_alert(
    db: Database, world: WorkedExample, owner_token: str, token_for, tmp_path
) -> None:
    """With background work on, a score change opens an alert (the default policy)."""
    from cmgraph.domain.models import utcnow

    async with db.sessions() as session:  # the set-up's own events are not this test's
        await session.execute(Event.__table__.update().values(processed_at=utcnow()))
        await session.commit()
    a2_reader = await token_for("a2@example.test", None, assessment_id=world.a2.id)
    a3_reader = await token_for("a3@example.test", None, assessment_id=world.a3.id)
    settings = Settings.from_env({}, data_dir=tmp_path, background_work=True)
    app = create_app(settings, db.engine)
    async with uvicorn_server(app) as server:
        http = Http(server)
        async with (
            WsClient.signed_in(server, owner_token) as owner_ws,
            WsClient.signed_in(server, owner_token) as active_only,
            WsClient.signed_in(server, a2_reader) as a2_ws,
            WsClient.signed_in(server, a3_reader) as a3_ws,
        ):
            await owner_ws.subscribe(ALERT_CHANGED, {"filter": {"severities": ["MEDIUM"]}})
            await active_only.subscribe(ALERT_CHANGED, {"filter": {"statuses": ["ACTIVE"]}})
            await a2_ws.subscribe(ALERT_CHANGED)
            await a3_ws.subscribe(ALERT_CHANGED)
            await subscribed(hub_of(app), 4)
            t2 = world.actions["T2"]  # in A2 only
            await implement(
                http, owner_token, t2.id, await current_version(db, t2.id), "OUT_OF_SCOPE"
            )

            opened = (await owner_ws.next_data())["alertChanged"]
            assert (opened["severity"], opened["status"]) == ("MEDIUM", "ACTIVE")
            assert "SCORE_CHANGE" in {e["type"] for e in opened["events"]}
            assert (await active_only.next_data())["alertChanged"]["id"] == opened["id"]
            seen_by_a2 = (await a2_ws.next_data())["alertChanged"]
            assert seen_by_a2["id"] == opened["id"]

            data = await http.query(
                UPDATE_ALERT,
                {"input": {"alertId": opened["id"], "status": "INVESTIGATING"}},
                token=owner_token,
            )
            assert data["updateAlert"]["userErrors"] == []
            moved = (await owner_ws.next_data())["alertChanged"]
            assert (moved["id"], moved["status"]) == (opened["id"], "INVESTIGATING")
            assert (await a2_ws.next_data())["alertChanged"]["status"] == "INVESTIGATING"
            # Neither the ACTIVE-only subscriber nor A3's reader hears about it.
            await active_only.nothing_within(0.5)
            await a3_ws.nothing_within(0.5)
        await http.aclose()


async def test_unexpected_errors_reach_subscribers_masked(
    server: str,
    hub: Hub,
    http: Http,
    world: WorkedExample,
    owner_token: str,
    db: Database,
    monkeypatch,
) -> None:
    from cmgraph.resolvers.loaders import Loaders

    def broken(self):  # type: ignore[no-untyped-def]
        raise RuntimeError("secret detail")

    monkeypatch.setattr(Loaders, "assessments_by_action", property(broken))
    t2 = world.actions["T2"]
    async with WsClient.signed_in(server, owner_token) as ws:
        await ws.subscribe(
            ACTION_CHANGED, {"filter": {"actionIds": [gid("ImprovementAction", t2.id)]}}
        )
        await subscribed(hub, 1)
        await implement(http, owner_token, t2.id, await current_version(db, t2.id), "PLANNED")
        message = await ws.receive()
    errors = message["payload"]["errors"]
    assert errors[0]["message"].startswith("Unexpected error (request id")
    assert errors[0]["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert "secret detail" not in str(message)
