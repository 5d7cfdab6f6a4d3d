"""Template workbooks: a template as four sheets people can edit, read back as a new version.

The format (DOMAIN.md section 13), one workbook per template:

``Template``  one data row. Columns ``Title``, ``Product``, ``Certification`` (required
    columns; only the title must have a value) and optional ``Services``, ``Regulation``,
    ``Description``, ``Key`` (at most 100 characters). The template key is the ``Key`` cell,
    else a slug of the title (the rule the OSCAL importer uses), so importing a workbook
    whose title names an existing template publishes a new version of it. Regulation: the
    ``Regulation`` cell, else the certification, else the title. ``Services`` is kept as
    written (free text, e.g. the product services the template covers).
``ControlFamily``  one row per control, in template order: ``Control name`` (the control's
    key, unique), ``Family``, ``Title``, ``Description`` and ``Action titles`` (titles from
    ``Actions`` joined by ``;;``; a control may have none).
``Actions``  one row per action: ``Title`` (unique, without ``;;``), ``Implementation
    type``, ``Points`` (1-99; blank means the default table), ``Description title``,
    ``Description``, and the optional dimension columns ``Action purpose`` (default
    PREVENTATIVE), ``Enforcement`` (MANDATORY), ``Owner`` (CUSTOMER or PROVIDER; CUSTOMER),
    ``Category``, ``Solution``, ``Testing logic`` (all blank), ``Automatic testing`` (yes/no;
    no), and ``Key``. Guidance is the description, after the description title and a blank
    line when one is given. The action key is the ``Key`` cell, else ``<template key>:<slug
    of the title>``, so a re-import with an edited description updates the same definition
    (a pending update on its instances) while a changed title without a key makes a new
    action. An existing action keeps its implementation type and owner. Every action must be
    used by a control. Optional too: ``Retest every (days)`` (the default re-testing cadence,
    1-3660, blank for none) and, for provider actions only, the provider's attested result
    (DOMAIN.md section 14): ``Provider implementation status``, ``Provider implementation
    date``, ``Provider implementation notes``, ``Provider test status`` (blank: NONE),
    ``Provider test date`` and ``Provider testing notes``. A row with any of them filled
    states a whole result (the implementation status is then required; blank dates and notes
    are none), checked by the rules of any change (no test passed while not implemented, no
    date in the future). A changed statement publishes a new definition version, which
    provider instances take at once, with that result (``domain.provider_results``).
``Dimensions``  optional; rows of ``Dimension`` (``Action purpose``, ``Enforcement``,
    ``Owner``, ``Category`` or ``Solution``) and ``Value``. A dimension listed there restricts
    the values ``Actions`` may name in that column; blank cells are not checked.

Export writes the same sheets for a template's latest version, with ``Key`` columns filled,
the ``Regulation`` named, points only where the template set custom ones, and the dimension
values in use; importing that workbook again changes nothing. Enumerations are written as
their values (``TECHNICAL``); on import any case and spacing is accepted.

Every problem is reported with its sheet, row, column and code, all at once, and nothing is
stored unless there are none. A sheet may hold at most ``MAX_ROWS`` data rows.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import Enum
from pathlib import PurePath
from typing import IO, Any, BinaryIO, TypeVar

from openpyxl.workbook.workbook import Workbook
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cmgraph.adapters.db import UnitOfWork
from cmgraph.domain.calendar import check_retest_interval
from cmgraph.domain.enums import (
    Enforcement,
    ImplementationStatus,
    ImplementationType,
    OrgRole,
    Owner,
    Purpose,
    TestStatus,
)
from cmgraph.domain.errors import DomainError, ErrorCode, not_found
from cmgraph.domain.models import (
    ActionDefinition,
    ActionDefinitionVersion,
    Regulation,
    Template,
    TemplateControl,
    TemplateControlAction,
    TemplateVersion,
)
from cmgraph.domain.permissions import Principal, readable_templates, require_org_role
from cmgraph.domain.provider_results import ProviderResult, check_statement
from cmgraph.domain.templates import (
    ActionSpec,
    ControlSpec,
    TemplateImport,
    TemplateSpec,
    import_template,
)
from cmgraph.exchange.downloads import XLSX, ExportKind
from cmgraph.exchange.names import slug
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
    clean_header,
    open_workbook,
    read_table,
    sheet,
)
from cmgraph.exchange.xlsx import CellType, Column, SheetWriter, new_workbook

E = TypeVar("E", bound=Enum)

TEMPLATE_SHEET = "Template"
CONTROLS_SHEET = "ControlFamily"
ACTIONS_SHEET = "Actions"
DIMENSIONS_SHEET = "Dimensions"
_SHEET_ORDER = {
    name: i
    for i, name in enumerate(("", TEMPLATE_SHEET, CONTROLS_SHEET, ACTIONS_SHEET, DIMENSIONS_SHEET))
}

MAX_ROWS = 10_000
SEPARATOR = ";;"

# Column sizes of the template tables (see domain.models); longer values are refused.
_KEY_LIMIT = 200
_TEMPLATE_KEY_LIMIT = 100  # leaves room for the action keys derived from it
_CONTROL_KEY_LIMIT = 100
_NAME_LIMIT = 300
_TITLE_LIMIT = 500
_SHORT_LIMIT = 200
_SOURCE_LIMIT = 300

_PURPOSE = "Action purpose"
_ENFORCEMENT = "Enforcement"
_OWNER = "Owner"
_CATEGORY = "Category"
_SOLUTION = "Solution"
# Dimension name -> its enumeration, or None for free text.
_DIMENSIONS: dict[str, type[Enum] | None] = {
    _PURPOSE: Purpose,
    _ENFORCEMENT: Enforcement,
    _OWNER: Owner,
    _CATEGORY: None,
    _SOLUTION: None,
}

_TEMPLATE_COLUMNS = (
    Column("Title", 40),
    Column("Product", 24),
    Column("Certification", 18),
    Column("Services", 24),
    Column("Regulation", 32),
    Column("Description", 60, CellType.LONG_TEXT),
    Column("Key", 32),
)
_CONTROL_COLUMNS = (
    Column("Control name", 16),
    Column("Family", 28),
    Column("Title", 40),
    Column("Description", 60, CellType.LONG_TEXT),
    Column("Action titles", 60, CellType.LONG_TEXT),
)
_ACTION_COLUMNS = (
    Column("Title", 48),
    Column("Implementation type", 20),
    Column("Points", 8, CellType.NUMBER),
    Column("Description title", 24),
    Column("Description", 60, CellType.LONG_TEXT),
    Column(_PURPOSE, 16),
    Column(_ENFORCEMENT, 16),
    Column(_OWNER, 12),
    Column(_CATEGORY, 24),
    Column(_SOLUTION, 24),
    Column("Testing logic", 48, CellType.LONG_TEXT),
    Column("Automatic testing", 10),
    Column("Key", 32),
)
_DIMENSION_COLUMNS = (Column("Dimension", 20), Column("Value", 32))

_RETEST = "Retest every (days)"
# The provider's attested result (DOMAIN.md section 14), column -> ``ProviderResult`` field.
_PROVIDER_COLUMNS = {
    "Provider implementation status": "implementation_status",
    "Provider implementation date": "implementation_date",
    "Provider implementation notes": "implementation_notes",
    "Provider test status": "test_status",
    "Provider test date": "test_date",
    "Provider testing notes": "testing_notes",
}
_PROVIDER_COLUMN_OF = {f: c for c, f in _PROVIDER_COLUMNS.items()}
_EXTRA_ACTION_COLUMNS = (
    Column(_RETEST, 10, CellType.NUMBER),
    Column("Provider implementation status", 20),
    Column("Provider implementation date", 14, CellType.DATE),
    Column("Provider implementation notes", 40, CellType.LONG_TEXT),
    Column("Provider test status", 18),
    Column("Provider test date", 14, CellType.DATE),
    Column("Provider testing notes", 40, CellType.LONG_TEXT),
)

_YES = frozenset({"yes", "y", "true", "1"})
_NO = frozenset({"no", "n", "false", "0"})


# --- reading ----------------------------------------------------------------------------------


class _Row:
    """One data row; every unreadable cell becomes a ``RowError`` and a harmless value."""

    def __init__(self, table: Table, number: int, cells: tuple[Any, ...], errors: list[RowError]):
        self.table = table
        self.number = number
        self.cells = cells
        self.errors = errors

    def error(self, column: str | None, code: ImportErrorCode, message: str) -> None:
        self.errors.append(RowError(self.table.name, self.number, column, code, message))

    def text(self, column: str, *, limit: int, required: bool = False) -> str:
        """A short text, trimmed."""
        value = as_text(cell(self.table, self.cells, column)).strip()
        if required and not value:
            self.error(column, ImportErrorCode.REQUIRED, f"`{column}` needs a value.")
        elif len(value) > limit:
            self.error(
                column,
                ImportErrorCode.INVALID,
                f"`{column}` may have at most {limit} characters, this has {len(value)}.",
            )
        return value

    def long_text(self, column: str) -> str:
        """Free text kept exactly as written (a blank cell is empty)."""
        position = self.table.index.get(column)
        if position is None or position >= len(self.cells):
            return ""
        value = self.cells[position]
        if isinstance(value, str):
            return value if value.strip() else ""
        return as_text(value)

    def enum(self, column: str, enum: type[E]) -> E | None:
        """A required enumeration value (None, with the problem recorded, when unreadable)."""
        try:
            value = as_enum(cell(self.table, self.cells, column), enum)
        except CellError as exc:
            self.error(column, exc.code, exc.message)
            return None
        if value is None:
            self.error(column, ImportErrorCode.REQUIRED, f"`{column}` needs a value.")
        return value

    def choice(self, column: str, enum: type[E], default: E) -> E:
        """An optional enumeration value; blank or absent is ``default``."""
        try:
            value = as_enum(cell(self.table, self.cells, column), enum)
        except CellError as exc:
            self.error(column, exc.code, exc.message)
            return default
        return default if value is None else value

    def points(self, column: str) -> int | None:
        try:
            value = as_int(cell(self.table, self.cells, column))
        except CellError as exc:
            self.error(column, exc.code, exc.message)
            return None
        if value is not None and not 1 <= value <= 99:
            self.error(
                column,
                ImportErrorCode.INVALID,
                f"Points must be 1-99 (or blank for the default table), not {value}.",
            )
            return None
        return value

    def retest_interval(self, column: str) -> int | None:
        try:
            value = as_int(cell(self.table, self.cells, column))
        except CellError as exc:
            self.error(column, exc.code, exc.message)
            return None
        try:
            check_retest_interval(value, column)
        except DomainError as exc:
            self.error(column, ImportErrorCode(exc.code.value), exc.message)
            return None
        return value

    def day(self, column: str) -> date | None:
        try:
            return as_date(cell(self.table, self.cells, column), self.table.epoch)
        except CellError as exc:
            self.error(column, exc.code, exc.message)
            return None

    def flag(self, column: str) -> bool:
        value = cell(self.table, self.cells, column)
        if value is None or isinstance(value, bool):
            return bool(value)
        word = as_text(value).strip().lower()
        if word in _YES or word in _NO:
            return word in _YES
        self.error(column, ImportErrorCode.UNKNOWN_VALUE, f"`{value}` is not yes or no.")
        return False


def _rows(table: Table, errors: list[RowError]) -> Iterator[_Row]:
    """The data rows of a sheet, up to ``MAX_ROWS`` (more is one TOO_MANY_ROWS error)."""
    for count, (number, cells) in enumerate(table.rows, start=1):
        if count > MAX_ROWS:
            errors.append(
                RowError(
                    table.name,
                    number,
                    None,
                    ImportErrorCode.TOO_MANY_ROWS,
                    f"A sheet may hold at most {MAX_ROWS} rows; this one has more.",
                )
            )
            return
        yield _Row(table, number, cells, errors)


def _cut_off(table: Table, errors: list[RowError]) -> bool:
    return any(e.sheet == table.name and e.code is ImportErrorCode.TOO_MANY_ROWS for e in errors)


def _table(
    workbook: Workbook,
    name: str,
    errors: list[RowError],
    required: tuple[str, ...],
    optional: tuple[str, ...] = (),
) -> Table | None:
    """A sheet's table, or None with its problems (missing sheet, columns) recorded."""
    try:
        return read_table(sheet(workbook, name), name, required=required, optional=optional)
    except WorkbookRejected as exc:
        errors.extend(exc.errors)
        return None


