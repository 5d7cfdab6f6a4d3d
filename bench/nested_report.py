"""Nested report benchmark: one GraphQL query for a whole HIGH-baseline assessment.

Run from the repository root::

    python -m bench.nested_report [--runs N] [--catalog PATH]

Builds a throwaway database (SQLite in a temporary folder; with
``CMGRAPH_BENCH_DATABASE_URL=postgresql+asyncpg://...`` a scratch database is created on that
server and dropped afterwards), fills in an assessment with ``tests/report_data.py``, serves
it with ``python -m cmgraph serve`` in a subprocess (the command users run, configured through
``CMGRAPH_*`` variables) and times the full nested report over HTTP. The floor is the same
rows read with one plain SELECT per table (joined as needed) through the same async engine,
assembled into the same nested shape and serialised with orjson, in this process.
DESIGN.md's target: HTTP median <= 3x the floor median.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import orjson
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine
from tests.report_data import REPORT_QUERY, build_report_assessment, count_statements

from bench.support import SHARED_OSCAL, percentile, scratch_database, served
from cmgraph.adapters.db import UnitOfWork, create_engine, is_sqlite, session_factory
from cmgraph.adapters.migrate import upgrade
from cmgraph.config import Settings
from cmgraph.domain import accounts, scoring
from cmgraph.domain.enums import OrgRole
from cmgraph.domain.models import (
    ActionDefinition,
    ActionDefinitionVersion,
    Assessment,
    Control,
    ControlAction,
    Evidence,
    Group,
    ImprovementAction,
    Regulation,
    Template,
    User,
)
from cmgraph.http.app import create_app

DEFAULT_CATALOG = (
    SHARED_OSCAL / "NIST_SP-800-53_rev5_HIGH-baseline-resolved-profile_catalog-min.json"
)
TARGET_RATIO = 3.0


# --- database ---------------------------------------------------------------------------------


def bench_server() -> str | None:
    """The PostgreSQL server named by CMGRAPH_BENCH_DATABASE_URL; None for SQLite."""
    server = os.environ.get("CMGRAPH_BENCH_DATABASE_URL", "")
    if server and is_sqlite(server):
        raise SystemExit("CMGRAPH_BENCH_DATABASE_URL is for PostgreSQL; leave it unset for SQLite")
    return server or None


async def prepare(engine: AsyncEngine, catalog: Path) -> tuple[str, int, int, float]:
    """Migrate, add an owner with a token, build the report; (token, assessment, group, s)."""
    await upgrade(engine)
    sessions = session_factory(engine)
    async with UnitOfWork(sessions) as uow:
        user = await accounts.create_user(uow, "owner@bench.test", "Bench Owner", OrgRole.OWNER)
        owner = await accounts.principal_for(uow, user)
        token = (await accounts.create_token(uow, user, "bench")).secret
    started = time.perf_counter()
    assessment_id = await build_report_assessment(
        sessions, owner, catalog, name="Nested report", group="Nested report group"
    )
    built = time.perf_counter() - started
    async with sessions() as session:
        group_id = (
            await session.execute(select(Assessment.group_id).where(Assessment.id == assessment_id))
        ).scalar_one()
    return token, assessment_id, group_id, built


async def sizes(engine: AsyncEngine, assessment_id: int) -> tuple[int, int, int]:
    """Controls, action links and evidence items of the assessment."""
    async with engine.connect() as connection:
        controls = await connection.scalar(
            select(func.count()).select_from(Control).where(Control.assessment_id == assessment_id)
        )
        links = await connection.scalar(
            select(func.count())
            .select_from(ControlAction)
            .join(Control, Control.id == ControlAction.control_id)
            .where(Control.assessment_id == assessment_id)
        )
        evidence = await connection.scalar(
            select(func.count())
            .select_from(Evidence)
            .where(Evidence.action_id.in_(_actions_of(assessment_id)))
        )
    return int(controls or 0), int(links or 0), int(evidence or 0)


# --- the floor: plain SQL, one nested dict, orjson ----------------------------------------------


def _actions_of(assessment_id: int) -> Any:
    return (
        select(ControlAction.action_id)
        .join(Control, Control.id == ControlAction.control_id)
        .where(Control.assessment_id == assessment_id)
    )


def _gid(type_name: str, row_id: int) -> str:
    return base64.b64encode(f"{type_name}:{row_id}".encode()).decode()


def _score(earned: float, possible: int) -> dict[str, Any]:
    return {
        "earned": earned,
        "possible": possible,
        "percent": scoring.Score(earned, possible).percent,
    }


async def floor_report(engine: AsyncEngine, assessment_id: int) -> bytes:
    """The report's JSON from four SELECTs, without the ORM or GraphQL."""
    a, c, d, v, e = (
        ImprovementAction.__table__,
        Control.__table__,
        ActionDefinition.__table__,
        ActionDefinitionVersion.__table__,
        Evidence.__table__,
    )
    ca, u = ControlAction.__table__, User.__table__
    asm, grp = Assessment.__table__, Group.__table__
    tpl, reg = Template.__table__, Regulation.__table__
    async with engine.connect() as connection:
        head = (
            await connection.execute(
                select(asm.c.id, asm.c.name, grp.c.name, tpl.c.title, reg.c.name)
                .select_from(asm)
                .join(grp, grp.c.id == asm.c.group_id)
                .join(tpl, tpl.c.id == asm.c.template_id)
                .join(reg, reg.c.id == tpl.c.regulation_id)
                .where(asm.c.id == assessment_id)
            )
        ).one()
        controls = (
            await connection.execute(
                select(c.c.id, c.c.key, c.c.family, c.c.title, c.c.description)
                .where(c.c.assessment_id == assessment_id)
                .order_by(c.c.sort_order)
            )
        ).all()
        actions = (
            await connection.execute(
                select(
                    ca.c.control_id,
                    a.c.id,
                    d.c.key,
                    v.c.title,
                    d.c.implementation_type,
                    v.c.enforcement,
                    v.c.purpose,
                    a.c.points,
                    a.c.implementation_status,
                    a.c.implementation_date,
                    a.c.test_status,
                    a.c.test_date,
                    a.c.implementation_notes,
                    a.c.testing_notes,
                    a.c.earned,
                    a.c.possible,
                    u.c.name,
                )
                .select_from(ca)
                .join(a, a.c.id == ca.c.action_id)
                .join(c, c.c.id == ca.c.control_id)
                .join(d, d.c.id == a.c.definition_id)
                .join(v, v.c.id == a.c.definition_version_id)
                .outerjoin(u, u.c.id == a.c.assignee_id)
                .where(c.c.assessment_id == assessment_id)
                .order_by(ca.c.control_id, d.c.key)
            )
        ).all()
        evidence = (
            await connection.execute(
                select(
                    e.c.action_id, e.c.id, e.c.kind, e.c.name, e.c.url, e.c.uploaded_at, u.c.name
                )
                .select_from(e)
                .outerjoin(u, u.c.id == e.c.uploaded_by_id)
                .where(e.c.action_id.in_(_actions_of(assessment_id)))
                .order_by(e.c.id)
            )
        ).all()

    evidence_by_action: dict[int, list[dict[str, Any]]] = {}
    for action_id, evidence_id, kind, name, url, uploaded_at, uploader in evidence:
        evidence_by_action.setdefault(action_id, []).append(
            {
                "id": _gid("Evidence", evidence_id),
                "kind": kind,
                "name": name,
                "url": url,
                "uploadedAt": uploaded_at,
                "uploadedBy": {"name": uploader} if uploader is not None else None,
            }
        )
    by_control: dict[int, list[Any]] = {}
    for row in actions:
        by_control.setdefault(row[0], []).append(row)
    distinct: dict[int, tuple[float, int]] = {}
    statuses = []
    control_dicts = []
    for control_id, key, family, title, description in controls:
        rows = by_control.get(control_id, [])
        action_dicts = []
        for row in rows:
            distinct[row[1]] = (row[14], row[15])
            action_dicts.append(
                {
                    "id": _gid("ImprovementAction", row[1]),
                    "key": row[2],
                    "title": row[3],
                    "implementationType": row[4],
                    "enforcement": row[5],
                    "purpose": row[6],
                    "points": row[7],
                    "implementationStatus": row[8],
                    "implementationDate": row[9],
                    "testStatus": row[10],
                    "testDate": row[11],
                    "implementationNotes": row[12],
                    "testingNotes": row[13],
                    "score": _score(row[14], row[15]),
                    "assignee": {"name": row[16]} if row[16] is not None else None,
                    "evidence": evidence_by_action.get(row[1], []),
                }
            )
        status = scoring.control_status((r[8], r[10]) for r in rows)
        statuses.append(status)
        own = {r[1]: (r[14], r[15]) for r in rows}
        control_dicts.append(
            {
                "id": _gid("Control", control_id),
                "key": key,
                "family": family,
                "title": title,
                "description": description,
                "status": status,
                "score": _score(
                    sum(s[0] for s in own.values()) + 0.0, sum(s[1] for s in own.values())
                ),
                "actions": action_dicts,
            }
        )
    assessment = {
        "id": _gid("Assessment", head[0]),
        "name": head[1],
        "score": _score(
            sum(s[0] for s in distinct.values()) + 0.0, sum(s[1] for s in distinct.values())
        ),
        "status": scoring.assessment_status(statuses),
        "progress": scoring.progress(statuses),
        "group": {"name": head[2]},
        "template": {"title": head[3], "regulation": {"name": head[4]}},
        "controls": control_dicts,
    }
    return orjson.dumps({"data": {"assessments": {"nodes": [assessment]}}})


