"""Alert pipeline: from a committed change to the mail accepted by an SMTP server.

Run from the repository root::

    python -m bench.alert_pipeline [--rate 500] [--seconds 60]

For SQLite, and for PostgreSQL when it answers (CMGRAPH_BENCH_DATABASE_URL, default the
local server), it seeds a scratch database (the starter template, one assessment, two
assignees), starts a local SMTP server (aiosmtpd, loopback) and ``cmgraph serve`` in a
subprocess with background work on and ``CMGRAPH_SMTP_URL`` pointing at it, then sends
``assignImprovementActions`` mutations over HTTP at ``--rate`` per minute for ``--seconds``
(each one assignment event, hence one email to the new assignee) on a fixed schedule.

Latency per mail = when the SMTP server accepted it (end of DATA) minus the ``created_at``
of its event, stamped inside the writing transaction just before commit. Both ends read the
same machine's clock. DESIGN.md's target: p95 under 2 s at 500 events per minute.
"""

from __future__ import annotations

import argparse
import asyncio
import threading
import time
from pathlib import Path
from typing import Any

import httpx
from aiosmtpd.controller import Controller
from sqlalchemy import select, update
from strawberry.relay import to_base64

from bench.support import (
    each_backend,
    free_port,
    median,
    percentile,
    served,
)
from cmgraph.adapters.db import UnitOfWork, create_engine, session_factory
from cmgraph.adapters.migrate import upgrade
from cmgraph.domain import accounts
from cmgraph.domain.assessments import NewAssessment, create_assessment
from cmgraph.domain.enums import NotificationKind, OrgRole, Owner
from cmgraph.domain.models import (
    ActionDefinition,
    Event,
    ImprovementAction,
    Notification,
    utcnow,
)
from cmgraph.domain.starter import starter_template
from cmgraph.domain.templates import import_template

TARGET_SECONDS = 2.0
MUTATION = """
mutation($input: AssignImprovementActionsInput!) {
  assignImprovementActions(input: $input) { userErrors { code message } }
}"""


class Recorder:
    """aiosmtpd handler: accepts everything and notes when each Message-ID arrived."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.accepted: dict[str, float] = {}
        self.duplicates = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        now = time.time()
        message_id = ""
        for line in envelope.original_content.split(b"\r\n"):
            if not line:
                break
            if line.lower().startswith(b"message-id:"):
                message_id = line.split(b":", 1)[1].strip().decode()
        with self.lock:
            if message_id in self.accepted:
                self.duplicates += 1
            self.accepted.setdefault(message_id, now)
        return "250 2.0.0 accepted"


async def seed(url: str) -> tuple[str, list[int], list[int]]:
    """An owner's token, assignable action ids and two assignees."""
    engine = create_engine(url)
    await upgrade(engine)
    sessions = session_factory(engine)
    async with UnitOfWork(sessions) as uow:
        user = await accounts.create_user(uow, "owner@bench.test", "Owner", OrgRole.OWNER)
        owner = await accounts.principal_for(uow, user)
        token = (await accounts.create_token(uow, user, "bench")).secret
        assignees = [
            (await accounts.create_user(uow, f"{n}@bench.test", n, OrgRole.CONTRIBUTOR)).id
            for n in ("ann", "bob")
        ]
        template = (await import_template(uow, starter_template(), source="bench")).template.id
    async with UnitOfWork(sessions) as uow:
        await create_assessment(uow, owner, NewAssessment(template, "Bench", new_group_name="G"))
    async with UnitOfWork(sessions) as uow:
        actions = list(
            await uow.session.scalars(
                select(ImprovementAction.id)
                .join(ActionDefinition, ActionDefinition.id == ImprovementAction.definition_id)
                .where(ActionDefinition.owner == Owner.CUSTOMER)
                .order_by(ImprovementAction.id)
                .limit(20)
            )
        )
        # Only this run's events count: the set-up's are not part of the measurement.
        await uow.session.execute(update(Event).values(processed_at=utcnow()))
    await engine.dispose()
    return token, actions, assignees