def action_key(template_key: str, title: str) -> str:
    """The stable key of an action named only by its title in a template's workbook.

    A title too long for the key, or with nothing to slug, gets a short digest of the whole
    title so that distinct titles keep distinct keys.
    """
    base = f"{template_key}:"
    room = _KEY_LIMIT - len(base)
    words = slug(title, limit=None)
    if words and len(words) <= room:
        return base + words
    digest = hashlib.sha256(title.encode()).hexdigest()[:12]
    return base + (words[: max(room - 13, 0)].rstrip("-") + "-" + digest).lstrip("-")


@dataclass
class _TemplateRow:
    key: str = ""
    title: str = ""
    product: str = ""
    certification: str = ""
    services: str = ""
    regulation: str = ""
    description: str = ""


@dataclass
class _ReadWorkbook:
    """A workbook read whole: the spec, and where each action came from for later checks."""

    spec: TemplateSpec
    action_rows: dict[str, int] = field(default_factory=dict)


def _read_template(workbook: Workbook, errors: list[RowError]) -> _TemplateRow:
    table = _table(
        workbook,
        TEMPLATE_SHEET,
        errors,
        ("Title", "Product", "Certification"),
        ("Services", "Regulation", "Description", "Key"),
    )
    found = _TemplateRow()
    if table is None:
        return found
    rows = list(_rows(table, errors))
    if not rows:
        errors.append(
            RowError(
                TEMPLATE_SHEET,
                2,
                "Title",
                ImportErrorCode.REQUIRED,
                "The Template sheet needs one row describing the template.",
            )
        )
        return found
    for extra in rows[1:]:
        extra.error(None, ImportErrorCode.INVALID, "A workbook holds one template: one row only.")
    row = rows[0]
    found.title = row.text("Title", limit=_NAME_LIMIT, required=True)
    found.product = row.text("Product", limit=_SHORT_LIMIT)
    found.certification = row.text("Certification", limit=_SHORT_LIMIT)
    found.services = row.long_text("Services")
    found.description = row.long_text("Description")
    found.key = row.text("Key", limit=_TEMPLATE_KEY_LIMIT) or slug(found.title)
    if found.title and not found.key:
        row.error(
            "Title", ImportErrorCode.INVALID, "Give a Key: the title has no letters or digits."
        )
    found.regulation = (
        row.text("Regulation", limit=_NAME_LIMIT) or found.certification or found.title
    )
    return found


