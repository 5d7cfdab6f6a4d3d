"""Reads as the organisation grows: 1, 20 and 100 HIGH-baseline assessments (issue 15).

Run from the repository root::

    python -m bench.read_scaling [--sizes 1,20,100] [--runs N]

For each size, a database is built through the domain services: the NIST SP 800-53 HIGH
baseline imported once, then that many assessments of it, each in a group of its own (so
each has its own 1,056 actions), with states set on every sixteenth action. The database is
SQLite, then PostgreSQL (127.0.0.1:5432 as root, or ``CMGRAPH_BENCH_DATABASE_URL``) when it
answers; nothing runs ``ANALYZE`` but the server itself. Each size is served by its own
``cmgraph serve``, and each read is timed over HTTP with the sizes taking turns: the
compliance score with its breakdowns, the first page of assessments with status and
progress, a text search of the actions, page 100 (ten to a page) of a filtered list, the
first page of a status filter, a status edit, and the nested report of one assessment. It
prints the median per size, each larger size's ratio to the smallest, and the SQL statements
each request sends, counted in-process on the largest database (on PostgreSQL without the
server's LISTEN connection, so one or two of them read the caller's credentials).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
from sqlalchemy import select
from tests.report_data import REPORT_QUERY, action_changes, count_statements

from bench.keep_alive import Connection, graphql_request
from bench.nested_report import DEFAULT_CATALOG
from bench.support import each_backend, postgres_server, scratch_database, served
from cmgraph.adapters.db import UnitOfWork, create_engine, session_factory
from cmgraph.adapters.migrate import upgrade
from cmgraph.config import Settings
from cmgraph.domain import accounts
from cmgraph.domain.assessments import NewAssessment, create_assessment
from cmgraph.domain.enums import OrgRole
from cmgraph.domain.models import Control, ControlAction, ImprovementAction
from cmgraph.domain.workflow import change_action
from cmgraph.exchange.oscal_catalog import import_catalog
from cmgraph.global_ids import encode
from cmgraph.http.app import create_app

STATES_EVERY = 16
DEEP_PAGE = 100
DEEP_PAGE_SIZE = 10

SCORE = """{ complianceScore {
  overall { earned possible } overdueCount
  byAssessment { key score { earned possible } } byGroup { key score { earned possible } }
  byRegulation { key score { earned possible } } byCategory { key score { earned possible } }
  bySolution { key score { earned possible } } byOwner { key score { earned possible } }
} }"""
ASSESSMENTS = "{ assessments(first: 20) { totalCount nodes { id name status progress } } }"
SEARCH = """{ improvementActions(first: 50, filter: {search: "audit record"}) {
  totalCount nodes { id key title } } }"""
DEEP = """query ($after: String, $first: Int) {
  improvementActions(first: $first, after: $after, filter: {excludeTestStatuses: [PASSED]},
                     orderBy: {field: TITLE}) {
    pageInfo { endCursor } nodes { id key title implementationStatus } } }"""
STATUS = """{ improvementActions(first: 50, filter: {implementationStatuses: [IMPLEMENTED]}) {
  totalCount nodes { id key title points } } }"""
EDIT = """mutation ($id: ID!, $version: Int!, $status: ImplementationStatus!) {
  updateImplementation(input: {actionId: $id, version: $version, implementationStatus: $status})
  { improvementAction { version } userErrors { code message } } }"""


@dataclass
class Built:
    """One size's database, what the reads need of it, and its server once started."""

    size: int
    url: str
    token: str
    group_id: int
    action_id: int  # the one the status edit changes back and forth
    seconds: float
    base: str = ""
    deep_cursor: str | None = None
    version: int = 1
    edits: int = 0


