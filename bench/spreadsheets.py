"""Spreadsheets: export 1,000 and 10,000 actions, then import a 10,000-row update.

Run from the repository root::

    python -m bench.spreadsheets [--rows N]

For SQLite, and for PostgreSQL when it answers (CMGRAPH_BENCH_DATABASE_URL, default the
local server), it builds two assessments from generated templates, one with a tenth of the
actions of the other (1,000 and 10,000 by default), with varied statuses, assignees and
notes (and, on PostgreSQL, planner statistics, as a database in use has). Then, in this
process and through the same code the server runs:

- exports each assessment's actions (the ``improvement-actions`` export, as the owner), once
  for time and once under ``tracemalloc`` for the peak of Python memory;
- edits every row of the large export (notes, and every third action's status), and imports
  it as a dry run and then for real, each timed, and the dry run also for peak memory.

DESIGN.md's targets: export memory does not grow with the row count (the 10,000-row peak
is printed as a ratio of the 1,000-row peak; streaming keeps it near 1), and the 10,000-row
import finishes well under a minute.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import tempfile
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from datetime import date
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from openpyxl import load_workbook
from sqlalchemy import select, text, update

from bench.support import each_backend
from cmgraph.adapters.db import UnitOfWork, create_engine, session_factory
from cmgraph.adapters.migrate import upgrade
from cmgraph.domain import accounts
from cmgraph.domain.action_filter import ActionFilter
from cmgraph.domain.assessments import NewAssessment, create_assessment
from cmgraph.domain.enums import (
    Enforcement,
    ImplementationStatus,
    ImplementationType,
    OrgRole,
    Purpose,
)
from cmgraph.domain.models import Assessment, Control, ControlAction, ImprovementAction, User
from cmgraph.domain.permissions import Principal
from cmgraph.domain.score_upkeep import store_recomputed
from cmgraph.domain.templates import ActionSpec, ControlSpec, TemplateSpec, import_template
from cmgraph.exchange.action_import import import_actions
from cmgraph.exchange.kinds import EXPORT_KINDS
from cmgraph.exchange.xlsx import new_workbook

T = TypeVar("T")
ACTIONS_PER_CONTROL = 5
TYPES = (
    ImplementationType.TECHNICAL,
    ImplementationType.OPERATIONAL,
    ImplementationType.DOCUMENTATION,
)


def template(name: str, actions: int) -> TemplateSpec:
    """A generated template: ``actions`` distinct actions, five to a control."""
    action_specs = tuple(
        ActionSpec(
            key=f"{name}-{i:05d}",
            title=f"{name} action {i}: keep the records of activity {i} complete",
            implementation_type=TYPES[i % 3],
            enforcement=Enforcement.MANDATORY if i % 4 else Enforcement.DISCRETIONARY,
            purpose=Purpose.PREVENTATIVE if i % 2 else Purpose.DETECTIVE,
            guidance=f"Guidance for action {i}. " * 4,
            category="Protect information",
            solution="Records",
        )
        for i in range(actions)
    )
    controls = tuple(
        ControlSpec(
            key=f"{name.upper()}-{c}",
            family=f"Family {c % 20}",
            title=f"Control {c}",
            description=f"Requirement {c}.",
            action_keys=tuple(
                a.key for a in action_specs[c * ACTIONS_PER_CONTROL : (c + 1) * ACTIONS_PER_CONTROL]
            ),
        )
        for c in range(actions // ACTIONS_PER_CONTROL)
    )
    return TemplateSpec(
        key=name,
        title=f"Generated {name}",
        regulation="Bench",
        product=name,
        controls=controls,
        actions=action_specs,
    )


async def build(url: str, rows: int) -> tuple[Any, Principal, dict[int, int]]:
    """Sessions, the owner, and {row count: assessment id} for a small and a large assessment."""
    engine = create_engine(url)
    await upgrade(engine)
    sessions = session_factory(engine)
    assessments: dict[int, int] = {}
    async with UnitOfWork(sessions) as uow:
        user = await accounts.create_user(uow, "owner@bench.test", "Owner", OrgRole.OWNER)
        owner = await accounts.principal_for(uow, user)
        for i in range(5):
            await accounts.create_user(
                uow, f"staff{i}@bench.test", f"Staff {i}", OrgRole.CONTRIBUTOR
            )
    for count in (rows // 10, rows):
        async with UnitOfWork(sessions) as uow:
            spec = template(f"bench{count}", count)
            template_id = (await import_template(uow, spec, source="bench")).template.id
            created = await create_assessment(
                uow, owner, NewAssessment(template_id, f"Bench {count}", new_group_name=f"G{count}")
            )
            assessments[count] = created.id
        async with UnitOfWork(sessions) as uow:
            await _vary(uow, created.id)
    if engine.dialect.name == "postgresql":
        # A database in use has planner statistics (autovacuum gathers them); a fresh one
        # has none, and the keyset pages of the export would be planned blind.
        async with engine.connect() as connection:
            autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
            await autocommit.execute(text("ANALYZE"))
    return engine, owner, assessments


async def _vary(uow: UnitOfWork, assessment_id: int) -> None:
    """Give a third of the actions an implementation, with date and notes (setup, not timed)."""
    ids = (
        select(ControlAction.action_id).join(Control).where(Control.assessment_id == assessment_id)
    )
    staff = (
        (await uow.session.execute(select(User.id).where(User.email.like("staff%"))))
        .scalars()
        .all()
    )
    await uow.session.execute(
        update(ImprovementAction)
        .where(ImprovementAction.id.in_(ids), ImprovementAction.id % 3 == 0)
        .values(
            implementation_status=ImplementationStatus.IMPLEMENTED,
            implementation_date=date(2025, 3, 1),
            implementation_notes="Done as planned; see the evidence folder.",
            assignee_id=staff[0],
        )
    )
    await store_recomputed(uow, await uow.session.get_one(Assessment, assessment_id))


async def write(sessions: Any, owner: Principal, assessment_id: int, out: Any) -> None:
    """The assessment's actions export, written to ``out`` as the server writes it."""
    params = {"filter": ActionFilter(assessment_ids=[assessment_id]).to_json(), "order": "KEY"}
    async with sessions() as session:
        await EXPORT_KINDS["improvement-actions"].write(session, owner, params, out)