def _read_dimensions(workbook: Workbook, errors: list[RowError]) -> dict[str, set[str]]:
    """Allowed values by dimension; empty when the optional sheet is absent."""
    if not any(name.strip().lower() == DIMENSIONS_SHEET.lower() for name in workbook.sheetnames):
        return {}
    table = _table(workbook, DIMENSIONS_SHEET, errors, ("Dimension", "Value"))
    if table is None:
        return {}
    names = {clean_header(name): name for name in _DIMENSIONS}
    allowed: dict[str, set[str]] = {}
    for row in _rows(table, errors):
        written = row.text("Dimension", limit=_SHORT_LIMIT, required=True)
        dimension = names.get(clean_header(written))
        if written and dimension is None:
            row.error(
                "Dimension",
                ImportErrorCode.UNKNOWN_VALUE,
                f"`{written}` is not a dimension; use one of: {', '.join(_DIMENSIONS)}.",
            )
        enum = _DIMENSIONS.get(dimension or "")
        if enum is not None:
            member = row.enum("Value", enum)
            value = member.value if member is not None else ""
        else:
            value = row.text("Value", limit=_SHORT_LIMIT, required=True)
        if dimension is not None and value:
            allowed.setdefault(dimension, set()).add(value)
    return {} if _cut_off(table, errors) else allowed


