"""A realistic assessment for the nested report: an OSCAL baseline with varied action states.

Shared by ``tests/test_query_counts.py`` and ``bench/nested_report.py``. Everything is built
through the domain services, as a user of the API would build it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from cmgraph.adapters.db import UnitOfWork
from cmgraph.domain.assessments import NewAssessment, create_assessment
from cmgraph.domain.assignment import MAX_ACTIONS_PER_ASSIGNMENT, assign_actions
from cmgraph.domain.enums import ImplementationStatus, TestStatus
from cmgraph.domain.evidence import add_evidence_link
from cmgraph.domain.models import ActionDefinition, Control, ControlAction, ImprovementAction
from cmgraph.domain.permissions import Principal
from cmgraph.domain.workflow import change_action
from cmgraph.exchange.oscal_catalog import import_catalog

FIRST_DAY = date(2025, 3, 3)

# The full nested report: every control, action and evidence item of one assessment.
REPORT_QUERY = """
query Report($groups: [ID!]) {
  assessments(first: 1, filter: {groupIds: $groups}) {
    nodes {
      id name score { earned possible percent } status progress
      group { name }
      template { title regulation { name } }
      controls {
        id key family title description status score { earned possible percent }
        actions {
          id key title implementationType enforcement purpose points
          implementationStatus implementationDate testStatus testDate
          implementationNotes testingNotes
          score { earned possible percent }
          assignee { name }
          evidence { id kind name url uploadedAt uploadedBy { name } }
        }
      }
    }
  }
}
"""


def action_changes(index: int) -> dict[str, Any] | None:
    """The deterministic state of the ``index``-th action; None leaves it untouched.

    Of every six actions: two implemented and passed, one implemented and failed, one
    planned, one out of scope and one untouched. Dates are in the past.
    """
    implemented = FIRST_DAY + timedelta(days=index % 200)
    tested = implemented + timedelta(days=7)
    match index % 6:
        case 0 | 1:
            return {
                "implementation_status": ImplementationStatus.IMPLEMENTED,
                "implementation_date": implemented,
                "implementation_notes": f"Implemented in change {1000 + index}.",
                "test_status": TestStatus.PASSED,
                "test_date": tested,
                "testing_notes": "Verified against the assessment objective.",
            }
        case 2:
            return {
                "implementation_status": ImplementationStatus.IMPLEMENTED,
                "implementation_date": implemented,
                "test_status": TestStatus.FAILED_MEDIUM_RISK,
                "test_date": tested,
                "testing_notes": "Two findings remain open.",
            }
        case 3:
            return {
                "implementation_status": ImplementationStatus.PLANNED,
                "implementation_notes": "Scheduled for the next quarter.",
            }
        case 4:
            return {"implementation_status": ImplementationStatus.OUT_OF_SCOPE}
        case _:
            return None


def evidence_links(index: int, key: str) -> list[tuple[str, str]]:
    """One or two (name, https URL) links for the ``index``-th action (two for every third)."""
    path = key.replace(":", "/")
    count = 2 if index % 3 == 0 else 1
    return [
        (f"Evidence {n} for {key}", f"https://evidence.example.test/{path}/{n}")
        for n in range(1, count + 1)
    ]


async def build_report_assessment(
    sessions: async_sessionmaker[AsyncSession],
    owner: Principal,
    catalog: Path | str,
    *,
    name: str,
    group: str,
    states_every: int = 1,
    evidence_every: int = 1,
) -> int:
    """Import ``catalog``, create assessment ``name`` in new group ``group``, fill it in.

    Actions are visited in control order (then action key). Every ``states_every``-th gets
    the next state of ``action_changes`` and every ``evidence_every``-th the next links of
    ``evidence_links`` (1, the default, for all: the benchmark's full data; larger values
    make cheaper data with the same variety, for tests). Every other action is assigned to
    ``owner``. Returns the assessment id.
    """
    async with UnitOfWork(sessions) as uow:
        imported = await import_catalog(uow, catalog)
        assessment = await create_assessment(
            uow, owner, NewAssessment(imported.template.id, name, new_group_name=group)
        )
        assessment_id = assessment.id
    async with UnitOfWork(sessions) as uow:
        rows = (
            await uow.session.execute(
                select(ImprovementAction.id, ActionDefinition.key)
                .join(ControlAction, ControlAction.action_id == ImprovementAction.id)
                .join(Control, Control.id == ControlAction.control_id)
                .join(ActionDefinition, ActionDefinition.id == ImprovementAction.definition_id)
                .where(Control.assessment_id == assessment_id)
                .order_by(Control.sort_order, ActionDefinition.key)
            )
        ).all()
        keys = {action_id: key for action_id, key in rows}  # in order of first appearance
        today = date.today()
        for index, (action_id, key) in enumerate(keys.items()):
            if index % states_every == 0:
                changes = action_changes(index // states_every)
                if changes is not None:
                    await change_action(uow, owner, action_id, changes, today=today)
            if index % evidence_every == 0:
                for link_name, url in evidence_links(index // evidence_every, key):
                    await add_evidence_link(uow, owner, action_id, link_name, url)
        assigned = list(keys)[::2]
        for start in range(0, len(assigned), MAX_ACTIONS_PER_ASSIGNMENT):
            chunk = assigned[start : start + MAX_ACTIONS_PER_ASSIGNMENT]
            await assign_actions(uow, owner, chunk, owner.user_id, notify=False)
    return assessment_id


@contextmanager
def count_statements(engine: AsyncEngine) -> Iterator[list[str]]:
    """Collect the SQL statements ``engine`` sends to the database inside the block."""
    statements: list[str] = []

    def record(
        conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool
    ) -> None:
        statements.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)
