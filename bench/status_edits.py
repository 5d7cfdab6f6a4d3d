"""Status edits: one single-action mutation with 1 and with 20 assessments loaded.

Run from the repository root::

    python -m bench.status_edits [--edits N]

For SQLite, and for PostgreSQL when it answers (CMGRAPH_BENCH_DATABASE_URL, default the
local server), it builds a database with 1 assessment and one with 20 (each in its own group;
the HIGH baseline when ../shared/data/oscal has it, else the starter template), then times
``updateImplementation`` through the GraphQL app in this process, toggling an action in and
out of scope so that every edit moves scores. Two actions are edited: a documentation action
(one group's own instance, in one assessment) and a technical one (shared by every
assessment). DESIGN.md's target: the 20-assessment median within 1.5x the 1-assessment median.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy import func, select

from bench.support import (
    SHARED_OSCAL,
    median,
    percentile,
    postgres_reachable,
    postgres_server,
    scratch_database,
)
from cmgraph.adapters.db import UnitOfWork, create_engine, session_factory
from cmgraph.adapters.migrate import upgrade
from cmgraph.config import Settings
from cmgraph.domain import accounts
from cmgraph.domain.assessments import NewAssessment, create_assessment
from cmgraph.domain.enums import ImplementationType, OrgRole
from cmgraph.domain.models import ActionDefinition, ImprovementAction
from cmgraph.domain.starter import starter_template
from cmgraph.domain.templates import import_template
from cmgraph.http.app import create_app

HIGH = SHARED_OSCAL / "NIST_SP-800-53_rev5_HIGH-baseline-resolved-profile_catalog-min.json"
TARGET = 1.5

MUTATION = """
mutation($input: UpdateImplementationInput!) {
  updateImplementation(input: $input) {
    improvementAction { version score { possible } }
    userErrors { code message }
  }
}"""


@dataclass
class Timing:
    latencies: list[float]
    seconds: float

    @property
    def per_second(self) -> float:
        return len(self.latencies) / self.seconds


async def build(url: str, assessments: int) -> tuple[str, dict[str, int], int]:
    """Token, the two edited action ids, and the number of action instances."""
    engine = create_engine(url)
    await upgrade(engine)
    sessions = session_factory(engine)
    async with UnitOfWork(sessions) as uow:
        user = await accounts.create_user(uow, "owner@bench.test", "Owner", OrgRole.OWNER)
        owner = await accounts.principal_for(uow, user)
        token = (await accounts.create_token(uow, user, "bench")).secret
        if HIGH.exists():
            from cmgraph.exchange.oscal_catalog import import_catalog

            template = (await import_catalog(uow, HIGH)).template.id
        else:
            template = (await import_template(uow, starter_template(), source="bench")).template.id
    first_group = 0
    for i in range(assessments):
        async with UnitOfWork(sessions) as uow:
            created = await create_assessment(
                uow, owner, NewAssessment(template, f"Assessment {i + 1}", new_group_name=f"G{i}")
            )
            first_group = first_group or created.group_id
    async with sessions() as session:
        picks = {}
        for label, kind, group in (
            ("documentation", ImplementationType.DOCUMENTATION, first_group),
            ("technical", ImplementationType.TECHNICAL, None),
        ):
            picks[label] = (
                await session.execute(
                    select(ImprovementAction.id)
                    .join(ActionDefinition, ActionDefinition.id == ImprovementAction.definition_id)
                    .where(
                        ActionDefinition.implementation_type == kind,
                        ImprovementAction.group_id.is_(None)
                        if group is None
                        else ImprovementAction.group_id == group,
                    )
                    .order_by(ImprovementAction.id)
                    .limit(1)
                )
            ).scalar_one()
        instances = await session.scalar(select(func.count()).select_from(ImprovementAction))
    await engine.dispose()
    return token, picks, int(instances or 0)


async def edit(url: str, token: str, action_id: int, edits: int) -> Timing:
    from strawberry.relay import to_base64

    engine = create_engine(url)
    app = create_app(Settings.from_env({}), engine)
    headers = {"Authorization": f"Bearer {token}"}
    global_id = to_base64("ImprovementAction", action_id)
    latencies: list[float] = []
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://bench"
    ) as client:
        version = None
        statuses = ("OUT_OF_SCOPE", "NOT_IMPLEMENTED")
        warm_up = 10
        started = 0.0
        for i in range(edits + warm_up):
            if i == warm_up:
                started = time.perf_counter()
            if version is None:
                version = await current_version(client, headers, global_id)
            body = {
                "query": MUTATION,
                "variables": {
                    "input": {
                        "actionId": global_id,
                        "version": version,
                        "implementationStatus": statuses[i % 2],
                    }
                },
            }
            t0 = time.perf_counter()
            response = await client.post("/graphql", json=body, headers=headers)
            elapsed = time.perf_counter() - t0
            payload = response.json()["data"]["updateImplementation"]
            if payload["userErrors"]:
                raise SystemExit(f"edit refused: {payload['userErrors']}")
            version = payload["improvementAction"]["version"]
            if i >= warm_up:
                latencies.append(elapsed)
        seconds = time.perf_counter() - started
    await engine.dispose()
    return Timing(latencies, seconds)


async def current_version(client: httpx.AsyncClient, headers: dict[str, str], gid: str) -> int:
    query = "query($id: ID!) { node(id: $id) { ... on ImprovementAction { version } } }"
    response = await client.post(
        "/graphql", json={"query": query, "variables": {"id": gid}}, headers=headers
    )
    return int(response.json()["data"]["node"]["version"])


async def backend(name: str, server: str | None, edits: int, folder: Path) -> list[str]:
    rows = []
    results: dict[tuple[int, str], Timing] = {}
    sizes = {}
    for count in (1, 20):
        async with scratch_database(folder, server) as url:
            token, picks, sizes[count] = await build(url, count)
            for label, action_id in picks.items():
                results[(count, label)] = await edit(url, token, action_id, edits)
    for label in ("documentation", "technical"):
        one, twenty = results[(1, label)], results[(20, label)]
        ratio = median(twenty.latencies) / median(one.latencies)
        rows.append(
            f"{name:<10} {label:<14} "
            f"{median(one.latencies) * 1000:>8.2f} {percentile(one.latencies, 0.95) * 1000:>8.2f} "
            f"{median(twenty.latencies) * 1000:>9.2f} "
            f"{percentile(twenty.latencies, 0.95) * 1000:>8.2f} "
            f"{ratio:>6.2f} {'ok' if ratio <= TARGET else 'OVER':<5}"
            f"{one.per_second:>9.0f} {twenty.per_second:>9.0f}"
        )
    rows.append(f"{name:<10} action instances: {sizes[1]} with 1 assessment, {sizes[20]} with 20")
    return rows


async def main(edits: int) -> None:
    source = "HIGH baseline" if HIGH.exists() else "starter template (no shared data found)"
    print(f"status edits: {edits} timed edits per case, assessments built from the {source}")
    print(
        f"{'backend':<10} {'action':<14} {'1: p50ms':>8} {'p95ms':>8} {'20: p50ms':>9} "
        f"{'p95ms':>8} {'ratio':>6} {'':<5}{'1: ed/s':>9} {'20: ed/s':>9}"
    )
    with tempfile.TemporaryDirectory(prefix="cmgraph-bench-") as folder:
        for line in await backend("sqlite", None, edits, Path(folder)):
            print(line, flush=True)
        server = postgres_server()
        if await postgres_reachable(server):
            for line in await backend("postgresql", server, edits, Path(folder)):
                print(line, flush=True)
        else:
            print("postgresql: not reachable, skipped (set CMGRAPH_BENCH_DATABASE_URL)")
    print(f"target: 20-assessment median within {TARGET}x of the 1-assessment median")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edits", type=int, default=200)
    asyncio.run(main(parser.parse_args().edits))