@dataclass(frozen=True)
class _ActionRow:
    number: int
    spec: ActionSpec


def _read_actions(
    workbook: Workbook,
    template_key: str,
    allowed: Mapping[str, set[str]],
    errors: list[RowError],
) -> list[_ActionRow] | None:
    table = _table(
        workbook,
        ACTIONS_SHEET,
        errors,
        ("Title", "Implementation type", "Points", "Description title", "Description"),
        (
            _PURPOSE,
            _ENFORCEMENT,
            _OWNER,
            _CATEGORY,
            _SOLUTION,
            "Testing logic",
            "Automatic testing",
            "Key",
            *(c.header for c in _EXTRA_ACTION_COLUMNS),
        ),
    )
    if table is None:
        return None
    actions: list[_ActionRow] = []
    by_title: dict[str, int] = {}
    by_key: dict[str, int] = {}
    for row in _rows(table, errors):
        title = row.text("Title", limit=_TITLE_LIMIT, required=True)
        if SEPARATOR in title:
            row.error("Title", ImportErrorCode.INVALID, f"A title may not contain `{SEPARATOR}`.")
        written_key = row.text("Key", limit=_KEY_LIMIT)
        key = written_key or (action_key(template_key, title) if title else "")
        if title in by_title:
            row.error(
                "Title",
                ImportErrorCode.DUPLICATE_ROW,
                f"The action `{title}` already appears in row {by_title[title]}.",
            )
        elif key in by_key:
            row.error(
                "Key" if written_key else "Title",
                ImportErrorCode.DUPLICATE_ROW,
                f"This action's key `{key}` is also row {by_key[key]}'s; give one a Key.",
            )
        if title:
            by_title.setdefault(title, row.number)
        if key:
            by_key.setdefault(key, row.number)
        for dimension in (_PURPOSE, _ENFORCEMENT, _OWNER, _CATEGORY, _SOLUTION):
            _check_dimension(row, dimension, allowed)
        guidance = row.long_text("Description")
        heading = row.text("Description title", limit=_TITLE_LIMIT)
        if heading:
            guidance = f"{heading}\n\n{guidance}" if guidance else heading
        implementation_type = row.enum("Implementation type", ImplementationType)
        owner = row.choice(_OWNER, Owner, Owner.CUSTOMER)
        spec = ActionSpec(
            key=key,
            title=title,
            implementation_type=implementation_type or ImplementationType.OPERATIONAL,
            enforcement=row.choice(_ENFORCEMENT, Enforcement, Enforcement.MANDATORY),
            purpose=row.choice(_PURPOSE, Purpose, Purpose.PREVENTATIVE),
            owner=owner,
            points=row.points("Points"),
            guidance=guidance,
            solution=row.text(_SOLUTION, limit=_SHORT_LIMIT),
            category=row.text(_CATEGORY, limit=_SHORT_LIMIT),
            testing_logic=row.long_text("Testing logic"),
            automatic_testing_available=row.flag("Automatic testing"),
            retest_interval_days=row.retest_interval(_RETEST),
            provider_result=_provider_result(row, owner),
        )
        actions.append(_ActionRow(row.number, spec))
    # A cut-off sheet cannot be checked against: controls would name actions it did not read.
    return None if _cut_off(table, errors) else actions