# --- measuring ----------------------------------------------------------------------------------


async def timed(runs: int, *calls: Callable[[], Awaitable[Any]]) -> list[tuple[list[float], Any]]:
    """Per call: seconds of each of ``runs`` calls after one warm-up, and its last result.

    Several calls take turns run by run, so that a busy machine slows them alike.
    """
    results = [await once() for once in calls]
    times: list[list[float]] = [[] for _ in calls]
    for _ in range(runs):
        for i, once in enumerate(calls):
            started = time.perf_counter()
            results[i] = await once()
            times[i].append(time.perf_counter() - started)
    return list(zip(times, results, strict=True))


def checked(response: httpx.Response) -> bytes:
    """The body of a successful response (parsed later, outside the timings)."""
    if response.status_code != 200:
        raise SystemExit(f"the report failed with HTTP {response.status_code}: {response.text}")
    return response.content


def counted(body: bytes) -> tuple[int, int, int]:
    """Controls, actions and evidence items in a report; exits on GraphQL errors."""
    document = orjson.loads(body)
    if document.get("errors"):
        raise SystemExit(f"the report returned errors: {document['errors']}")
    [report] = document["data"]["assessments"]["nodes"]
    actions = [a for c in report["controls"] for a in c["actions"]]
    return len(report["controls"]), len(actions), sum(len(a["evidence"]) for a in actions)


