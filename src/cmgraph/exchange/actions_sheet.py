"""The improvement actions spreadsheet: the list as a workbook, and the format bulk updates read.

One sheet, ``Improvement actions``, one row per action the caller may read, with the filter
and order of the ``improvementActions`` query. The columns (``COLUMNS``) are shared with the
importer (``exchange.action_import``): read-only columns describe the action, editable ones
(``EDITABLE``) are what an upload may change, and ``Version`` lets the import refuse rows
edited against stale data. Provider actions are listed like any other; the import refuses
changes to them.

Rows are read in keyset pages of ``PAGE`` actions, each page with one more statement for the
names of its assessments, so the statement count grows with pages, never per row, and
openpyxl's write-only mode keeps memory flat however long the list. The pages are read from
one snapshot (``exchange.rows.snapshot``), so a concurrent edit cannot move a row between
pages.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, BinaryIO

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from cmgraph import global_ids
from cmgraph.domain import keyset
from cmgraph.domain.action_filter import (
    ACTION_ORDER,
    ActionFilter,
    action_filter_clauses,
    action_order,
)
from cmgraph.domain.calendar import due_soon_days_query
from cmgraph.domain.errors import DomainError, ErrorCode
from cmgraph.domain.models import (
    ActionDefinition,
    ActionDefinitionVersion,
    Assessment,
    Control,
    ControlAction,
    Group,
    ImprovementAction,
    Regulation,
    Template,
    User,
)
from cmgraph.domain.permissions import Principal, readable_actions, readable_assessments
from cmgraph.exchange.downloads import XLSX, ExportKind
from cmgraph.exchange.xlsx import CellType, Column, SheetWriter, new_workbook

SHEET = "Improvement actions"
KIND = "improvement-actions"
PAGE = 1_000
NODE_TYPE = "ImprovementAction"

ACTION_ID = "Action ID"
KEY = "Key"
TITLE = "Title"
OWNER = "Owner"
IMPLEMENTATION_TYPE = "Implementation type"
CATEGORY = "Category"
SOLUTION = "Solution"
POINTS = "Points"
POINTS_EARNED = "Points earned"
ASSESSMENTS = "Assessments"
REGULATION = "Regulation"
GROUP = "Group"
ASSIGNED_TO = "Assigned to"
DUE_DATE = "Due date"
IMPLEMENTATION_STATUS = "Implementation status"
IMPLEMENTATION_DATE = "Implementation date"
IMPLEMENTATION_NOTES = "Implementation notes"
TEST_STATUS = "Test status"
TEST_DATE = "Test date"
TESTING_NOTES = "Testing notes"
ADDITIONAL_NOTES = "Additional notes"
TESTING_SOURCE = "Testing source"
PARENT_ACTION_ID = "Parent action ID"
VERSION = "Version"
UPDATED_AT = "Updated at"

COLUMNS: tuple[Column, ...] = (
    Column(ACTION_ID, 34),
    Column(KEY, 22),
    Column(TITLE, 48, CellType.LONG_TEXT),
    Column(OWNER, 12),
    Column(IMPLEMENTATION_TYPE, 18),
    Column(CATEGORY, 22),
    Column(SOLUTION, 20),
    Column(POINTS, 9, CellType.NUMBER),
    Column(POINTS_EARNED, 14, CellType.NUMBER),
    Column(ASSESSMENTS, 30, CellType.LONG_TEXT),
    Column(REGULATION, 26, CellType.LONG_TEXT),
    Column(GROUP, 18),
    Column(ASSIGNED_TO, 28),
    Column(DUE_DATE, 14, CellType.DATE),
    Column(IMPLEMENTATION_STATUS, 26),
    Column(IMPLEMENTATION_DATE, 20, CellType.DATE),
    Column(IMPLEMENTATION_NOTES, 40, CellType.LONG_TEXT),
    Column(TEST_STATUS, 22),
    Column(TEST_DATE, 14, CellType.DATE),
    Column(TESTING_NOTES, 40, CellType.LONG_TEXT),
    Column(ADDITIONAL_NOTES, 40, CellType.LONG_TEXT),
    Column(TESTING_SOURCE, 16),
    Column(PARENT_ACTION_ID, 34),
    Column(VERSION, 9, CellType.NUMBER),
    Column(UPDATED_AT, 20, CellType.DATETIME),
)
HEADERS = tuple(c.header for c in COLUMNS)

# Editable column -> the action attribute it edits (assignee and parent by id).
EDITABLE: dict[str, str] = {
    ASSIGNED_TO: "assignee_id",
    DUE_DATE: "due_date",
    IMPLEMENTATION_STATUS: "implementation_status",
    IMPLEMENTATION_DATE: "implementation_date",
    IMPLEMENTATION_NOTES: "implementation_notes",
    TEST_STATUS: "test_status",
    TEST_DATE: "test_date",
    TESTING_NOTES: "testing_notes",
    ADDITIONAL_NOTES: "additional_notes",
    TESTING_SOURCE: "testing_source",
    PARENT_ACTION_ID: "parent_id",
}
# Editable columns an upload may leave out (sheets exported before they existed): what is
# absent stays as it is.
OPTIONAL_EDITABLE = (DUE_DATE,)
READ_ONLY = tuple(h for h in HEADERS if h not in EDITABLE and h != ACTION_ID)


def action_global_id(action_id: int) -> str:
    """The action's id as the API shows it."""
    return global_ids.encode(NODE_TYPE, action_id)


