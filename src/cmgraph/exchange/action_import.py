"""Bulk update: an edited improvement actions export, read back and applied (DOMAIN.md 13).

The upload is the sheet ``exchange.actions_sheet`` writes. ``Action ID`` and every editable
column are required but ``Due date`` (a sheet exported before it existed leaves due dates as
they are); the read-only columns may be left out and are ignored, except
``Version``: a row that changes something while its version differs from the stored one was
edited against stale data and is refused with CONFLICT. Unknown columns are refused. A row
whose editable values equal the stored ones is unchanged and skipped, so the whole export
can be uploaded with a few rows edited. New actions cannot be created this way.

Every changed row goes through the same domain services as the API, with history source
``IMPORT``: ``assignment.assign_actions`` (``Assigned to``, by email), then
``workflow.change_action`` (statuses, dates, notes, due date) and
``testing_sources.set_testing_source`` (``Testing source``, ``Parent action ID``). The
switch of testing source comes first when the row leaves inheritance or automation for
``MANUAL`` (so the row's own edits are then allowed) and last otherwise (edit, then link to
a parent or hand over to automation).
Assignments email the assignee as the API does unless the caller opts out (``notify``).

Each row runs in a SAVEPOINT: a row the rules refuse is rolled back alone and the others are
still checked, so one pass reports every problem. A dry run, or an upload with any refused
row, is then discarded as a whole (no history, events, alerts or mail); otherwise it commits
as one transaction. Unknown or malformed ids, and actions the caller cannot read, are
UNKNOWN_ID alike, so an upload cannot probe for what exists.

The summary counts actions changed by their rows (actions following a parent move too, and
their assessments are in the score impact), lists the active assessments the caller can read
that hold a changed action or whose score moved, and gives the overall score over the
caller's readable active assessments before and after.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import IO, Any

from sqlalchemy import select

from cmgraph.adapters.db import UnitOfWork
from cmgraph.domain import assignment, testing_sources, workflow
from cmgraph.domain.compliance_score import overall_score
from cmgraph.domain.enums import (
    ChangeSource,
    ImplementationStatus,
    Owner,
    TestingSource,
    TestStatus,
)
from cmgraph.domain.errors import DomainError, ErrorCode
from cmgraph.domain.models import (
    ActionDefinition,
    Assessment,
    Control,
    ControlAction,
    HistoryEntry,
    ImprovementAction,
    User,
)
from cmgraph.domain.permissions import Principal, readable_actions, readable_assessments
from cmgraph.domain.scoring import ZERO, Score
from cmgraph.exchange import actions_sheet as cols
from cmgraph.exchange.reading import (
    CellError,
    ImportErrorCode,
    RowError,
    Table,
    WorkbookRejected,
    as_date,
    as_enum,
    as_int,
    as_text,
    cell,
    open_workbook,
    read_table,
    sheet,
)
from cmgraph.exchange.xlsx import MAX_CELL_TEXT, text

MAX_ROWS = 50_000
BATCH = 1_000  # ids per IN list
NOTES = ("implementation_notes", "testing_notes", "additional_notes")
SHEET = cols.SHEET

# Domain error fields (camelCase, as the API names them) -> the sheet's column.
_COLUMN_OF_FIELD = {
    "implementationStatus": cols.IMPLEMENTATION_STATUS,
    "implementationDate": cols.IMPLEMENTATION_DATE,
    "implementationNotes": cols.IMPLEMENTATION_NOTES,
    "testStatus": cols.TEST_STATUS,
    "testDate": cols.TEST_DATE,
    "testingNotes": cols.TESTING_NOTES,
    "additionalNotes": cols.ADDITIONAL_NOTES,
    "testingSource": cols.TESTING_SOURCE,
    "parentId": cols.PARENT_ACTION_ID,
    "assigneeId": cols.ASSIGNED_TO,
    "dueDate": cols.DUE_DATE,
    "version": cols.VERSION,
    "id": cols.ACTION_ID,
    "actionId": cols.ACTION_ID,
    "actionIds": cols.ACTION_ID,
}
_COLUMN_OF_ATTRIBUTE = {attribute: column for column, attribute in cols.EDITABLE.items()}
_POSITION = {header: position for position, header in enumerate(cols.HEADERS)}


@dataclass(frozen=True)
class AssessmentImpact:
    assessment_id: int
    name: str
    before: Score
    after: Score

    @property
    def delta(self) -> float:
        return self.after.earned - self.before.earned


@dataclass(frozen=True)
class ActionImport:
    """What an upload did (``applied``) or would do, and every problem found."""

    errors: list[RowError]
    applied: bool
    rows_read: int = 0
    actions_changed: int = 0
    assessments: list[AssessmentImpact] = field(default_factory=list)
    overall_before: Score = ZERO
    overall_after: Score = ZERO
    file_rejected: bool = False  # the workbook as a whole could not be read

    @property
    def overall_delta(self) -> float:
        return self.overall_after.earned - self.overall_before.earned


@dataclass
class _Row:
    """One data row as read: parsed editable values by attribute, and its cell problems."""

    number: int
    action_id: int | None
    values: dict[str, Any]
    version: int | None
    errors: list[RowError]
    assignee_email: str | None = None


@dataclass(frozen=True)
class _Edit:
    number: int
    action_id: int
    changes: dict[str, Any]  # attribute -> new value, only what differs from the stored row
    parent_cell: int | None  # the row's parent, changed or not
    stored_source: TestingSource
    assignee_email: str | None


async def import_actions(
    uow: UnitOfWork,
    actor: Principal,
    handle: IO[bytes],
    *,
    dry_run: bool,
    notify: bool = True,
    today: date | None = None,
) -> ActionImport:
    """Check every row of an uploaded actions sheet; apply them all unless a dry run or refused."""
    try:
        rows = await asyncio.to_thread(_read, handle)
    except WorkbookRejected as rejected:
        return ActionImport(errors=list(rejected.errors), applied=False, file_rejected=True)
    run = _Run(uow, actor, rows, dry_run=dry_run, notify=notify, today=today)
    result = await run.check(savepoints=False)
    if result is None:
        # A row was refused: start again with a savepoint per row, so that every refused row
        # is rolled back alone and reported while the others are still checked.
        await uow.discard()
        result = await run.check(savepoints=True)
        assert result is not None
    if result.applied:
        uow.refresh_statistics(ImprovementAction.__tablename__, HistoryEntry.__tablename__)
    else:
        await uow.discard()
    return result


@dataclass
class _Run:
    uow: UnitOfWork
    actor: Principal
    rows: list[_Row]
    dry_run: bool
    notify: bool
    today: date | None

    async def check(self, *, savepoints: bool) -> ActionImport | None:
        """Apply every changed row; without savepoints, give up (None) at the first refusal."""
        uow, actor = self.uow, self.actor
        errors = [e for r in self.rows for e in r.errors]
        edits, refused, loaded = await _edits(uow, actor, self.rows)
        errors += refused
        readable_before = await _assessment_scores(uow, actor)
        overall_before = await overall_score(uow.session.execute, actor)
        changed: list[int] = []
        for edit in edits:
            try:
                if savepoints:
                    async with uow.session.begin_nested():
                        await _apply(uow, actor, edit, notify=self.notify, today=self.today)
                else:
                    await _apply(uow, actor, edit, notify=self.notify, today=self.today)
            except _RowRefused as refused_row:
                if not savepoints:
                    return None
                errors.append(refused_row.error)
                continue
            changed.append(edit.action_id)
        del loaded  # referenced until every row ran
        errors.sort(key=lambda e: (e.row, _POSITION.get(e.column or "", -1)))
        readable_after = await _assessment_scores(uow, actor)
        impact = await _impact(uow, actor, changed, readable_before, readable_after)
        return ActionImport(
            errors=errors,
            applied=not self.dry_run and not errors,
            rows_read=len(self.rows),
            actions_changed=len(changed),
            assessments=impact,
            overall_before=overall_before,
            overall_after=await overall_score(uow.session.execute, actor),
        )


# -- reading the workbook ------------------------------------------------------------------------


def _read(handle: IO[bytes]) -> list[_Row]:
    """Parse every data row (blocking: run it in a thread); whole-file problems raise."""
    workbook = open_workbook(handle)
    try:
        try:
            worksheet = sheet(workbook, SHEET)
        except WorkbookRejected:
            if len(workbook.worksheets) != 1:
                raise
            worksheet = workbook.worksheets[0]  # a renamed only sheet is still the export
        worksheet.reset_dimensions()  # some programs write a wrong used range; read it all
        table = read_table(
            worksheet,
            SHEET,
            required=(
                cols.ACTION_ID,
                *(c for c in cols.EDITABLE if c not in cols.OPTIONAL_EDITABLE),
            ),
            optional=(*cols.OPTIONAL_EDITABLE, *cols.READ_ONLY),
        )
        rows: list[_Row] = []
        for number, cells in table.rows:
            if len(rows) == MAX_ROWS:
                raise WorkbookRejected(
                    [
                        RowError(
                            SHEET,
                            0,
                            None,
                            ImportErrorCode.TOO_MANY_ROWS,
                            f"At most {MAX_ROWS:,} rows at once; split the workbook.",
                        )
                    ]
                )
            rows.append(_parse(table, number, cells))
        return rows
    finally:
        workbook.close()


def _parse(table: Table, number: int, cells: tuple[Any, ...]) -> _Row:
    row = _Row(number, None, {}, None, [])

    def read(column: str, parse: Any) -> Any:
        try:
            return parse(cell(table, cells, column))
        except CellError as error:
            row.errors.append(RowError(SHEET, number, column, error.code, error.message))
            return None

    raw_id = cell(table, cells, cols.ACTION_ID)
    if raw_id is None:
        row.errors.append(_error(number, cols.ACTION_ID, ImportErrorCode.REQUIRED, _NO_ID))
    else:
        row.action_id = cols.parse_action_global_id(str(raw_id))
        if row.action_id is None:
            row.errors.append(_unknown_action(number, raw_id))
    email = cell(table, cells, cols.ASSIGNED_TO)
    row.assignee_email = str(email).strip().lower() if email is not None else None
    for column, attribute, enum in (
        (cols.IMPLEMENTATION_STATUS, "implementation_status", ImplementationStatus),
        (cols.TEST_STATUS, "test_status", TestStatus),
        (cols.TESTING_SOURCE, "testing_source", TestingSource),
    ):
        value = read(column, lambda v, e=enum: as_enum(v, e))
        if value is None and not any(e.column == column for e in row.errors):
            row.errors.append(
                _error(number, column, ImportErrorCode.REQUIRED, f"`{column}` may not be empty.")
            )
        row.values[attribute] = value
    for column, attribute in (
        (cols.DUE_DATE, "due_date"),
        (cols.IMPLEMENTATION_DATE, "implementation_date"),
        (cols.TEST_DATE, "test_date"),
    ):
        if column in table.index or column not in cols.OPTIONAL_EDITABLE:
            row.values[attribute] = read(column, lambda v: as_date(v, table.epoch))
    for attribute in NOTES:
        row.values[attribute] = read(_COLUMN_OF_ATTRIBUTE[attribute], as_text)
    parent = cell(table, cells, cols.PARENT_ACTION_ID)
    row.values["parent_id"] = None
    if parent is not None:
        row.values["parent_id"] = cols.parse_action_global_id(str(parent))
        if row.values["parent_id"] is None:
            row.errors.append(
                _error(
                    number,
                    cols.PARENT_ACTION_ID,
                    ImportErrorCode.UNKNOWN_ID,
                    f"`{parent}` is not the id of an improvement action you can read.",
                )
            )
    row.version = read(cols.VERSION, as_int)
    return row


_NO_ASSIGNEE = "No user `{}` who can be assigned this action."
_NO_ID = "Every row needs the action's id; new actions cannot be created by import."


def _error(row: int, column: str | None, code: ImportErrorCode, message: str) -> RowError:
    return RowError(SHEET, row, column, code, message)


def _unknown_action(row: int, value: Any) -> RowError:
    return _error(
        row,
        cols.ACTION_ID,
        ImportErrorCode.UNKNOWN_ID,
        f"`{value}` is not the id of an improvement action you can read.",
    )


# -- comparing with the stored actions ----------------------------------------------------------


def _batches(values: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), BATCH):
        yield values[start : start + BATCH]


async def _stored(
    uow: UnitOfWork, actor: Principal, ids: Sequence[int]
) -> tuple[dict[int, Any], list[Any]]:
    """The readable actions among ``ids``, locked for this transaction, as plain rows; and
    the actions and their definitions as entities, loaded once so that the services find
    them in the session instead of reading them row by row."""
    a = ImprovementAction
    found: dict[int, Any] = {}
    for batch in _batches(ids):
        rows = await uow.session.execute(
            select(
                a.id,
                ActionDefinition.owner,
                a.version,
                *(getattr(a, attribute) for attribute in cols.EDITABLE.values()),
            )
            .join(ActionDefinition, ActionDefinition.id == a.definition_id)
            .where(a.id.in_(batch), readable_actions(actor))
            .with_for_update(of=a)
        )
        found.update((row.id, row) for row in rows.all())
    loaded: list[Any] = []
    for batch in _batches(sorted(found)):
        loaded += await uow.session.scalars(select(a).where(a.id.in_(batch)))
        loaded += await uow.session.scalars(
            select(ActionDefinition)
            .join(a, a.definition_id == ActionDefinition.id)
            .where(a.id.in_(batch))
            .distinct()
        )
    return found, loaded


async def _users(uow: UnitOfWork, emails: Sequence[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for batch in _batches(emails):
        rows = await uow.session.execute(select(User.email, User.id).where(User.email.in_(batch)))
        found.update((email, user_id) for email, user_id in rows.all())
    return found


def _same(attribute: str, stored: Any, new: Any) -> bool:
    if attribute in NOTES:
        # The export wrote the notes as a cell can hold them (clipped, control characters
        # dropped), spreadsheet programs may change line endings, and reading trims them:
        # an untouched cell must not rewrite the notes.
        return _lines(new) == _lines(text(stored or "").strip())
    return bool(stored == new)


def _lines(note: str) -> str:
    return note.replace("\r\n", "\n").replace("\r", "\n")


async def _edits(
    uow: UnitOfWork, actor: Principal, rows: Sequence[_Row]
) -> tuple[list[_Edit], list[RowError], list[Any]]:
    """The rows that change something, checked against the stored actions.

    Also returns what to keep referenced while the rows are applied (the session holds
    loaded entities only weakly).
    """
    ids = sorted({r.action_id for r in rows if r.action_id is not None})
    stored, definitions = await _stored(uow, actor, ids)
    emails = sorted({r.assignee_email for r in rows if r.assignee_email})
    users = await _users(uow, emails)
    edits: list[_Edit] = []
    errors: list[RowError] = []
    first_row: dict[int, int] = {}
    for row in rows:
        if row.action_id is None:
            continue
        if row.action_id in first_row:
            errors.append(
                _error(
                    row.number,
                    cols.ACTION_ID,
                    ImportErrorCode.DUPLICATE_ROW,
                    f"The action is on row {first_row[row.action_id]} already.",
                )
            )
            continue
        first_row[row.action_id] = row.number
        current = stored.get(row.action_id)
        if current is None:
            errors.append(_unknown_action(row.number, cols.action_global_id(row.action_id)))
            continue
        values = dict(row.values)
        if row.assignee_email is None:
            values["assignee_id"] = None
        elif row.assignee_email in users:
            values["assignee_id"] = users[row.assignee_email]
        else:
            errors.append(
                _error(
                    row.number,
                    cols.ASSIGNED_TO,
                    ImportErrorCode.UNKNOWN_ID,
                    _NO_ASSIGNEE.format(row.assignee_email),
                )
            )
            continue
        if row.errors:
            continue
        changes = {
            attribute: values[attribute]
            for attribute in cols.EDITABLE.values()
            if attribute in values
            and not _same(attribute, getattr(current, attribute), values[attribute])
        }
        if not changes:
            continue
        clipped = [a for a in NOTES if a in changes and len(getattr(current, a)) > MAX_CELL_TEXT]
        if clipped:
            errors.append(
                _error(
                    row.number,
                    _COLUMN_OF_ATTRIBUTE[clipped[0]],
                    ImportErrorCode.INVALID,
                    f"This note is longer than a spreadsheet cell holds ({MAX_CELL_TEXT:,} "
                    "characters), so the sheet shows it cut short; edit it through the API.",
                )
            )
            continue
        first_column = _COLUMN_OF_ATTRIBUTE[next(iter(changes))]
        if current.owner is Owner.PROVIDER:
            errors.append(
                _error(
                    row.number,
                    first_column,
                    ImportErrorCode.READ_ONLY,
                    "Provider actions are read-only (their results come from the template or "
                    "recordProviderResult); leave their rows as exported.",
                )
            )
            continue
        if row.version is not None and row.version != current.version:
            errors.append(
                _error(
                    row.number,
                    cols.VERSION,
                    ImportErrorCode.CONFLICT,
                    f"The action changed since this sheet was exported (version "
                    f"{current.version}, the sheet has {row.version}); export it again.",
                )
            )
            continue
        edits.append(
            _Edit(
                row.number,
                row.action_id,
                changes,
                values["parent_id"],
                current.testing_source,
                row.assignee_email,
            )
        )
    return edits, errors, definitions


# -- applying one row ---------------------------------------------------------------------------


class _RowRefused(Exception):
    def __init__(self, error: RowError) -> None:
        super().__init__(error.message)
        self.error = error


async def _apply(
    uow: UnitOfWork, actor: Principal, edit: _Edit, *, notify: bool, today: date | None
) -> None:
    changes = edit.changes

    async def step(attributes: Iterable[str], work: Any) -> None:
        default = _COLUMN_OF_ATTRIBUTE[next(iter(attributes))]
        try:
            await work
        except DomainError as error:
            column = _COLUMN_OF_FIELD.get(error.field or "", default)
            hidden = error.code in (
                ErrorCode.NOT_FOUND,
                ErrorCode.INVALID,
                ErrorCode.ASSIGNEE_CANNOT_READ,
            )
            if column == cols.ASSIGNED_TO and hidden:
                # An existing user who may not read the action reads like a missing one, so
                # that an upload cannot tell which emails have accounts.
                message = _NO_ASSIGNEE.format(edit.assignee_email)
                refused = _error(edit.number, column, ImportErrorCode.UNKNOWN_ID, message)
            elif error.code is ErrorCode.NOT_FOUND:  # a parent out of reach: same as absent
                refused = _error(edit.number, column, ImportErrorCode.UNKNOWN_ID, error.message)
            else:
                refused = RowError.of(SHEET, edit.number, error, column)
            raise _RowRefused(refused) from None

    if "assignee_id" in changes:
        await step(
            ["assignee_id"],
            assignment.assign_actions(
                uow,
                actor,
                [edit.action_id],
                changes["assignee_id"],
                notify=notify,
                source=ChangeSource.IMPORT,
            ),
        )
    fields = {name: changes[name] for name in workflow.EDITABLE_FIELDS if name in changes}
    switch = [name for name in ("testing_source", "parent_id") if name in changes]
    # A changed parent alone keeps the stored source (relinking, or refused without PARENT).
    target = changes.get("testing_source", edit.stored_source)
    parent = edit.parent_cell if target is TestingSource.PARENT else changes.get("parent_id")

    async def set_source() -> None:
        await step(
            switch,
            testing_sources.set_testing_source(
                uow,
                actor,
                edit.action_id,
                target,
                parent_id=parent,
                today=today,
                source=ChangeSource.IMPORT,
            ),
        )

    switch_first = switch and target is TestingSource.MANUAL
    if switch_first:
        await set_source()
    if fields:
        await step(
            fields,
            workflow.change_action(
                uow, actor, edit.action_id, fields, source=ChangeSource.IMPORT, today=today
            ),
        )
    if switch and not switch_first:
        await set_source()


# -- the summary ----------------------------------------------------------------------------------


def _live_readable(actor: Principal) -> Any:
    return Assessment.archived_at.is_(None) & readable_assessments(actor)


async def _assessment_scores(uow: UnitOfWork, actor: Principal) -> dict[int, Score]:
    rows = await uow.session.execute(
        select(Assessment.id, Assessment.earned, Assessment.possible).where(_live_readable(actor))
    )
    return {i: Score(float(e), int(p)) for i, e, p in rows.all()}


async def _impact(
    uow: UnitOfWork,
    actor: Principal,
    changed: Sequence[int],
    before: dict[int, Score],
    after: dict[int, Score],
) -> list[AssessmentImpact]:
    """Readable active assessments holding a changed action, or whose score moved."""
    ids = {a for a in after if before.get(a) != after[a]}
    for batch in _batches(sorted(changed)):
        ids.update(
            await uow.session.scalars(
                select(Control.assessment_id)
                .join(ControlAction, ControlAction.control_id == Control.id)
                .join(Assessment, Assessment.id == Control.assessment_id)
                .where(ControlAction.action_id.in_(batch), _live_readable(actor))
                .distinct()
            )
        )
    if not ids:
        return []
    names = dict(
        (
            await uow.session.execute(
                select(Assessment.id, Assessment.name).where(Assessment.id.in_(sorted(ids)))
            )
        ).all()
    )
    return sorted(
        (
            AssessmentImpact(a, names[a], before.get(a, ZERO), after.get(a, ZERO))
            for a in ids
            if a in names
        ),
        key=lambda impact: impact.name.lower(),
    )