async def build(url: str, size: int, catalog: Path) -> Built:
    engine = create_engine(url)
    try:
        started = time.perf_counter()
        await upgrade(engine)
        sessions = session_factory(engine)
        async with UnitOfWork(sessions) as uow:
            user = await accounts.create_user(uow, "owner@scale.test", "Owner", OrgRole.OWNER)
            owner = await accounts.principal_for(uow, user)
            token = (await accounts.create_token(uow, user, "bench")).secret
            template_id = (await import_catalog(uow, catalog)).template.id
        group_id = 0
        for number in range(1, size + 1):
            async with UnitOfWork(sessions) as uow:
                request = NewAssessment(template_id, f"HIGH {number}", new_group_name=f"G{number}")
                assessment = await create_assessment(uow, owner, request)
                group_id = group_id or assessment.group_id
                actions = await _actions_of(uow, assessment.id)
                for index, action_id in enumerate(actions[::STATES_EVERY]):
                    changes = action_changes(index)
                    if changes is not None:
                        await change_action(uow, owner, action_id, changes)
        async with UnitOfWork(sessions) as uow:
            first = (await _actions_of(uow, None))[1]
            version = await uow.session.scalar(
                select(ImprovementAction.version).where(ImprovementAction.id == first)
            )
        seconds = time.perf_counter() - started
    finally:
        await engine.dispose()
    return Built(size, url, token, group_id, first, seconds, version=version or 1)


async def _actions_of(uow: UnitOfWork, assessment_id: int | None) -> list[int]:
    statement = (
        select(ImprovementAction.id)
        .join(ControlAction, ControlAction.action_id == ImprovementAction.id)
        .join(Control, Control.id == ControlAction.control_id)
        .order_by(ImprovementAction.id)
        .distinct()
    )
    if assessment_id is not None:
        statement = statement.where(Control.assessment_id == assessment_id)
    return list(await uow.session.scalars(statement))


# --- the reads -----------------------------------------------------------------------------


def reads() -> dict[str, Callable[[Built], dict[str, Any]]]:
    """Each read's GraphQL payload for one size."""
    return {
        "complianceScore with breakdowns": lambda b: {"query": SCORE},
        "assessments with status, progress": lambda b: {"query": ASSESSMENTS},
        "text search of actions": lambda b: {"query": SEARCH},
        f"page {DEEP_PAGE} of a filtered list": lambda b: {
            "query": DEEP,
            "variables": {"after": b.deep_cursor, "first": DEEP_PAGE_SIZE},
        },
        "first page of a status filter": lambda b: {"query": STATUS},
        "a status edit": _edit,
        "nested report of one assessment": lambda b: {
            "query": REPORT_QUERY,
            "variables": {"groups": [encode("Group", b.group_id)]},
        },
    }


def _edit(built: Built) -> dict[str, Any]:
    built.edits += 1
    status = "PLANNED" if built.edits % 2 else "NOT_IMPLEMENTED"
    variables = {
        "id": encode("ImprovementAction", built.action_id),
        "version": built.version,
        "status": status,
    }
    return {"query": EDIT, "variables": variables}


def _data(body: bytes, what: str) -> dict[str, Any]:
    answer = orjson.loads(body)
    if answer.get("errors"):
        raise SystemExit(f"{what}: {answer['errors']}")
    data: dict[str, Any] = answer["data"]
    return data


async def deep_cursor(built: Built) -> str | None:
    """The cursor page ``DEEP_PAGE`` starts after (walked once, not timed)."""
    connection = Connection(built.base)
    cursor = None
    try:
        for _ in range(DEEP_PAGE - 1):
            payload = {"query": DEEP, "variables": {"after": cursor, "first": DEEP_PAGE_SIZE}}
            body = await connection.post(graphql_request(built.base, payload, built.token))
            page = _data(body, "the deep page walk")["improvementActions"]
            if not page["nodes"]:
                break
            cursor = page["pageInfo"]["endCursor"]
    finally:
        await connection.close()
    return cursor


async def timed(built: Built, name: str, payload: dict[str, Any], connection: Connection) -> float:
    request = graphql_request(built.base, payload, built.token)
    started = time.perf_counter()
    body = await connection.post(request)
    seconds = time.perf_counter() - started
    data = _data(body, name)
    if "updateImplementation" in data:
        result = data["updateImplementation"]
        if result["userErrors"]:
            raise SystemExit(f"{name}: {result['userErrors']}")
        built.version = result["improvementAction"]["version"]
    return seconds


