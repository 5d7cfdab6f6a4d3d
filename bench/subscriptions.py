"""Subscriptions: fan-out latency with 1,000 open subscribers on one server process.

Run from the repository root::

    python -m bench.subscriptions [--subscribers 1000] [--changes 20]

For SQLite, and for PostgreSQL when it answers (CMGRAPH_BENCH_DATABASE_URL, default the
local server), it seeds a scratch database (the starter template, one assessment), starts
``cmgraph serve`` in a subprocess on a loopback port with background work off, opens the
subscribers from this process over WebSocket (graphql-transport-ws), each with
``improvementActionChanged { id version updatedAt }``, then makes ``--changes`` edits over
HTTP, one at a time, each once every subscriber has received the previous one.

Latency per subscriber and change = when this process received the message minus the
action's ``updatedAt``. ``updatedAt`` is stamped by the writing transaction before its last
statements and the commit, so the figure includes that tail of the transaction: it is an
upper bound of commit-to-receipt. Both ends read the same machine's clock. DESIGN.md's
target: fan-out p95 under 200 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import time
from datetime import datetime
from pathlib import Path

import httpx
from sqlalchemy import select
from strawberry.relay import to_base64
from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Subprotocol

from bench.support import (
    each_backend,
    median,
    percentile,
    served,
)
from cmgraph.adapters.db import UnitOfWork, create_engine, session_factory
from cmgraph.adapters.migrate import upgrade
from cmgraph.domain import accounts
from cmgraph.domain.assessments import NewAssessment, create_assessment
from cmgraph.domain.enums import ImplementationType, OrgRole, Owner
from cmgraph.domain.models import ActionDefinition, ImprovementAction
from cmgraph.domain.starter import starter_template
from cmgraph.domain.templates import import_template

TARGET_MS = 200.0
SUBSCRIPTION = "subscription { improvementActionChanged { id version updatedAt } }"
MUTATION = """
mutation($input: UpdateImplementationInput!) {
  updateImplementation(input: $input) {
    improvementAction { version }
    userErrors { code message }
  }
}"""


async def seed(url: str) -> tuple[str, int, int]:
    """An owner's token, an editable action id and its version."""
    engine = create_engine(url)
    await upgrade(engine)
    sessions = session_factory(engine)
    async with UnitOfWork(sessions) as uow:
        user = await accounts.create_user(uow, "owner@bench.test", "Owner", OrgRole.OWNER)
        owner = await accounts.principal_for(uow, user)
        token = (await accounts.create_token(uow, user, "bench")).secret
        template = (await import_template(uow, starter_template(), source="bench")).template.id
    async with UnitOfWork(sessions) as uow:
        await create_assessment(uow, owner, NewAssessment(template, "Bench", new_group_name="G"))
    async with sessions() as session:
        action_id, version = (
            await session.execute(
                select(ImprovementAction.id, ImprovementAction.version)
                .join(ActionDefinition, ActionDefinition.id == ImprovementAction.definition_id)
                .where(
                    ActionDefinition.implementation_type == ImplementationType.TECHNICAL,
                    ActionDefinition.owner == Owner.CUSTOMER,
                )
                .order_by(ImprovementAction.id)
                .limit(1)
            )
        ).one()
    await engine.dispose()
    return token, action_id, version