async def export(sessions: Any, owner: Principal, assessment_id: int) -> bytes:
    with tempfile.TemporaryFile() as out:
        await write(sessions, owner, assessment_id, out)
        out.seek(0)
        return out.read()


async def written(sessions: Any, owner: Principal, assessment_id: int) -> None:
    """The export to a file that is not read back, so the traced peak is the export's own."""
    with tempfile.TemporaryFile() as out:
        await write(sessions, owner, assessment_id, out)


def edited(data: bytes) -> bytes:
    """Every row's notes changed, and every third not-implemented action planned."""
    source = load_workbook(io.BytesIO(data), read_only=True)
    sheet = source.worksheets[0]
    rows = sheet.iter_rows(values_only=True)
    header = list(next(rows))
    notes = header.index("Implementation notes")
    status = header.index("Implementation status")
    target = new_workbook()
    out_sheet = target.create_sheet(sheet.title)
    out_sheet.append(header)
    for number, row in enumerate(rows):
        values = list(row)
        values[notes] = f"Reviewed in the bulk update, row {number}."
        if values[status] == "NOT_IMPLEMENTED" and number % 3 == 0:
            values[status] = "PLANNED"
        out_sheet.append(values)
    buffer = io.BytesIO()
    target.save(buffer)
    return buffer.getvalue()


async def import_file(sessions: Any, owner: Principal, data: bytes, dry_run: bool) -> Any:
    async with UnitOfWork(sessions) as uow:
        return await import_actions(uow, owner, io.BytesIO(data), dry_run=dry_run)


async def timed(work: Callable[[], Awaitable[T]]) -> tuple[T, float]:
    started = time.perf_counter()
    result = await work()
    return result, time.perf_counter() - started


async def traced(work: Callable[[], Awaitable[T]]) -> tuple[T, float]:
    """The result and the peak of Python allocations while it ran, in MiB."""
    tracemalloc.start()
    try:
        result = await work()
        return result, tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def line(
    backend: str, what: str, rows: int, seconds: float, peak: float | None, note: str = ""
) -> str:
    memory = f"{peak:>9.1f}" if peak is not None else f"{'-':>9}"
    return f"{backend:<10} {what:<16} {rows:>7,} {seconds:>8.2f} {memory}  {note}"


async def measure(rows: int, backend: str, url: str, folder: Path) -> str:
    engine, owner, assessments = await build(url, rows)
    sessions = session_factory(engine)
    out = []
    peaks = {}
    data = b""
    for count, assessment_id in sorted(assessments.items()):
        data, seconds = await timed(partial(export, sessions, owner, assessment_id))
        _, peaks[count] = await traced(partial(written, sessions, owner, assessment_id))
        out.append(line(backend, "export", count, seconds, peaks[count], f"{len(data):,} bytes"))
    small, large = sorted(peaks)
    ratio = peaks[large] / peaks[small]
    out.append(
        f"{backend:<10} export peak memory {large:,} rows / {small:,} rows = {ratio:.2f}"
        f"{' (flat)' if ratio < 1.5 else ' (GROWS)'}"
    )
    update_file = edited(data)
    report, seconds = await timed(lambda: import_file(sessions, owner, update_file, True))
    _, peak = await traced(lambda: import_file(sessions, owner, update_file, True))
    out.append(line(backend, "import dry run", rows, seconds, peak, _summary(report)))
    report, seconds = await timed(lambda: import_file(sessions, owner, update_file, False))
    out.append(line(backend, "import apply", rows, seconds, None, _summary(report)))
    await engine.dispose()
    return "\n".join(out)


def _summary(report: Any) -> str:
    state = "applied" if report.applied else "not applied"
    return f"{report.actions_changed:,} actions changed, {len(report.errors)} errors, {state}"


async def main(rows: int) -> None:
    print(f"spreadsheets: export {rows // 10:,} and {rows:,} actions; import a {rows:,}-row update")
    print(f"{'backend':<10} {'step':<16} {'rows':>7} {'seconds':>8} {'peak MiB':>9}  notes")
    await each_backend(lambda backend, url, folder: measure(rows, backend, url, folder))
    print("targets: export peak memory flat in the row count; a 10,000-row import well under 60 s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    asyncio.run(main(parser.parse_args().rows))