def _provider_result(row: _Row, owner: Owner) -> ProviderResult | None:
    """The provider columns of a row: a whole statement, or None when all are blank."""
    filled = [c for c in _PROVIDER_COLUMNS if cell(row.table, row.cells, c) is not None]
    if not filled:
        return None
    if owner is not Owner.PROVIDER:
        row.error(
            filled[0],
            ImportErrorCode.INVALID,
            "Only provider actions (Owner PROVIDER) carry the provider's result.",
        )
        return None
    known = len(row.errors)
    status = row.enum("Provider implementation status", ImplementationStatus)
    result = ProviderResult(
        implementation_status=status or ImplementationStatus.NOT_IMPLEMENTED,
        implementation_date=row.day("Provider implementation date"),
        implementation_notes=row.long_text("Provider implementation notes"),
        test_status=row.choice("Provider test status", TestStatus, TestStatus.NONE),
        test_date=row.day("Provider test date"),
        testing_notes=row.long_text("Provider testing notes"),
    )
    if len(row.errors) > known:
        return None  # unreadable cells are reported already; their stand-ins prove nothing
    try:
        check_statement(result.changes())
    except DomainError as exc:
        field = _snake(exc.field or "")
        row.error(_PROVIDER_COLUMN_OF.get(field), ImportErrorCode(exc.code.value), exc.message)
        return None
    return result


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name)


