"""Several real processes on one database: servers and workers as an operator runs them.

Servers and workers are started with ``python -m cmgraph`` and ``CMGRAPH_*`` variables
pointing at the test's own database (already migrated by the ``db`` fixture).
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest
from sqlalchemy import select
from strawberry.relay import to_base64

from cmgraph.domain import accounts
from cmgraph.domain.assignment import assign_actions
from cmgraph.domain.enums import NotificationStatus, OrgRole
from cmgraph.domain.models import Notification, User, utcnow
from cmgraph.domain.permissions import Principal
from tests.builders import WorkedExample, worked_example
from tests.databases import Database
from tests.graphql_ws import Http, WsClient, free_port, wait_until

if TYPE_CHECKING:
    from tests.smtp_server import SmtpTestServer

pytest_plugins = ["tests.smtp_server"]

UPDATE_IMPLEMENTATION = """
mutation($input: UpdateImplementationInput!) {
  updateImplementation(input: $input) {
    improvementAction { id version }
    userErrors { code message }
  }
}"""


def postgres_only(db: Database) -> None:
    if not db.url.startswith("postgresql"):
        pytest.skip(
            "SQLite has no cross-process notification: other processes' commits reach a "
            "server only through its poll; set CMGRAPH_TEST_DATABASE_URL for LISTEN/NOTIFY"
        )


def environment(db: Database, folder: Path, **extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "CMGRAPH_DATABASE_URL": db.url,
        "CMGRAPH_DATA_DIR": str(folder),
        "CMGRAPH_LOG_LEVEL": "warning",
        **extra,
    }
    env.pop("CMGRAPH_TEST_DATABASE_URL", None)
    return env


async def stop(process: asyncio.subprocess.Process, how: int = signal.SIGTERM) -> int:
    if process.returncode is None:
        process.send_signal(how)
        try:
            await asyncio.wait_for(process.wait(), 30)
        except TimeoutError:
            process.kill()
            await process.wait()
    assert process.returncode is not None
    return process.returncode


# ``python -c`` with this program runs ``cmgraph`` with its subscription hub's poll set to
# the first argument (seconds), so that a test can tell what woke the hub.
WITH_HUB_POLL = (
    "import sys, cmgraph.resolvers.hub; cmgraph.resolvers.hub.POLL_SECONDS = float(sys.argv.pop(1)); "
    "from cmgraph.cli import main; main()"
)


async def healthy(process: asyncio.subprocess.Process, base: str) -> None:
    """Poll ``/healthz`` until the server answers 200 (only a hang guard as deadline)."""
    async with httpx.AsyncClient() as client:

        async def answers() -> bool:
            assert process.returncode is None, "the server exited"
            try:
                return (await client.get(f"{base}/healthz")).status_code == 200
            except httpx.TransportError:
                return False

        await wait_until(answers, "the server becoming healthy", within=120)


@asynccontextmanager
async def serving(
    db: Database, folder: Path, *, hub_poll_seconds: float | None = None, processes: int = 1
) -> AsyncIterator[str]:
    """``cmgraph serve`` with background work off; yields its base URL once healthy."""
    async with serve_process(
        db, folder, hub_poll_seconds=hub_poll_seconds, processes=processes
    ) as (
        _process,
        base,
    ):
        yield base


@asynccontextmanager
async def serve_process(
    db: Database, folder: Path, *, hub_poll_seconds: float | None = None, processes: int = 1
) -> AsyncIterator[tuple[asyncio.subprocess.Process, str]]:
    """``serving``, yielding the process too."""
    port = free_port()
    env = environment(
        db,
        folder,
        CMGRAPH_PORT=str(port),
        CMGRAPH_BACKGROUND_WORK="false",
        CMGRAPH_HOST="127.0.0.1",
        CMGRAPH_PROCESSES=str(processes),
    )
    command = ["-m", "cmgraph", "serve"]
    if hub_poll_seconds is not None:
        command = ["-c", WITH_HUB_POLL, str(hub_poll_seconds), "serve"]
    process = await asyncio.create_subprocess_exec(sys.executable, *command, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        await healthy(process, base)
        yield process, base
    finally:
        await stop(process)


@asynccontextmanager
async def working(
    db: Database, folder: Path, **extra: str
) -> AsyncIterator[asyncio.subprocess.Process]:
    """``cmgraph worker``; yields the process once it says it started."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "cmgraph",
        "worker",
        env=environment(db, folder, **extra),
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stderr is not None
    try:
        line = await asyncio.wait_for(process.stderr.readline(), 60)
        while line and b"cmgraph worker started" not in line:
            line = await asyncio.wait_for(process.stderr.readline(), 60)
        assert line, "the worker exited before it started"
        yield process
    finally:
        await stop(process)