async def statements(built: Built, payload: dict[str, Any], folder: Path) -> int:
    """SQL statements one request sends, counted on an in-process app on the same database."""
    engine = create_engine(built.url)
    app = create_app(Settings.from_env({"CMGRAPH_DATA_DIR": str(folder / "data")}), engine)
    headers = {"Authorization": f"Bearer {built.token}"}
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            await client.post("/graphql", json={"query": "{ viewer { role } }"}, headers=headers)
            with count_statements(engine) as sent:
                answer = await client.post("/graphql", json=payload, headers=headers)
        data = _data(answer.content, "counting statements")
        if "updateImplementation" in data:
            built.version = data["updateImplementation"]["improvementAction"]["version"]
    finally:
        await engine.dispose()
    return len(sent)


# --- one backend ---------------------------------------------------------------------------


async def measure(args: argparse.Namespace, backend: str, url: str, folder: Path) -> str:
    lines = [f"{backend}:"]
    async with AsyncExitStack() as stack:
        built = []
        for size in args.sizes:
            if size != args.sizes[0]:  # the first size has the database it was given
                server = None if backend == "sqlite" else postgres_server()
                url = await stack.enter_async_context(scratch_database(folder, server))
            built.append(await build(url, size, args.catalog))
            print(f"{backend}: {size} assessments built in {built[-1].seconds:.0f} s", flush=True)
        for b in built:
            own = folder / f"size-{b.size}"  # the server's data folder
            own.mkdir(exist_ok=True)
            b.base = await stack.enter_async_context(served(b.url, own))
            b.deep_cursor = await deep_cursor(b)
        connections = {b.size: Connection(b.base) for b in built}
        times: dict[str, dict[int, list[float]]] = {}
        for name, payload_of in reads().items():
            per_size: dict[int, list[float]] = {b.size: [] for b in built}
            for run in range(args.runs + 1):  # the first round warms up
                for b in built:
                    seconds = await timed(b, name, payload_of(b), connections[b.size])
                    if run:
                        per_size[b.size].append(seconds)
            times[name] = per_size
        for connection in connections.values():
            await connection.close()
        largest = built[-1]
        counts = {n: await statements(largest, p(largest), folder) for n, p in reads().items()}
    lines.append(_table(args.sizes, times, counts))
    return "\n".join(lines)


def _table(
    sizes: list[int], times: dict[str, dict[int, list[float]]], counts: dict[str, int]
) -> str:
    width = 38
    head = "".join(f"{f'{s} (ms)':>12}" for s in sizes)
    ratios = "".join(f"{f'{s}/{sizes[0]}':>9}" for s in sizes[1:])
    rows = [f"{'read':<{width}}{head}{ratios}{'statements':>12}"]
    for name, per_size in times.items():
        medians = [statistics.median(per_size[s]) * 1000 for s in sizes]
        row = f"{name:<{width}}" + "".join(f"{m:>12.1f}" for m in medians)
        row += "".join(f"{m / medians[0]:>8.2f}x" for m in medians[1:])
        rows.append(row + f"{counts[name]:>12}")
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,20,100", help="assessments per database")
    parser.add_argument("--runs", type=int, default=9, help="timed requests per read and size")
    parser.add_argument("--catalog", type=Path, default=DEFAULT_CATALOG, help="OSCAL catalog")
    args = parser.parse_args()
    args.sizes = sorted({int(s) for s in args.sizes.split(",")})
    if args.runs < 1 or not args.sizes or args.sizes[0] < 1:
        parser.error("--runs and every size must be at least 1")
    if not args.catalog.is_file():
        print(f"skipped: the OSCAL catalog {args.catalog} is not there")
        return

    async def measure_backend(backend: str, url: str, folder: Path) -> str:
        return await measure(args, backend, url, folder)

    asyncio.run(each_backend(measure_backend))


if __name__ == "__main__":
    main()
