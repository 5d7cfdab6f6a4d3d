"""cmgraph side by side with PostGraphile 4 on one PostgreSQL database (issue 14).

Run from the repository root::

    python -m bench.versus_postgraphile [--runs N] [--processes N] [--seconds S]

Builds the HIGH-baseline report assessment (``tests/report_data.py``) in a scratch database
on PostgreSQL (127.0.0.1:5432 as root, or ``CMGRAPH_BENCH_DATABASE_URL``), dropped afterwards.
Installs PostGraphile (pinned below) with npm into ``~/.cache/cmgraph-bench/`` once, and serves
the same database with both: ``cmgraph serve`` with an owner's token (its grant checks on),
and PostGraphile as one Node process without authorisation, started with

- ``--simple-collections both``: plain lists for the nested report's children (the shape
  cmgraph answers with), connections with ``totalCount`` for the top-level list;
- ``--disable-default-mutations``, ``--disable-graphiql``: a read-only API, as measured;
- ``--disable-query-log``: no console line per request (cmgraph logs warnings only);
- ``--dynamic-json``: JSON columns as JSON (none is read here; the recommended setting).

Two workloads, each as equivalent GraphQL documents for both servers: (a) the nested report
(assessment, controls, actions, evidence, the same columns; cmgraph also computes statuses
and scores), (b) the first 50 IMPLEMENTED actions by points (id as tiebreak) with
``totalCount``. Before timing, both answers must carry the same controls, actions and
evidence; the script stops otherwise. Then it times both servers taking turns: sequential
median and min over ``--runs`` (after ``WARM_UP`` requests each), and throughput at 1, 4
and 16 concurrent clients. With ``--processes N`` it also starts ``cmgraph serve
--processes N`` (N processes sharing one port) and prints its throughput beside one
process'.

The database is analysed after it is built, so both servers' SQL is planned on the same,
current statistics. To measure another checkout's cmgraph (the code before a change, say),
put its ``src`` first: ``git worktree add /tmp/before <commit>``, then
``PYTHONPATH=/tmp/before/src python -m bench.versus_postgraphile``; the output names the
package the servers import.

Requests go through a bare keep-alive HTTP/1.1 client on asyncio streams: httpx costs several
times more CPU per request, which on a small machine would be taken from the servers.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine
from tests.graphql_ws import free_port
from tests.report_data import REPORT_QUERY, count_statements

import cmgraph
from bench.keep_alive import Connection, graphql_request
from bench.nested_report import DEFAULT_CATALOG, prepare
from bench.support import postgres_reachable, postgres_server, scratch_database, served, stop
from cmgraph.adapters.db import create_engine
from cmgraph.adapters.signals import PgListener
from cmgraph.config import Settings
from cmgraph.global_ids import encode, row_id_of
from cmgraph.http.app import create_app

POSTGRAPHILE_VERSION = "4.14.1"
CLIENTS = (1, 4, 16)
# Requests each server answers on a connection before its sequential runs are timed: the
# figures are of a server in its steady state. PostgreSQL plans a prepared statement for
# each run's values on its first five runs on a connection, then keeps a generic plan (a
# page of cmgraph's list took 2.3-3.5 ms in those runs, 1.5 ms after); Node compiles its
# hot paths as they run.
WARM_UP = 10
LIST_STATUS = "IMPLEMENTED"
LIST_SIZE = 50

# --- the two workloads, for each server -----------------------------------------------------

CMGRAPH_LIST = """
query List($status: ImplementationStatus!, $first: Int!) {
  improvementActions(first: $first, filter: {implementationStatuses: [$status]},
                     orderBy: {field: POINTS, direction: DESC}) {
    totalCount
    nodes {
      id key title implementationStatus implementationDate testStatus points
      assignee { name }
    }
  }
}
"""

POSTGRAPHILE_REPORT = """
query Report($id: Int!) {
  assessmentById(id: $id) {
    id name earned possible
    assessmentGroupByGroupId { name }
    templateByTemplateId { title regulationByRegulationId { name } }
    controlsByAssessmentIdList(orderBy: SORT_ORDER_ASC) {
      id key family title description
      controlActionsByControlIdList {
        improvementActionByActionId {
          id points implementationStatus implementationDate testStatus testDate
          implementationNotes testingNotes earned possible
          actionDefinitionByDefinitionId { key implementationType }
          actionDefinitionVersionByDefinitionVersionId { title enforcement purpose }
          userAccountByAssigneeId { name }
          evidencesByActionIdList(orderBy: ID_ASC) {
            id kind name url uploadedAt userAccountByUploadedById { name }
          }
        }
      }
    }
  }
}
"""

POSTGRAPHILE_LIST = """
query List($status: String!, $first: Int!) {
  allImprovementActions(first: $first, condition: {implementationStatus: $status},
                        orderBy: [POINTS_DESC, ID_DESC]) {
    totalCount
    nodes {
      id implementationStatus implementationDate testStatus points
      actionDefinitionByDefinitionId { key }
      actionDefinitionVersionByDefinitionVersionId { title }
      userAccountByAssigneeId { name }
    }
  }
}
"""


# --- what both answers must agree on ----------------------------------------------------------


@dataclass
class Contents:
    """A report or list reduced to comparable rows (ids as row ids), in answer order."""

    controls: list[tuple[Any, ...]] = field(default_factory=list)
    actions: list[tuple[Any, ...]] = field(default_factory=list)
    evidence: list[tuple[Any, ...]] = field(default_factory=list)
    total: int | None = None

    def counts(self) -> str:
        parts = [
            f"{len(rows)} {name}"
            for name, rows in (
                ("controls", self.controls),
                ("actions", self.actions),
                ("evidence items", self.evidence),
            )
            if rows
        ]
        if self.total is not None:
            parts.append(f"totalCount {self.total}")
        return ", ".join(parts)


def data_of(body: bytes, server: str) -> Any:
    document = orjson.loads(body)
    if document.get("errors") or not document.get("data"):
        raise SystemExit(f"{server} answered with errors: {str(document)[:2000]}")
    return document["data"]


def _name(person: dict[str, Any] | None) -> str | None:
    return None if person is None else person["name"]


def cmgraph_report(body: bytes) -> Contents:
    [report] = data_of(body, "cmgraph")["assessments"]["nodes"]
    found = Contents()
    for c in report["controls"]:
        control = row_id_of(c["id"], "Control")
        found.controls.append((control, c["key"], c["family"], c["title"], c["description"]))
        for a in c["actions"]:
            action = row_id_of(a["id"], "ImprovementAction")
            found.actions.append(
                (
                    *(control, action, a["key"], a["title"], a["implementationType"]),
                    *(a["enforcement"], a["purpose"], a["points"], a["implementationStatus"]),
                    *(a["implementationDate"], a["testStatus"], a["testDate"]),
                    *(a["implementationNotes"], a["testingNotes"]),
                    *(a["score"]["earned"], a["score"]["possible"], _name(a["assignee"])),
                )
            )
            for e in a["evidence"]:
                evidence = row_id_of(e["id"], "Evidence")
                found.evidence.append(
                    (
                        *(control, action, evidence, e["kind"], e["name"], e["url"]),
                        _name(e["uploadedBy"]),
                    )
                )
    return found


def postgraphile_report(body: bytes) -> Contents:
    report = data_of(body, "PostGraphile")["assessmentById"]
    found = Contents()
    for c in report["controlsByAssessmentIdList"]:
        control = c["id"]
        found.controls.append((control, c["key"], c["family"], c["title"], c["description"]))
        for link in c["controlActionsByControlIdList"]:
            a = link["improvementActionByActionId"]
            definition = a["actionDefinitionByDefinitionId"]
            version = a["actionDefinitionVersionByDefinitionVersionId"]
            found.actions.append(
                (
                    *(control, a["id"], definition["key"], version["title"]),
                    *(definition["implementationType"], version["enforcement"]),
                    *(version["purpose"], a["points"], a["implementationStatus"]),
                    *(a["implementationDate"], a["testStatus"], a["testDate"]),
                    *(a["implementationNotes"], a["testingNotes"]),
                    *(a["earned"], a["possible"], _name(a["userAccountByAssigneeId"])),
                )
            )
            for e in a["evidencesByActionIdList"]:
                found.evidence.append(
                    (
                        *(control, a["id"], e["id"], e["kind"], e["name"], e["url"]),
                        _name(e["userAccountByUploadedById"]),
                    )
                )
    return found


def cmgraph_list(body: bytes) -> Contents:
    page = data_of(body, "cmgraph")["improvementActions"]
    found = Contents(total=page["totalCount"])
    for a in page["nodes"]:
        action = row_id_of(a["id"], "ImprovementAction")
        found.actions.append(
            (
                *(action, a["key"], a["title"], a["implementationStatus"]),
                *(a["implementationDate"], a["testStatus"], a["points"], _name(a["assignee"])),
            )
        )
    return found


def postgraphile_list(body: bytes) -> Contents:
    page = data_of(body, "PostGraphile")["allImprovementActions"]
    found = Contents(total=page["totalCount"])
    for a in page["nodes"]:
        found.actions.append(
            (
                a["id"],
                a["actionDefinitionByDefinitionId"]["key"],
                a["actionDefinitionVersionByDefinitionVersionId"]["title"],
                *(a["implementationStatus"], a["implementationDate"], a["testStatus"]),
                *(a["points"], _name(a["userAccountByAssigneeId"])),
            )
        )
    return found


def require_same(work: str, ours: Contents, theirs: Contents, ordered: bool) -> None:
    """Stop unless both answers hold the same rows (in the same order for a list page)."""
    for part in ("controls", "actions", "evidence"):
        mine, other = getattr(ours, part), getattr(theirs, part)
        if not ordered:
            mine, other = sorted(mine, key=repr), sorted(other, key=repr)
        if mine != other:
            extra = [row for row in mine if row not in other][:3]
            missing = [row for row in other if row not in mine][:3]
            raise SystemExit(
                f"{work}: the {part} differ (cmgraph {len(mine)}, PostGraphile {len(other)}); "
                f"only cmgraph: {extra}; only PostGraphile: {missing}"
            )
    if ours.total != theirs.total:
        raise SystemExit(
            f"{work}: totalCount {ours.total} (cmgraph), {theirs.total} (PostGraphile)"
        )
    if not ours.actions:
        raise SystemExit(f"{work}: both answers are empty")


# --- the two servers --------------------------------------------------------------------------


def cache_folder() -> Path:
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "cmgraph-bench" / f"postgraphile-{POSTGRAPHILE_VERSION}"


def install_postgraphile() -> Path | str:
    """The postgraphile command (installed on first use), or why it cannot be had."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        return "node or npm is not installed"
    folder = cache_folder()
    command = folder / "node_modules" / ".bin" / "postgraphile"
    installed = folder / "node_modules" / "postgraphile" / "package.json"
    if command.exists() and installed.exists() and _version(installed) == POSTGRAPHILE_VERSION:
        return command
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "package.json").write_text('{"private": true}\n')
    print(f"installing postgraphile@{POSTGRAPHILE_VERSION} into {folder} ...", flush=True)
    npm = ["npm", "install", "--no-audit", "--no-fund", f"postgraphile@{POSTGRAPHILE_VERSION}"]
    done = subprocess.run(npm, cwd=folder, capture_output=True, text=True, check=False)
    if done.returncode != 0 or not command.exists():
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-5:])
        return f"npm install postgraphile@{POSTGRAPHILE_VERSION} failed:\n{tail}"
    return command