class Subscriber:
    """One WebSocket connection with one subscription; records when each version arrived."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.arrivals: dict[int, tuple[float, datetime]] = {}
        self.changed = asyncio.Event()

    @classmethod
    async def open(cls, url: str, token: str) -> Subscriber:
        ws = await connect(url, subprotocols=[Subprotocol("graphql-transport-ws")], open_timeout=60)
        await ws.send(json.dumps({"type": "connection_init", "payload": {"token": token}}))
        ack = json.loads(await ws.recv())
        if ack.get("type") != "connection_ack":
            raise SystemExit(f"connection refused: {ack}")
        await ws.send(
            json.dumps({"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIPTION}})
        )
        return cls(ws)

    async def listen(self) -> None:
        async for raw in self.ws:
            received = time.time()
            message = json.loads(raw)
            if message.get("type") != "next":
                continue
            change = message["payload"]["data"]["improvementActionChanged"]
            stamped = datetime.fromisoformat(change["updatedAt"])
            self.arrivals[change["version"]] = (received, stamped)
            self.changed.set()


async def run(url: str, folder: Path, subscribers: int, changes: int) -> dict[str, float]:
    token, action_id, version = await seed(url)
    env = {"CMGRAPH_BACKGROUND_WORK": "false"}
    async with served(url, folder, env) as base:
        ws_url = base.replace("http://", "ws://") + "/graphql"
        started = time.perf_counter()
        clients: list[Subscriber] = []
        for start in range(0, subscribers, 50):
            batch = min(50, subscribers - start)
            clients += await asyncio.gather(*(Subscriber.open(ws_url, token) for _ in range(batch)))
        connect_seconds = time.perf_counter() - started
        listeners = [asyncio.create_task(c.listen()) for c in clients]
        await asyncio.sleep(1.0)  # every subscription registered with the hub
        latencies: list[float] = []
        missing = 0
        gid = to_base64("ImprovementAction", action_id)
        statuses = ("PLANNED", "NOT_IMPLEMENTED")
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            for index in range(changes):
                response = await http.post(
                    "/graphql",
                    json={
                        "query": MUTATION,
                        "variables": {
                            "input": {
                                "actionId": gid,
                                "version": version,
                                "implementationStatus": statuses[index % 2],
                            }
                        },
                    },
                    headers={"Authorization": f"Bearer {token}"},
                )
                payload = response.json()["data"]["updateImplementation"]
                if payload["userErrors"]:
                    raise SystemExit(f"edit refused: {payload['userErrors']}")
                version = payload["improvementAction"]["version"]
                deadline = time.monotonic() + 10
                waiting = [c for c in clients if version not in c.arrivals]
                while waiting and time.monotonic() < deadline:
                    await asyncio.sleep(0.01)
                    waiting = [c for c in waiting if version not in c.arrivals]
                missing += len(waiting)
                for client in clients:
                    if version in client.arrivals:
                        received, stamped = client.arrivals[version]
                        latencies.append(received - stamped.timestamp())
                await asyncio.sleep(0.2)
        for task in listeners:
            task.cancel()
        await asyncio.gather(*(c.ws.close() for c in clients), return_exceptions=True)
        await asyncio.gather(*listeners, return_exceptions=True)
    return {
        "connect_s": connect_seconds,
        "p50_ms": median(latencies) * 1000,
        "p95_ms": percentile(latencies, 0.95) * 1000,
        "max_ms": max(latencies) * 1000,
        "received": len(latencies),
        "missing": missing,
    }


def row(name: str, result: dict[str, float]) -> str:
    verdict = "ok" if result["p95_ms"] < TARGET_MS and not result["missing"] else "OVER"
    return (
        f"{name:<11} {result['connect_s']:>9.1f} {result['received']:>9.0f} "
        f"{result['missing']:>8.0f} {result['p50_ms']:>8.1f} {result['p95_ms']:>8.1f} "
        f"{result['max_ms']:>8.1f}  {verdict}"
    )


async def main(subscribers: int, changes: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = subscribers * 2 + 256  # both ends of every connection live on this machine
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(wanted, hard), hard))
    print(
        f"subscriptions: {subscribers} subscribers on one server process, {changes} changes; "
        "latency = receipt - updatedAt (upper bound of commit to receipt)"
    )
    print(
        f"{'backend':<11} {'connect s':>9} {'received':>9} {'missing':>8} {'p50 ms':>8} "
        f"{'p95 ms':>8} {'max ms':>8}"
    )

    async def measure(backend: str, url: str, folder: Path) -> str:
        return row(backend, await run(url, folder, subscribers, changes))

    await each_backend(measure)
    print(f"target: fan-out p95 under {TARGET_MS:.0f} ms with {subscribers} subscribers")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--changes", type=int, default=20)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.subscribers, arguments.changes))