def parse_action_global_id(value: str) -> int | None:
    """The database id behind an action's global id; None for anything else.

    Spreadsheet cells often carry stray spaces around a value; the id itself must be exact.
    """
    return global_ids.row_id_of(value.strip(), NODE_TYPE)


def _rows_select(
    principal: Principal, f: ActionFilter, due_soon_days: int | None = None
) -> Select[*tuple[Any, ...]]:
    a, d, v = ImprovementAction, ActionDefinition, ActionDefinitionVersion
    return (
        select(
            a.id,
            d.key,
            v.title,
            d.owner,
            d.implementation_type,
            v.category,
            v.solution,
            a.points,
            a.earned,
            Group.name.label("group_name"),
            User.email.label("assignee_email"),
            a.due_date,
            a.implementation_status,
            a.implementation_date,
            a.implementation_notes,
            a.test_status,
            a.test_date,
            a.testing_notes,
            a.additional_notes,
            a.testing_source,
            a.parent_id,
            a.version,
            a.updated_at,
            a.sort_key,
            a.sort_title,
            a.sort_category,
        )
        .select_from(a)
        .join(d, d.id == a.definition_id)
        .join(v, v.id == a.definition_version_id)
        .outerjoin(Group, Group.id == a.group_id)
        .outerjoin(User, User.id == a.assignee_id)
        .where(readable_actions(principal), *action_filter_clauses(f, due_soon_days))
    )


async def _assessment_names(
    session: AsyncSession, principal: Principal, action_ids: Sequence[int]
) -> dict[int, tuple[list[str], list[str]]]:
    """Names of the readable assessments holding each action and of their regulations,
    each sorted without repeats."""
    if not action_ids:
        return {}
    rows = await session.execute(
        select(ControlAction.action_id, Assessment.name, Regulation.name)
        .join(Control, Control.id == ControlAction.control_id)
        .join(Assessment, Assessment.id == Control.assessment_id)
        .join(Template, Template.id == Assessment.template_id)
        .join(Regulation, Regulation.id == Template.regulation_id)
        .where(ControlAction.action_id.in_(action_ids), readable_assessments(principal))
        .distinct()
    )
    names: dict[int, tuple[set[str], set[str]]] = {}
    for action_id, assessment, regulation in rows.all():
        assessments, regulations = names.setdefault(action_id, (set(), set()))
        assessments.add(assessment)
        regulations.add(regulation)
    return {
        a: (sorted(assessments, key=str.lower), sorted(regulations, key=str.lower))
        for a, (assessments, regulations) in names.items()
    }


def _values(row: Any, names: tuple[list[str], list[str]]) -> list[Any]:
    assessments, regulations = names
    return [
        action_global_id(row.id),
        row.key,
        row.title,
        row.owner,
        row.implementation_type,
        row.category,
        row.solution,
        row.points,
        row.earned,
        "; ".join(assessments),
        "; ".join(regulations),
        row.group_name,
        row.assignee_email,
        row.due_date,
        row.implementation_status,
        row.implementation_date,
        row.implementation_notes,
        row.test_status,
        row.test_date,
        row.testing_notes,
        row.additional_notes,
        row.testing_source,
        action_global_id(row.parent_id) if row.parent_id is not None else None,
        row.version,
        row.updated_at,
    ]


def _params(params: Mapping[str, Any]) -> tuple[ActionFilter, str, bool]:
    order = params.get("order", "KEY")
    if order not in ACTION_ORDER:
        raise DomainError(ErrorCode.INVALID, f"Unknown sort order {order!r}.", "orderBy")
    try:
        f = ActionFilter.from_json(dict(params.get("filter") or {}))
    except (ValueError, TypeError, KeyError) as exc:
        raise DomainError(ErrorCode.INVALID, f"Bad filter: {exc}.", "filter") from None
    return f, order, bool(params.get("descending", False))


async def write_actions(
    session: AsyncSession, principal: Principal, params: Mapping[str, Any], out: BinaryIO
) -> str:
    """Write the actions list (``params``: filter, order, descending) as xlsx into ``out``."""
    f, order, descending = _params(params)
    workbook = new_workbook()
    writer = SheetWriter(workbook, SHEET, COLUMNS)
    order_keys = keyset.keys(action_order(order, descending))
    days = await session.scalar(due_soon_days_query()) if f.needs_due_soon_days else None
    statement = _rows_select(principal, f, days).order_by(*(k.term() for k in order_keys))
    last: Any = None
    while True:
        # Every sort column is selected under its own name: the last row holds its place.
        place = None if last is None else [getattr(last, k.column.key) for k in order_keys]
        page = statement if place is None else statement.where(keyset.follows(order_keys, place))
        rows = (await session.execute(page.limit(PAGE))).all()
        names = await _assessment_names(session, principal, [r.id for r in rows])
        values = [_values(r, names.get(r.id, ([], []))) for r in rows]
        await asyncio.to_thread(writer.extend, values)
        last = rows[-1] if len(rows) == PAGE else None
        del rows, names, values  # one page in memory at a time
        if last is None:
            break
    await asyncio.to_thread(workbook.save, out)
    return f"{KIND}-{datetime.now(UTC).date().isoformat()}.xlsx"


IMPROVEMENT_ACTIONS = ExportKind(KIND, XLSX, write_actions)