@pytest.fixture
async def world(uow, owner: Principal) -> WorkedExample:
    async with uow() as u:
        return await worked_example(u, owner)


@pytest.fixture
async def owner_token(uow, owner: Principal) -> str:
    async with uow() as u:
        user = await u.session.get(User, owner.user_id)
        assert user is not None
        return (await accounts.create_token(u, user, "processes")).secret


async def heard(ws: WsClient, version: int, within: float) -> bool:
    """Read change messages until one shows ``version``; False if none did within ``within`` s.

    A message carries the action as it is when the hub routes it, so one for an earlier
    change may arrive late, showing an earlier version: it is passed over.
    """
    try:
        while True:
            change = (await ws.next_data(within=within))["improvementActionChanged"]
            if change["version"] == version:
                return True
            assert change["version"] < version, change
    except TimeoutError:
        return False


async def test_a_mutation_on_one_server_reaches_a_subscriber_of_another(
    db: Database, world: WorkedExample, owner_token: str, tmp_path: Path
) -> None:
    """B's hub polls the database only once an hour here: what reaches B's subscriber came by
    NOTIFY from A's transactions."""
    postgres_only(db)
    t2 = world.actions["T2"]
    version = t2.version
    statuses = ["PLANNED", "NOT_IMPLEMENTED"]
    async with (
        serving(db, tmp_path / "a") as a,
        serving(db, tmp_path / "b", hub_poll_seconds=3600) as b,
    ):
        http = Http(a)

        async def change(index: int) -> int:
            data = await http.query(
                UPDATE_IMPLEMENTATION,
                {
                    "input": {
                        "actionId": to_base64("ImprovementAction", t2.id),
                        "version": version,
                        "implementationStatus": statuses[index % 2],
                    }
                },
                token=owner_token,
            )
            return int(data["updateImplementation"]["improvementAction"]["version"])

        async with WsClient.signed_in(b, owner_token) as ws:
            await ws.subscribe("subscription { improvementActionChanged { id version } }")
            # B registers the subscription in its own time, which this process cannot see:
            # change T2 until the subscriber hears of a change; from then on it hears all.
            deadline = time.monotonic() + 120
            index = 0
            while True:
                version = await change(index)
                index += 1
                if await heard(ws, version, within=1):
                    break
                assert time.monotonic() < deadline, "B's subscriber never heard of a change"
            for _ in range(8):
                version = await change(index)
                index += 1
                assert await heard(ws, version, within=60), f"version {version} never arrived"
        await http.aclose()


async def test_two_workers_deliver_each_mail_exactly_once(
    db: Database,
    world: WorkedExample,
    owner: Principal,
    uow,
    smtp_server: SmtpTestServer,
    tmp_path: Path,
) -> None:
    """Alert and assignment mail from events committed while two workers run."""
    assignees = []
    async with uow() as u:
        for name in ("ann", "bob"):
            user = await accounts.create_user(u, f"{name}@example.test", name, OrgRole.CONTRIBUTOR)
            assignees.append(user.id)
    mail = {"CMGRAPH_SMTP_URL": smtp_server.plain_url, "CMGRAPH_SMTP_ALLOW_PLAIN": "true"}
    actions = [world.actions[k].id for k in ("T1", "T2", "N1@G1", "N1@G2")]
    async with (
        working(db, tmp_path / "w1", **mail) as first,
        working(db, tmp_path / "w2", **mail) as second,
    ):
        for round_ in range(10):
            async with uow() as u:  # one email per action and round
                await assign_actions(u, owner, actions, assignees[round_ % 2], notify=True)
            await asyncio.sleep(0.05)
        rows: list[Notification] = []

        async def all_sent() -> bool:
            nonlocal rows
            async with db.sessions() as session:
                rows = list(await session.scalars(select(Notification)))
            return len(rows) >= 41 and all(r.status is NotificationStatus.SENT for r in rows)

        await wait_until(all_sent, "every mail sent", within=90)
        # A worker stops after the step in progress: once both have exited, every mail they
        # began to send has been received, twice if it was sent twice.
        assert await stop(first) == 0
        assert await stop(second, signal.SIGINT) == 0
    received = Counter(m.message_id for m in smtp_server.received)
    assert len(rows) == 41  # 40 assignments and one alert (the default policy) for the owner
    assert received == Counter({r.message_id: 1 for r in rows})
    assert all(r.sent_at is not None and r.sent_at <= utcnow() for r in rows)


