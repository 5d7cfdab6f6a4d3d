"""Scheduled checks across workers and restarts: every item reported once a day, and how long
a run takes.

Run from the repository root::

    python -m bench.scheduled_checks [--items 2000] [--workers 2]

For SQLite, and for PostgreSQL when it answers (CMGRAPH_BENCH_DATABASE_URL, default the
local server), it seeds a scratch database with one assessment of ``--items`` overdue
actions, every fourth with evidence to review within the week, then, for two days of the
one clock: ``--workers`` workers (each its own engine, as separate processes would have)
run the checks at the same moment, then a "restarted" worker (a new engine) runs them
again. It prints what each reported, the events written, the duplicates (items reported
twice on one day: must be 0) and the wall time of the concurrent runs.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, insert, select, update

from bench.support import postgres_reachable, postgres_server, scratch_database
from cmgraph.adapters.db import UnitOfWork, create_engine, session_factory
from cmgraph.adapters.migrate import upgrade
from cmgraph.alerts.schedule import run_schedule
from cmgraph.domain import accounts, clock
from cmgraph.domain.assessments import NewAssessment, create_assessment
from cmgraph.domain.enums import (
    Enforcement,
    EvidenceKind,
    ImplementationType,
    OrgRole,
    Purpose,
)
from cmgraph.domain.models import Event, Evidence, ImprovementAction, ScheduledCheck
from cmgraph.domain.scheduled_checks import CHECKED_KINDS
from cmgraph.domain.templates import ActionSpec, ControlSpec, TemplateSpec, import_template

START = datetime(2030, 5, 6, 9, 0, tzinfo=UTC)
PER_CONTROL = 20


async def seed(url: str, items: int) -> int:
    """One assessment of ``items`` overdue actions; returns the number of items to report."""
    engine = create_engine(url)
    await upgrade(engine)
    sessions = session_factory(engine)
    actions = tuple(
        ActionSpec(
            f"bench:a{i}",
            f"Action {i}",
            ImplementationType.OPERATIONAL,
            Enforcement.MANDATORY,
            Purpose.PREVENTATIVE,
        )
        for i in range(items)
    )
    spec = TemplateSpec(
        key="bench",
        title="Bench",
        regulation="Bench regulation",
        product="Bench",
        controls=tuple(
            ControlSpec(
                f"C-{start}",
                "Family",
                "Control",
                action_keys=tuple(a.key for a in actions[start : start + PER_CONTROL]),
            )
            for start in range(0, items, PER_CONTROL)
        ),
        actions=actions,
    )
    today = clock.today()
    async with UnitOfWork(sessions) as uow:
        owner = await accounts.create_user(uow, "owner@bench.test", "Owner", OrgRole.OWNER)
        principal = await accounts.principal_for(uow, owner)
        imported = await import_template(uow, spec, source="bench")
        await create_assessment(
            uow, principal, NewAssessment(imported.template.id, "Bench", new_group_name="Bench")
        )
        # Dates written directly: the bench measures the checks, not the edits.
        await uow.session.execute(
            update(ImprovementAction).values(due_date=today - timedelta(days=1))
        )
        ids = list(await uow.session.scalars(select(ImprovementAction.id)))
        reviewed = ids[::4]
        if reviewed:
            await uow.session.execute(
                insert(Evidence),
                [
                    {
                        "action_id": action_id,
                        "kind": EvidenceKind.LINK,
                        "name": f"Evidence {action_id}",
                        "url": f"https://evidence.test/{action_id}",
                        "uploaded_at": clock.now(),
                        "review_by": today + timedelta(days=3),
                    }
                    for action_id in reviewed
                ],
            )
        await uow.session.execute(update(Event).values(processed_at=clock.now()))
    await engine.dispose()
    return len(ids) + len(reviewed)


async def backend(name: str, url: str, items: int, workers: int) -> list[str]:
    expected = await seed(url, items)
    engines = [create_engine(url) for _ in range(workers)]
    lines = []
    try:
        for _day in range(2):
            started = time.perf_counter()
            runs = await asyncio.gather(*(run_schedule(session_factory(e)) for e in engines))
            took = time.perf_counter() - started
            restarted_engine = create_engine(url)
            try:
                restarted = await run_schedule(session_factory(restarted_engine))
            finally:
                await restarted_engine.dispose()
            counts = [r.checks.events for r in runs]
            lines.append(
                f"{name:<10} {runs[0].day}  {expected:>6} {'/'.join(map(str, counts)):>15} "
                f"{restarted.checks.events:>9} {sum(counts) + restarted.checks.events:>7} "
                f"{took * 1000:>9.0f}"
            )
            clock.advance(timedelta(days=1))
        async with session_factory(engines[0])() as session:
            per_key = Counter(
                (
                    await session.execute(
                        select(ScheduledCheck.kind, ScheduledCheck.subject_id, ScheduledCheck.day)
                    )
                ).all()
            )
            events = await session.scalar(
                select(func.count())
                .select_from(Event)
                .where(Event.type.in_([k.value for k in CHECKED_KINDS]))
            )
        duplicates = sum(n - 1 for n in per_key.values())
        lines.append(
            f"{name:<10} two days: {events} events for {len(per_key)} (item, day) keys, "
            f"duplicates {duplicates}"
        )
        assert duplicates == 0 and events == 2 * expected, (events, expected, duplicates)
    finally:
        for engine in engines:
            await engine.dispose()
    return lines


async def main(items: int, workers: int) -> None:
    print(
        f"scheduled checks: {items} overdue actions (1 in 4 with evidence due), {workers} workers"
    )
    print(
        f"{'backend':<10} {'day':<11} {'items':>6} {'per worker':>15} {'restart':>9} "
        f"{'events':>7} {'wall ms':>9}"
    )
    with tempfile.TemporaryDirectory(prefix="cmgraph-bench-") as folder:
        cases: list[tuple[str, str | None]] = [("sqlite", None)]
        server = postgres_server()
        if await postgres_reachable(server):
            cases.append(("postgresql", server))
        else:
            print(f"postgresql: not reachable at {server}; skipped")
        for name, target in cases:
            clock.freeze(START)
            try:
                async with scratch_database(Path(folder), target) as url:
                    for line in await backend(name, url, items, workers):
                        print(line, flush=True)
            finally:
                clock.reset()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=2)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.items, arguments.workers))