def _check_dimension(row: _Row, dimension: str, allowed: Mapping[str, set[str]]) -> None:
    values = allowed.get(dimension)
    if values is None:
        return
    written = cell(row.table, row.cells, dimension)
    if written is None:
        return
    enum = _DIMENSIONS[dimension]
    value = as_text(written).strip()
    if enum is not None:
        value = "_".join(value.split()).upper()  # as as_enum reads it; bad values fail there
        if value not in {m.value for m in enum}:
            return
    if value not in values:
        row.error(
            dimension,
            ImportErrorCode.UNKNOWN_VALUE,
            f"`{as_text(written).strip()}` is not listed for {dimension} in the Dimensions "
            f"sheet (listed: {', '.join(sorted(values))}).",
        )


def _read_controls(
    workbook: Workbook, actions: list[_ActionRow] | None, errors: list[RowError]
) -> list[ControlSpec]:
    table = _table(
        workbook,
        CONTROLS_SHEET,
        errors,
        ("Control name", "Family", "Title", "Description", "Action titles"),
    )
    if table is None:
        return []
    keys_by_title = {a.spec.title: a.spec.key for a in actions or ()}
    used: set[str] = set()
    controls: list[ControlSpec] = []
    seen: dict[str, int] = {}
    for row in _rows(table, errors):
        key = row.text("Control name", limit=_CONTROL_KEY_LIMIT, required=True)
        if key in seen:
            row.error(
                "Control name",
                ImportErrorCode.DUPLICATE_ROW,
                f"The control `{key}` already appears in row {seen[key]}.",
            )
        elif key:
            seen[key] = row.number
        action_keys: list[str] = []
        for title in dict.fromkeys(
            part.strip() for part in row.long_text("Action titles").split(SEPARATOR)
        ):
            if not title:
                continue
            action_key = keys_by_title.get(title)
            if action_key is not None:
                action_keys.append(action_key)
            elif actions is not None:
                row.error(
                    "Action titles",
                    ImportErrorCode.UNKNOWN_VALUE,
                    f"No action titled `{title}` in the Actions sheet.",
                )
        used.update(action_keys)
        controls.append(
            ControlSpec(
                key=key,
                family=row.text("Family", limit=_NAME_LIMIT, required=True),
                title=row.text("Title", limit=_TITLE_LIMIT, required=True),
                description=row.long_text("Description"),
                action_keys=tuple(dict.fromkeys(action_keys)),
            )
        )
    if not controls and not any(e.sheet == CONTROLS_SHEET for e in errors):
        errors.append(
            RowError(
                CONTROLS_SHEET,
                2,
                "Control name",
                ImportErrorCode.REQUIRED,
                "A template needs at least one control.",
            )
        )
    for action in actions or ():
        if action.spec.title and action.spec.key not in used:
            errors.append(
                RowError(
                    ACTIONS_SHEET,
                    action.number,
                    "Title",
                    ImportErrorCode.INVALID,
                    f"No control uses the action `{action.spec.title}`; "
                    "name it in a control's Action titles or remove the row.",
                )
            )
    return controls


def _read(handle: IO[bytes]) -> _ReadWorkbook:
    workbook = open_workbook(handle)
    try:
        errors: list[RowError] = []
        template = _read_template(workbook, errors)
        allowed = _read_dimensions(workbook, errors)
        actions = _read_actions(workbook, template.key, allowed, errors)
        controls = _read_controls(workbook, actions, errors)
    finally:
        workbook.close()
    if errors:
        errors.sort(key=lambda e: (_SHEET_ORDER.get(e.sheet, len(_SHEET_ORDER)), e.row))
        raise WorkbookRejected(errors)
    assert actions is not None  # no errors means every sheet was read
    spec = TemplateSpec(
        key=template.key,
        title=template.title,
        regulation=template.regulation,
        product=template.product,
        certification=template.certification,
        services=template.services,
        description=template.description,
        controls=tuple(controls),
        actions=tuple(a.spec for a in actions),
    )
    return _ReadWorkbook(spec, {a.spec.key: a.number for a in actions})


# --- importing --------------------------------------------------------------------------------