def _version(package: Path) -> str:
    return str(json.loads(package.read_text())["version"])


@asynccontextmanager
async def postgraphile(command: Path, url: str, folder: Path) -> AsyncIterator[str]:
    """PostGraphile serving ``url``'s database on a free port; yields its base URL."""
    port = free_port()
    database = make_url(url).set(drivername="postgresql", query={})
    log_path = folder / f"postgraphile-{port}.log"
    log = log_path.open("wb")
    server = await asyncio.create_subprocess_exec(
        str(command),
        *("--connection", database.render_as_string(hide_password=False), "--schema", "public"),
        *("--host", "127.0.0.1", "--port", str(port)),
        *("--simple-collections", "both", "--dynamic-json"),
        *("--disable-default-mutations", "--disable-graphiql", "--disable-query-log"),
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=folder,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        if (trouble := await _wait_for_graphql(server, base)) is not None:
            log.flush()
            raise SystemExit(f"PostGraphile {trouble}:\n{_tail(log_path)}")
        yield base
    finally:
        await stop(server)
        log.close()


async def _wait_for_graphql(server: asyncio.subprocess.Process, base: str) -> str | None:
    """None once ``base`` answers a GraphQL query; else what went wrong."""
    deadline = time.monotonic() + 60
    async with httpx.AsyncClient() as client:
        while time.monotonic() < deadline:
            if server.returncode is not None:
                return f"exited with code {server.returncode}"
            try:
                answer = await client.post(f"{base}/graphql", json={"query": "{__typename}"})
                if answer.status_code == 200:
                    return None
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    return "did not answer within 60 s"


def _tail(path: Path) -> str:
    return path.read_text(errors="replace")[-3000:]


# --- measuring ------------------------------------------------------------------------------


@dataclass
class Contestant:
    """One side of a comparison: a prepared request per server process (client i sends the
    one for ``bases[i % len(bases)]``)."""

    label: str
    requests: list[bytes]
    length: int = 0  # of the checked answer: every timed answer must have the same

    async def once(self, connection: Connection, client: int = 0) -> None:
        body = await connection.post(self.requests[client % len(self.requests)])
        if len(body) != self.length:
            raise SystemExit(f"{self.label}: an answer of {len(body)} bytes, not {self.length}")


def connections(bases: Sequence[str], clients: int) -> list[Connection]:
    """``clients`` connections spread round-robin over ``bases``."""
    return [Connection(bases[i % len(bases)]) for i in range(clients)]


async def sequential(
    runs: int, sides: Sequence[tuple[Contestant, Connection]]
) -> list[list[float]]:
    """Seconds per request of each side, taking turns (the order flips every round)."""
    times: list[list[float]] = [[] for _ in sides]
    for side, connection in sides:
        for _ in range(WARM_UP):
            await side.once(connection)
    for run in range(runs):
        order = list(enumerate(sides))
        for i, (side, connection) in order if run % 2 == 0 else reversed(order):
            started = time.perf_counter()
            await side.once(connection)
            times[i].append(time.perf_counter() - started)
    return times


async def load(side: Contestant, pool: list[Connection], seconds: float) -> tuple[int, float]:
    """Requests and seconds taken by ``len(pool)`` clients sending for ``seconds`` (the
    requests still running then are waited for and counted).

    Each connection that is not open yet is opened with a request answered before the next
    one opens, as clients connect over time. Several server processes share one listening
    socket, and connections that arrive together all go to the process that wakes first (it
    accepts every one waiting): opened at once, the 16 clients sometimes all landed on one
    of two processes, and the figure for two was then that of one.
    """
    for index, connection in enumerate(pool):
        if not connection.ready:
            await side.once(connection, index)
    deadline = time.perf_counter() + seconds
    done = 0

    async def client(index: int, connection: Connection) -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            await side.once(connection, index)
            done += 1

    started = time.perf_counter()
    await asyncio.gather(*(client(i, c) for i, c in enumerate(pool)))
    return done, time.perf_counter() - started


async def throughput(
    sides: Sequence[tuple[Contestant, list[str]]], clients: int, seconds: float, rounds: int
) -> list[float]:
    """Requests per second of each side at ``clients`` concurrent clients, in alternating
    slices of ``seconds / rounds`` (the order flips every round)."""
    pools = [connections(bases, clients) for _, bases in sides]
    totals = [[0, 0.0] for _ in sides]
    for run in range(rounds):
        order = list(range(len(sides)))
        for i in order if run % 2 == 0 else reversed(order):
            done, took = await load(sides[i][0], pools[i], seconds / rounds)
            totals[i][0] += done
            totals[i][1] += took
    for pool in pools:
        for connection in pool:
            await connection.close()
    return [done / took for done, took in totals]


# --- the run ----------------------------------------------------------------------------------


@dataclass
class Spec:
    """A workload as each server is asked it, and how to read each answer."""

    name: str
    cmgraph: dict[str, Any]
    postgraphile: dict[str, Any]
    readers: tuple[Callable[[bytes], Contents], Callable[[bytes], Contents]]
    ordered: bool  # a list page: same rows in the same order


@dataclass
class Workload:
    name: str
    cmgraph: Contestant
    postgraphile: Contestant
    scaled: Contestant | None  # cmgraph over all its processes, with --processes > 1
    statements: int


async def statements_per_request(
    engine: AsyncEngine, payload: dict[str, Any], token: str, folder: Path
) -> int:
    """SQL statements one request sends, counted on an in-process app on the same code.

    With the LISTEN connection a server runs, so that the caller is known from the
    credential cache, as in the served process. Counted through SQLAlchemy, so the list's
    page goes through it too (the served process reads it on the driver: one statement
    either way, ``tests/test_driver_reads.py``).
    """
    app = create_app(Settings.from_env({"CMGRAPH_DATA_DIR": str(folder / "data")}), engine)
    transport = httpx.ASGITransport(app=app)
    headers = {"Authorization": f"Bearer {token}"}
    listener = PgListener(engine.url.render_as_string(hide_password=False))
    await listener.start()
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            await client.post("/graphql", json=payload, headers=headers)  # token's last use
            with count_statements(engine) as statements:
                answer = await client.post("/graphql", json=payload, headers=headers)
    finally:
        await listener.stop()
    data_of(answer.content, "cmgraph (in process)")
    return len(statements)


async def run(args: argparse.Namespace, command: Path, server: str) -> None:
    with tempfile.TemporaryDirectory(prefix="cmgraph-bench-") as tmp:
        folder = Path(tmp)
        async with scratch_database(folder, server) as url:
            engine = create_engine(url)
            try:
                await compare(args, command, url, engine, folder)
            finally:
                await engine.dispose()


async def compare(
    args: argparse.Namespace, command: Path, url: str, engine: AsyncEngine, folder: Path
) -> None:
    print(f"building the report assessment from {DEFAULT_CATALOG.name} ...", flush=True)
    token, assessment_id, group_id, built = await prepare(engine, DEFAULT_CATALOG)
    async with engine.connect() as connection:
        # Both servers plan on the same statistics, and read tables as autovacuum leaves them
        # soon after a bulk load. Outside a transaction: VACUUM refuses to run in one, and
        # the statistics of an ANALYZE in a transaction rolled back are rolled back with it.
        steady = await connection.execution_options(isolation_level="AUTOCOMMIT")
        await steady.execute(text("VACUUM ANALYZE"))
        version = await steady.scalar(text("SHOW server_version"))
    print(f"built in {built:.0f} s", flush=True)

    list_variables = {"status": LIST_STATUS, "first": LIST_SIZE}
    specs = [
        Spec(
            "nested report",
            {"query": REPORT_QUERY, "variables": {"groups": [encode("Group", group_id)]}},
            {"query": POSTGRAPHILE_REPORT, "variables": {"id": assessment_id}},
            (cmgraph_report, postgraphile_report),
            ordered=False,
        ),
        Spec(
            f"first {LIST_SIZE} actions",
            {"query": CMGRAPH_LIST, "variables": list_variables},
            {"query": POSTGRAPHILE_LIST, "variables": list_variables},
            (cmgraph_list, postgraphile_list),
            ordered=True,
        ),
    ]
    counted = [await statements_per_request(engine, spec.cmgraph, token, folder) for spec in specs]

    where = cmgraph_imported(folder)
    async with AsyncExitStack() as stack:
        pg_base = await stack.enter_async_context(postgraphile(command, url, folder))
        # One process, and with --processes N also a server of N processes on one port.
        cm_bases = [await stack.enter_async_context(served(url, folder))]
        if args.processes > 1:
            scaled_env = {"CMGRAPH_PROCESSES": str(args.processes)}
            cm_bases.append(await stack.enter_async_context(served(url, folder, scaled_env)))
        workloads = []
        for spec, statements in zip(specs, counted, strict=True):
            ours = Contestant("cmgraph", [graphql_request(cm_bases[0], spec.cmgraph, token)])
            theirs = Contestant("PostGraphile", [graphql_request(pg_base, spec.postgraphile)])
            scaled = None
            if args.processes > 1:
                requests = [graphql_request(cm_bases[1], spec.cmgraph, token)]
                scaled = Contestant(f"cmgraph x{args.processes}", requests)
            workload = Workload(spec.name, ours, theirs, scaled, statements)
            await check(workload, spec, cm_bases, pg_base)
            workloads.append(workload)

        print(
            f"timing ({args.runs} runs, {args.seconds:g} s per throughput figure) ...", flush=True
        )
        load = os.getloadavg()[0]
        rows = [await measure(workload, args, cm_bases, pg_base) for workload in workloads]
    machine = (
        f"machine: {os.cpu_count()} cores, load average (1 min) {load:.1f} before timing, "
        f"{os.getloadavg()[0]:.1f} after"
    )
    report(args, version, where, machine, workloads, rows)


def cmgraph_imported(folder: Path) -> str:
    """Where ``cmgraph`` comes from for the servers: same interpreter, environment and folder
    as ``served`` gives them (PYTHONPATH=.../src measures another checkout)."""
    probe = [sys.executable, "-c", "import cmgraph; print(cmgraph.__file__)"]
    found = subprocess.run(probe, cwd=folder, capture_output=True, text=True, check=True)
    path = found.stdout.strip()
    if Path(path).resolve() != Path(cmgraph.__file__).resolve():
        raise SystemExit(f"the servers would import {path}, this process {cmgraph.__file__}")
    return str(Path(path).parent)


async def check(workload: Workload, spec: Spec, cm_bases: list[str], pg_base: str) -> None:
    """Both answers carry the same rows; remember their lengths for the timed requests."""
    answers = []
    for side, base in ((workload.cmgraph, cm_bases[0]), (workload.postgraphile, pg_base)):
        connection = Connection(base)
        body = await connection.post(side.requests[0])
        await connection.close()
        side.length = len(body)
        answers.append(body)
    ours, theirs = spec.readers[0](answers[0]), spec.readers[1](answers[1])
    require_same(workload.name, ours, theirs, spec.ordered)
    if workload.scaled is not None:
        for base in cm_bases[1:]:
            connection = Connection(base)
            if await connection.post(workload.scaled.requests[0]) != answers[0]:
                raise SystemExit(f"{workload.name}: cmgraph at {base} answers differently")
            await connection.close()
        workload.scaled.length = len(answers[0])
    print(f"{workload.name}: both answers hold {ours.counts()}", flush=True)


@dataclass
class Figures:
    median: tuple[float, float]
    minimum: tuple[float, float]
    rates: dict[int, list[float]]  # clients: [cmgraph, PostGraphile(, cmgraph x N)]


async def measure(
    workload: Workload, args: argparse.Namespace, cm_bases: list[str], pg_base: str
) -> Figures:
    pair = [
        (workload.cmgraph, Connection(cm_bases[0])),
        (workload.postgraphile, Connection(pg_base)),
    ]
    cm_times, pg_times = await sequential(args.runs, pair)
    for _, connection in pair:
        await connection.close()
    sides: list[tuple[Contestant, list[str]]] = [
        (workload.cmgraph, cm_bases[:1]),
        (workload.postgraphile, [pg_base]),
    ]
    if workload.scaled is not None:
        sides.append((workload.scaled, cm_bases[1:]))
    rates = {}
    for clients in CLIENTS:
        rates[clients] = await throughput(sides, clients, args.seconds, _rounds(args.seconds))
        print(f"  {workload.name}, {_clients(clients)}: done", flush=True)
    return Figures(
        (statistics.median(cm_times), statistics.median(pg_times)),
        (min(cm_times), min(pg_times)),
        rates,
    )


def _rounds(seconds: float) -> int:
    """Turns of about a second each (an even number, so that each side goes first as often):
    this machine's speed drifts over seconds, and short turns share the drift out evenly."""
    return 2 * max(1, round(seconds / 2))


def _clients(count: int) -> str:
    return f"{count} client{'s' if count > 1 else ''}"


def _verdict(ratio: float, slower_when_above: bool) -> str:
    slower = ratio > 1 if slower_when_above else ratio < 1
    factor = ratio if ratio >= 1 else 1 / ratio
    return f"{factor:.2f}x {'slower' if slower else 'faster'}"


def report(
    args: argparse.Namespace,
    version: str,
    where: str,
    machine: str,
    workloads: list[Workload],
    rows: list[Figures],
) -> None:
    width = 44
    print()
    print(
        f"cmgraph versus PostGraphile {POSTGRAPHILE_VERSION}, PostgreSQL {version}, same database"
    )
    print(f"cmgraph from {where}: one `cmgraph serve` process, owner token")
    print("PostGraphile: one Node process, no authorisation")
    print(machine)
    print(
        f"sequential: {args.runs} runs each after {WARM_UP} to warm up; "
        f"throughput: {args.seconds:g} s each"
    )
    print("ratio: cmgraph / PostGraphile (time: above 1 is slower; req/s: above 1 is faster)")
    print()
    print(f"{'work':<{width}}{'cmgraph':>10}{'PostGraphile':>14}{'ratio':>8}   cmgraph is")
    for workload, figures in zip(workloads, rows, strict=True):
        for label, (ours, theirs) in (
            ("sequential median ms", figures.median),
            ("sequential min ms", figures.minimum),
        ):
            ratio = ours / theirs
            print(
                f"{workload.name + ', ' + label:<{width}}{ours * 1000:>10.1f}{theirs * 1000:>14.1f}"
                f"{ratio:>8.2f}   {_verdict(ratio, True)}"
            )
        for clients, rates in figures.rates.items():
            ratio = rates[0] / rates[1]
            label = f"{workload.name}, {_clients(clients)} req/s"
            print(
                f"{label:<{width}}{rates[0]:>10.1f}{rates[1]:>14.1f}"
                f"{ratio:>8.2f}   {_verdict(ratio, False)}"
            )
    counts = " / ".join(str(w.statements) for w in workloads)
    print(f"{'SQL statements per request (report / list)':<{width}}{counts:>10}")
    if args.processes > 1:
        n = args.processes
        print()
        print(f"scale-out: cmgraph serve with 1 and with {n} processes (--processes {n})")
        print(f"{'work':<{width}}{'1 process':>10}{f'{n} processes':>14}{'ratio':>8}")
        for workload, figures in zip(workloads, rows, strict=True):
            for clients, rates in figures.rates.items():
                label = f"{workload.name}, {_clients(clients)} req/s"
                print(
                    f"{label:<{width}}{rates[0]:>10.1f}{rates[2]:>14.1f}{rates[2] / rates[0]:>8.2f}"
                )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9, help="sequential runs after the warm-up")
    parser.add_argument("--processes", type=int, default=1, help="cmgraph serve processes")
    parser.add_argument(
        "--seconds", type=float, default=4.0, help="of load for each throughput figure"
    )
    args = parser.parse_args()
    if args.runs < 1 or args.processes < 1 or args.seconds <= 0:
        parser.error("--runs and --processes must be at least 1, --seconds above 0")
    if not DEFAULT_CATALOG.is_file():
        print(f"skipped: the OSCAL catalog {DEFAULT_CATALOG} is not there")
        return
    server = postgres_server()
    if not asyncio.run(postgres_reachable(server)):
        print(f"skipped: PostgreSQL at {make_url(server).render_as_string()} does not answer")
        return
    command = install_postgraphile()
    if isinstance(command, str):
        print(f"skipped: {command}")
        return
    asyncio.run(run(args, command, server))


if __name__ == "__main__":
    main()