async def run(runs: int, catalog: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="cmgraph-bench-") as tmp:
        folder = Path(tmp)
        async with scratch_database(folder, bench_server()) as url:
            engine = create_engine(url)
            try:
                await measure(runs, catalog, url, engine, folder)
            finally:
                await engine.dispose()


async def measure(runs: int, catalog: Path, url: str, engine: AsyncEngine, folder: Path) -> None:
    backend = make_url(url).get_backend_name()
    print(f"building the report assessment from {catalog.name} on {backend} ...", flush=True)
    token, assessment_id, group_id, built = await prepare(engine, catalog)
    controls, links, evidence = await sizes(engine, assessment_id)
    print(f"built in {built:.1f} s", flush=True)

    payload = {"query": REPORT_QUERY, "variables": {"groups": [_gid("Group", group_id)]}}
    headers = {"Authorization": f"Bearer {token}"}

    # SQL statements per request, counted on an in-process app sharing this engine.
    app = create_app(Settings.from_env({}), engine)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:

        async def in_process() -> bytes:
            return checked(await client.post("/graphql", json=payload, headers=headers))

        await in_process()  # stamps the token's last use outside the count
        with count_statements(engine) as statements:
            await in_process()
        [(asgi_times, _)] = await timed(runs, in_process)

    async with (
        served(url, folder) as base,
        httpx.AsyncClient(base_url=base, timeout=120) as client,
    ):

        async def over_http() -> bytes:
            return checked(await client.post("/graphql", json=payload, headers=headers))

        async def floor() -> bytes:
            return await floor_report(engine, assessment_id)

        [(http_times, body), (floor_times, floor_body)] = await timed(runs, over_http, floor)
    same = orjson.loads(floor_body) == orjson.loads(body)

    shown = counted(body)
    if shown != (controls, links, evidence):
        stored = (controls, links, evidence)
        raise SystemExit(f"the report shows {shown}, the database holds {stored}")

    http, floor_ms = statistics.median(http_times), statistics.median(floor_times)
    ratio = http / floor_ms
    ms = 1000.0
    print()
    print(f"Nested report: {catalog.name}")
    print(f"database {backend}, {runs} runs after one warm-up each; HTTP and floor alternate")
    print()
    print(f"  {'controls':<34}{controls:>12,}")
    print(f"  {'actions':<34}{links:>12,}")
    print(f"  {'evidence items':<34}{evidence:>12,}")
    print(f"  {'response size (bytes)':<34}{len(body):>12,}")
    print(f"  {'floor size (bytes)':<34}{len(floor_body):>12,}")
    print(f"  {'floor JSON equals the response':<34}{'yes' if same else 'NO':>12}")
    print(f"  {'SQL statements per request':<34}{len(statements):>12}")
    print()
    print(f"  {'':<34}{'median ms':>12}{'p95 ms':>12}{'min ms':>12}")
    for label, times in (
        ("HTTP, cmgraph serve subprocess", http_times),
        ("in-process ASGI (httpx)", asgi_times),
        ("floor: SQL + dicts + orjson", floor_times),
    ):
        print(
            f"  {label:<34}{statistics.median(times) * ms:>12.1f}"
            f"{percentile(times, 0.95) * ms:>12.1f}{min(times) * ms:>12.1f}"
        )
    print()
    verdict = "meets" if ratio <= TARGET_RATIO else "misses"
    print(f"  {'ratio HTTP median / floor median':<34}{ratio:>12.2f}")
    print(f"  {'ratio HTTP min / floor min':<34}{min(http_times) / min(floor_times):>12.2f}")
    print(f"  ({verdict} the target of {TARGET_RATIO:g}x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="timed runs after a warm-up")
    parser.add_argument("--catalog", type=Path, default=DEFAULT_CATALOG, help="OSCAL catalog")
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    catalog: Path = args.catalog
    if not catalog.is_file():
        raise SystemExit(
            f"OSCAL catalog not found: {catalog}\n"
            "Put the NIST SP 800-53 Rev. 5 baselines in ../shared/data/oscal/ "
            "or pass --catalog PATH."
        )
    asyncio.run(run(args.runs, catalog))


if __name__ == "__main__":
    main()