async def drive(
    base: str, token: str, actions: list[int], assignees: list[int], rate: int, seconds: int
) -> int:
    """Send the mutations on a fixed schedule (never waiting for answers); return how many."""
    interval = 60.0 / rate
    total = int(seconds * rate / 60)
    headers = {"Authorization": f"Bearer {token}"}
    failures: list[str] = []

    async def one(client: httpx.AsyncClient, index: int) -> None:
        # Round r assigns every action to assignee r % 2: each call changes the assignee.
        action = actions[index % len(actions)]
        assignee = assignees[(index // len(actions)) % 2]
        variables = {
            "input": {
                "actionIds": [to_base64("ImprovementAction", action)],
                "assigneeId": to_base64("User", assignee),
                "notify": True,
            }
        }
        response = await client.post(
            "/graphql", json={"query": MUTATION, "variables": variables}, headers=headers
        )
        errors = response.json()["data"]["assignImprovementActions"]["userErrors"]
        if errors:
            failures.append(str(errors))

    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        started = time.monotonic()
        tasks = []
        for index in range(total):
            delay = started + index * interval - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(client, index)))
        await asyncio.gather(*tasks)
    if failures:
        raise SystemExit(f"mutations refused: {failures[:3]}")
    return total


async def run(url: str, folder: Path, rate: int, seconds: int) -> dict[str, float]:
    token, actions, assignees = await seed(url)
    recorder = Recorder()
    port = free_port()
    smtp = Controller(recorder, hostname="127.0.0.1", port=port)
    smtp.start()
    env = {
        "CMGRAPH_BACKGROUND_WORK": "true",
        "CMGRAPH_SMTP_URL": f"smtp://127.0.0.1:{port}?tls=none",
        "CMGRAPH_SMTP_ALLOW_PLAIN": "true",
    }
    try:
        async with served(url, folder, env) as base:
            sent = await drive(base, token, actions, assignees, rate, seconds)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                with recorder.lock:
                    if len(recorder.accepted) >= sent:
                        break
                await asyncio.sleep(0.2)
    finally:
        smtp.stop()
    engine = create_engine(url)
    async with session_factory(engine)() as session:
        rows = (
            await session.execute(
                select(Notification.message_id, Event.created_at)
                .join(Event, Event.id == Notification.subject_id)
                .where(Notification.kind == NotificationKind.ASSIGNMENT)
            )
        ).all()
    await engine.dispose()
    latencies = [
        recorder.accepted[message_id] - created.timestamp()
        for message_id, created in rows
        if message_id in recorder.accepted
    ]
    return {
        "events": sent,
        "mails": len(latencies),
        "duplicates": recorder.duplicates,
        "p50": median(latencies),
        "p95": percentile(latencies, 0.95),
        "max": max(latencies),
    }


def row(name: str, result: dict[str, float]) -> str:
    ok = (
        result["p95"] < TARGET_SECONDS
        and result["mails"] == result["events"]
        and not result["duplicates"]
    )
    return (
        f"{name:<11} {result['events']:>7.0f} {result['mails']:>7.0f} "
        f"{result['duplicates']:>5.0f} {result['p50']:>8.3f} {result['p95']:>8.3f} "
        f"{result['max']:>8.3f}  {'ok' if ok else 'OVER'}"
    )


async def main(rate: int, seconds: int) -> None:
    print(
        f"alert pipeline: {rate} events per minute for {seconds} s through real mutations; "
        "latency = SMTP acceptance - event created_at"
    )
    print(
        f"{'backend':<11} {'events':>7} {'mails':>7} {'dups':>5} {'p50 s':>8} {'p95 s':>8} "
        f"{'max s':>8}"
    )

    async def measure(backend: str, url: str, folder: Path) -> str:
        return row(backend, await run(url, folder, rate, seconds))

    await each_backend(measure)
    print(f"target: p95 under {TARGET_SECONDS:.0f} s at 500 events per minute")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=int, default=500, help="events per minute")
    parser.add_argument("--seconds", type=int, default=60)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.rate, arguments.seconds))