async def import_template_workbook(
    uow: UnitOfWork, actor: Principal, handle: IO[bytes], filename: str
) -> TemplateImport:
    """Import a workbook as a new template or a new version of one (administrators)."""
    require_org_role(actor, OrgRole.ADMINISTRATOR)
    return await store_template_workbook(uow, handle, filename, actor=actor)


async def store_template_workbook(
    uow: UnitOfWork, handle: IO[bytes], filename: str, *, actor: Principal | None = None
) -> TemplateImport:
    """Store a workbook's template; authorisation is the caller's (the CLI is the operator,
    ``actor`` None: provider results it states are written without an actor)."""
    # Parsing a large workbook takes a while; keep the event loop free meanwhile.
    read = await asyncio.to_thread(_read, handle)
    await _refuse_retyped_actions(uow, read)
    name = PurePath(filename).name or "upload.xlsx"
    source = f"workbook:{name}"[:_SOURCE_LIMIT]
    return await import_template(uow, read.spec, source=source, actor=actor)


async def _refuse_retyped_actions(uow: UnitOfWork, read: _ReadWorkbook) -> None:
    """An existing action keeps its implementation type and owner (they decide sharing)."""
    wanted = {a.key: a for a in read.spec.actions}
    keys = list(wanted)
    errors: list[RowError] = []
    for start in range(0, len(keys), 500):
        rows = await uow.session.execute(
            select(
                ActionDefinition.key, ActionDefinition.implementation_type, ActionDefinition.owner
            ).where(ActionDefinition.key.in_(keys[start : start + 500]))
        )
        for key, implementation_type, owner in rows.all():
            spec = wanted[key]
            for column, stored, new in (
                ("Implementation type", implementation_type, spec.implementation_type),
                (_OWNER, owner, spec.owner),
            ):
                if stored != new:
                    errors.append(
                        RowError(
                            ACTIONS_SHEET,
                            read.action_rows[key],
                            column,
                            ImportErrorCode.INVALID,
                            f"The action `{spec.title}` is {stored.value}; its {column.lower()} "
                            "cannot change (it decides where its state is shared). "
                            "Give it a new title or Key to make a new action.",
                        )
                    )
    if errors:
        errors.sort(key=lambda e: e.row)
        raise WorkbookRejected(errors)


# --- exporting --------------------------------------------------------------------------------


async def write_template_workbook(
    session: AsyncSession, principal: Principal, params: Mapping[str, Any], out: BinaryIO
) -> str:
    """The latest version of a template the caller may read, as a template workbook."""
    template, regulation = await _readable_template(session, principal, params)
    version_id = await session.scalar(
        select(TemplateVersion.id).where(
            TemplateVersion.template_id == template.id,
            TemplateVersion.version == template.latest_version,
        )
    )
    if version_id is None:
        raise not_found(f"Template {template.key!r} has no published version")
    workbook = new_workbook()
    SheetWriter(workbook, TEMPLATE_SHEET, _TEMPLATE_COLUMNS).append(
        (
            template.title,
            template.product,
            template.certification,
            template.services,
            regulation,
            template.description,
            template.key,
        )
    )
    await _write_controls(
        session, SheetWriter(workbook, CONTROLS_SHEET, _CONTROL_COLUMNS), version_id
    )
    in_use = await _write_actions(
        session,
        SheetWriter(workbook, ACTIONS_SHEET, _ACTION_COLUMNS + _EXTRA_ACTION_COLUMNS),
        version_id,
    )
    dimensions = SheetWriter(workbook, DIMENSIONS_SHEET, _DIMENSION_COLUMNS)
    for dimension in _DIMENSIONS:
        dimensions.extend((dimension, value) for value in sorted(in_use.get(dimension, ())))
    workbook.save(out)
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", template.key).strip("-") or "template"
    return f"{name}-v{template.latest_version}.xlsx"