async def test_a_worker_stops_cleanly_and_reports_it(db: Database, tmp_path: Path) -> None:
    async with working(db, tmp_path) as process:
        assert await stop(process, signal.SIGINT) == 0
        assert process.stderr is not None
        rest = await process.stderr.read()
    assert b"cmgraph worker stopped" in rest
    assert b"Traceback" not in rest


async def test_a_worker_killed_mid_send_is_replaced_and_the_mail_goes_once(
    db: Database,
    world: WorkedExample,
    owner: Principal,
    uow,
    smtp_server: SmtpTestServer,
    tmp_path: Path,
) -> None:
    """Committed, claimed, then the process dies (SIGKILL): a new worker sends it, same id."""
    async with uow() as u:
        ann = await accounts.create_user(u, "ann@example.test", "Ann", OrgRole.CONTRIBUTOR)
    mail = {
        "CMGRAPH_SMTP_URL": smtp_server.plain_url,
        "CMGRAPH_SMTP_ALLOW_PLAIN": "true",
        "CMGRAPH_MAIL_LEASE_SECONDS": "2",
    }
    smtp_server.hold()
    async with working(db, tmp_path / "w1", **mail) as doomed:
        async with uow() as u:
            await assign_actions(u, owner, [world.actions["T2"].id], ann.id, notify=True)
        # Then the worker is in the middle of sending.
        await wait_until(lambda: smtp_server.transactions > 0, "a send", within=60)
        doomed.kill()
        assert await doomed.wait() == -signal.SIGKILL
    async with db.sessions() as session:
        [claimed] = [
            n
            for n in await session.scalars(select(Notification))
            if n.recipient_email == "ann@example.test"
        ]
    assert claimed.status is NotificationStatus.PENDING and claimed.claimed_until is not None
    smtp_server.release()
    assert smtp_server.received == []

    async with working(db, tmp_path / "w2", **mail):
        await wait_until(
            lambda: any(m.message_id == claimed.message_id for m in smtp_server.received),
            "the new worker's delivery",
            within=60,
        )
    # The new worker has exited, after the step in progress (the killed one long before):
    # whatever either of them sent has been received.
    received = [m.message_id for m in smtp_server.received if "ann@example.test" in m.recipients]
    assert received == [claimed.message_id]


def server_children(pid: int) -> list[int]:
    """The serving processes ``cmgraph serve --processes N`` started (its children that
    run the app, not multiprocessing's resource tracker)."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [
        int(child)
        for child in children
        if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes()
    ]


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads /proc for child processes")
async def test_several_server_processes_share_one_port(
    db: Database, tmp_path: Path, owner_token: str
) -> None:
    if not db.url.startswith("postgresql"):
        pytest.skip("several server processes need PostgreSQL (SQLite is refused, tested below)")
    async with serve_process(db, tmp_path, processes=2) as (process, base):
        assert len(server_children(process.pid)) == 2
        async with httpx.AsyncClient(
            headers={"Authorization": f"Bearer {owner_token}"}, timeout=60
        ) as client:
            replies = await asyncio.gather(
                *(
                    client.post(f"{base}/graphql", json={"query": "{ viewer { role } }"})
                    for _ in range(20)
                )
            )
    assert [reply.json() for reply in replies] == [{"data": {"viewer": {"role": "OWNER"}}}] * 20


async def test_more_than_one_server_process_on_sqlite_is_refused(tmp_path: Path) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "cmgraph",
        "serve",
        "--processes",
        "2",
        env={
            **os.environ,
            "CMGRAPH_DATA_DIR": str(tmp_path),
            "CMGRAPH_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'one.db'}",
        },
        stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 1
    assert b"more than one server process needs PostgreSQL" in stderr