async def _readable_template(
    session: AsyncSession, principal: Principal, params: Mapping[str, Any]
) -> tuple[Template, str]:
    template_id = params.get("template_id")
    template_key = params.get("template_key")
    if isinstance(template_id, int) and not isinstance(template_id, bool):
        where = Template.id == template_id
        what = f"Template {template_id}"
    elif isinstance(template_key, str) and template_key:
        where = Template.key == template_key
        what = f"Template {template_key!r}"
    else:
        raise DomainError(ErrorCode.INVALID, "Name a template by its id or key.", "template")
    row = (
        await session.execute(
            select(Template, Regulation.name)
            .join(Regulation, Regulation.id == Template.regulation_id)
            .where(where, readable_templates(principal))
        )
    ).first()
    if row is None:
        raise not_found(what)
    return row[0], row[1]


def _latest_definition_version() -> Any:
    return (ActionDefinitionVersion.definition_id == ActionDefinition.id) & (
        ActionDefinitionVersion.version == ActionDefinition.latest_version
    )


async def _write_controls(session: AsyncSession, writer: SheetWriter, version_id: int) -> None:
    statement = (
        select(
            TemplateControl.id,
            TemplateControl.key,
            TemplateControl.family,
            TemplateControl.title,
            TemplateControl.description,
            ActionDefinitionVersion.title,
        )
        .outerjoin(
            TemplateControlAction, TemplateControlAction.template_control_id == TemplateControl.id
        )
        .outerjoin(ActionDefinition, ActionDefinition.id == TemplateControlAction.definition_id)
        .outerjoin(ActionDefinitionVersion, _latest_definition_version())
        .where(TemplateControl.template_version_id == version_id)
        .order_by(TemplateControl.sort_order, ActionDefinition.id)
    )
    current: list[Any] | None = None
    titles: list[str] = []
    result = await session.stream(statement)
    async for rows in result.partitions(500):
        for control_id, key, family, title, description, action_title in rows:
            if current is None or current[0] != control_id:
                if current is not None:
                    writer.append((*current[1:], SEPARATOR.join(titles)))
                current, titles = [control_id, key, family, title, description], []
            if action_title is not None:
                titles.append(action_title)
    if current is not None:
        writer.append((*current[1:], SEPARATOR.join(titles)))


async def _write_actions(
    session: AsyncSession, writer: SheetWriter, version_id: int
) -> dict[str, set[str]]:
    """Each action once, in order of first use; returns the dimension values written."""
    first_use = (
        select(
            TemplateControlAction.definition_id.label("definition_id"),
            func.min(TemplateControl.sort_order).label("position"),
        )
        .join(TemplateControl, TemplateControl.id == TemplateControlAction.template_control_id)
        .where(TemplateControl.template_version_id == version_id)
        .group_by(TemplateControlAction.definition_id)
        .subquery()
    )
    statement = (
        select(ActionDefinition, ActionDefinitionVersion)
        .join(first_use, first_use.c.definition_id == ActionDefinition.id)
        .join(ActionDefinitionVersion, _latest_definition_version())
        .order_by(first_use.c.position, ActionDefinition.id)
    )
    in_use: dict[str, set[str]] = {}
    result = await session.stream(statement)
    async for rows in result.partitions(200):
        for definition, version in rows:
            dimensions = {
                _PURPOSE: version.purpose.value,
                _ENFORCEMENT: version.enforcement.value,
                _OWNER: definition.owner.value,
                _CATEGORY: version.category,
                _SOLUTION: version.solution,
            }
            for dimension, value in dimensions.items():
                if value:
                    in_use.setdefault(dimension, set()).add(value)
            writer.append(
                (
                    version.title,
                    definition.implementation_type.value,
                    version.points if version.custom_points else None,
                    None,
                    version.guidance,
                    *dimensions.values(),
                    version.testing_logic,
                    "yes" if version.automatic_testing_available else "no",
                    definition.key,
                    version.retest_interval_days,
                    *_provider_cells(version.provider_result),
                )
            )
    return in_use


def _provider_cells(stored: Mapping[str, Any] | None) -> tuple[Any, ...]:
    """The provider columns of an action, blank when its template states nothing."""
    if not stored:
        return (None,) * len(_PROVIDER_COLUMNS)
    result = ProviderResult.from_json(stored)
    return (
        result.implementation_status.value,
        result.implementation_date,
        result.implementation_notes or None,
        result.test_status.value,
        result.test_date,
        result.testing_notes or None,
    )


TEMPLATE_WORKBOOK = ExportKind("template-workbook", XLSX, write_template_workbook)
