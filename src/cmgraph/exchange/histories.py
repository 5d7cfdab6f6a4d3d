"""History workbooks: an action's testing history, and a user's history.

Testing history (DOMAIN.md 4.7): one row per history entry of the action's test status,
test date or testing notes, newest first (the order of ``ImprovementAction.history`` in the
API), with who made the change, old and new value and where it came from.

User history: the actions assigned to the user now, the assignment changes that name them
(history rows of the ``assignee`` field record the email of the previous and the new
assignee), and the evidence they uploaded. Only owners and the user themself may export it,
and it lists only actions the caller may read. Someone whose history was deleted no longer
appears: their emails in history read ``(removed user)`` and their uploads have no uploader.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, BinaryIO

from sqlalchemy import Select, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from cmgraph.adapters.storage import evidence_path
from cmgraph.domain.enums import OrgRole
from cmgraph.domain.errors import DomainError, ErrorCode, not_found
from cmgraph.domain.models import (
    ActionDefinition,
    ActionDefinitionVersion,
    Assessment,
    Control,
    ControlAction,
    Evidence,
    Group,
    HistoryEntry,
    ImprovementAction,
    User,
    utcnow,
)
from cmgraph.domain.permissions import Principal, readable_actions, readable_assessments
from cmgraph.domain.workflow import TESTING_FIELDS
from cmgraph.exchange.actions_sheet import parse_action_global_id
from cmgraph.exchange.assessment_report import (
    file_name,
    person,
)
from cmgraph.exchange.downloads import XLSX, ExportKind, int_param
from cmgraph.exchange.rows import partitions, runs
from cmgraph.exchange.xlsx import CellType, Column, SheetWriter, new_workbook

FIELD_LABELS = {
    "test_status": "Test status",
    "test_date": "Test date",
    "testing_notes": "Testing notes",
}

TESTING_HISTORY_COLUMNS = (
    Column("When (UTC)", 20, CellType.DATETIME),
    Column("Who", 36),
    Column("Field", 14),
    Column("Old value", 30, CellType.LONG_TEXT),
    Column("New value", 30, CellType.LONG_TEXT),
    Column("Source", 12),
)
ASSIGNED_COLUMNS = (
    Column("Action key", 24),
    Column("Title", 48, CellType.LONG_TEXT),
    Column("Group", 18),
    Column("Assessments", 30),
    Column("Implementation status", 26),
    Column("Implementation date", 14, CellType.DATE),
    Column("Test status", 22),
    Column("Test date", 12, CellType.DATE),
    Column("Assignment notes", 40, CellType.LONG_TEXT),
    Column("Last changed (UTC)", 20, CellType.DATETIME),
)
ASSIGNMENT_HISTORY_COLUMNS = (
    Column("When (UTC)", 20, CellType.DATETIME),
    Column("Action key", 24),
    Column("Title", 48, CellType.LONG_TEXT),
    Column("Group", 18),
    Column("From", 30),
    Column("To", 30),
    Column("Changed by", 36),
    Column("Source", 12),
)
UPLOADED_COLUMNS = (
    Column("Action key", 24),
    Column("Title", 48, CellType.LONG_TEXT),
    Column("Group", 18),
    Column("Kind", 11),
    Column("Name", 36),
    Column("URL", 48),
    Column("Size (bytes)", 12, CellType.NUMBER),
    Column("Download path", 44),
    Column("Uploaded at (UTC)", 20, CellType.DATETIME),
)


def _actions() -> Select[*tuple[Any, ...]]:
    """Action id, key, title and group name, to join the other tables to."""
    a, d, v = ImprovementAction, ActionDefinition, ActionDefinitionVersion
    return (
        select(a.id, d.key, v.title, Group.name.label("group_name"))
        .select_from(a)
        .join(d, d.id == a.definition_id)
        .join(v, v.id == a.definition_version_id)
        .outerjoin(Group, Group.id == a.group_id)
    )


# -- testing history ------------------------------------------------------------------------


async def write_testing_history(
    session: AsyncSession, principal: Principal, params: Mapping[str, Any], out: BinaryIO
) -> str:
    action_id = int_param(params, "action_id")
    action = (
        await session.execute(
            _actions().where(ImprovementAction.id == action_id, readable_actions(principal))
        )
    ).first()
    if action is None:
        raise not_found("Improvement action")
    statement = (
        select(
            HistoryEntry.created_at,
            User.name,
            User.email,
            HistoryEntry.field,
            HistoryEntry.old_value,
            HistoryEntry.new_value,
            HistoryEntry.source,
        )
        .outerjoin(User, User.id == HistoryEntry.actor_id)
        .where(HistoryEntry.action_id == action_id, HistoryEntry.field.in_(TESTING_FIELDS))
        .order_by(HistoryEntry.id.desc())
    )
    workbook = new_workbook()
    sheet = SheetWriter(workbook, "Testing history", TESTING_HISTORY_COLUMNS)
    async for rows in partitions(session, statement):
        for r in rows:
            sheet.append(
                (
                    r.created_at,
                    person(r.name, r.email),
                    FIELD_LABELS.get(r.field, r.field),
                    r.old_value,
                    r.new_value,
                    r.source,
                )
            )
    workbook.save(out)
    parts = [action.key] + ([action.group_name] if action.group_name else [])
    return file_name(*parts, "testing history", utcnow().date().isoformat())


# -- user history ---------------------------------------------------------------------------


def may_export_user_history(principal: Principal, user_id: int) -> bool:
    """Owners, and the user themself: it is a record about one person."""
    return principal.has_org_role(OrgRole.OWNER) or principal.user_id == user_id


async def write_user_history(
    session: AsyncSession, principal: Principal, params: Mapping[str, Any], out: BinaryIO
) -> str:
    user_id = int_param(params, "user_id")
    user = await session.get(User, user_id) if may_export_user_history(principal, user_id) else None
    if user is None:
        raise not_found("User")
    workbook = new_workbook()
    await _write_assigned(
        session, principal, SheetWriter(workbook, "Assigned actions", ASSIGNED_COLUMNS), user.id
    )
    await _write_assignment_history(
        session,
        principal,
        SheetWriter(workbook, "Assignment history", ASSIGNMENT_HISTORY_COLUMNS),
        user.email,
    )
    await _write_uploaded(
        session, principal, SheetWriter(workbook, "Uploaded evidence", UPLOADED_COLUMNS), user.id
    )
    workbook.save(out)
    return file_name(user.email, "history", utcnow().date().isoformat())


async def _write_assigned(
    session: AsyncSession, principal: Principal, sheet: SheetWriter, user_id: int
) -> None:
    """Actions assigned to the user, each with the readable assessments it counts in.

    One row per (action, assessment) comes from the database, ordered by action, and the
    rows of one action are joined as they stream past.
    """
    a = ImprovementAction
    pairs = (
        select(ControlAction.action_id, Control.assessment_id)
        .join(Control, Control.id == ControlAction.control_id)
        .distinct()
        .subquery()
    )
    statement = (
        _actions()
        .add_columns(
            Assessment.name.label("assessment"),
            a.implementation_status,
            a.implementation_date,
            a.test_status,
            a.test_date,
            a.assignment_notes,
            a.updated_at,
        )
        .join(pairs, pairs.c.action_id == a.id)
        .join(Assessment, Assessment.id == pairs.c.assessment_id)
        .where(a.assignee_id == user_id, readable_assessments(principal))
        .order_by(ActionDefinition.key, a.id, Assessment.name)
    )
    async for current in runs(session, statement):
        r = current[0]
        sheet.append(
            (
                r.key,
                r.title,
                r.group_name,
                ", ".join(row.assessment for row in current),
                r.implementation_status,
                r.implementation_date,
                r.test_status,
                r.test_date,
                r.assignment_notes,
                r.updated_at,
            )
        )


async def _write_assignment_history(
    session: AsyncSession, principal: Principal, sheet: SheetWriter, email: str
) -> None:
    """Assignments to and from the user, newest first."""
    actor = User.__table__.alias("actor")
    statement = (
        _actions()
        .add_columns(
            HistoryEntry.created_at,
            HistoryEntry.old_value,
            HistoryEntry.new_value,
            HistoryEntry.source,
            actor.c.name.label("actor_name"),
            actor.c.email.label("actor_email"),
        )
        .join(HistoryEntry, HistoryEntry.action_id == ImprovementAction.id)
        .outerjoin(actor, actor.c.id == HistoryEntry.actor_id)
        .where(
            HistoryEntry.field == "assignee",
            or_(HistoryEntry.old_value == email, HistoryEntry.new_value == email),
            readable_actions(principal),
        )
        .order_by(HistoryEntry.id.desc())
    )
    async for rows in partitions(session, statement):
        for r in rows:
            sheet.append(
                (
                    r.created_at,
                    r.key,
                    r.title,
                    r.group_name,
                    r.old_value,
                    r.new_value,
                    person(r.actor_name, r.actor_email),
                    r.source,
                )
            )


async def _write_uploaded(
    session: AsyncSession, principal: Principal, sheet: SheetWriter, user_id: int
) -> None:
    """Evidence the user uploaded, oldest first."""
    statement = (
        _actions()
        .add_columns(
            Evidence.id.label("evidence_id"),
            Evidence.kind,
            Evidence.name,
            Evidence.url,
            Evidence.size,
            Evidence.sha256,
            Evidence.uploaded_at,
        )
        .join(Evidence, Evidence.action_id == ImprovementAction.id)
        .where(Evidence.uploaded_by_id == user_id, readable_actions(principal))
        .order_by(Evidence.id)
    )
    async for rows in partitions(session, statement):
        for r in rows:
            sheet.append(
                (
                    r.key,
                    r.title,
                    r.group_name,
                    r.kind,
                    r.name,
                    r.url,
                    r.size,
                    evidence_path(r.evidence_id) if r.sha256 is not None else None,
                    r.uploaded_at,
                )
            )


# -- naming one action from the command line ------------------------------------------------


async def action_id_for(
    session: AsyncSession,
    reference: str,
    *,
    assessment: str | None = None,
    group: str | None = None,
) -> int:
    """The action a command line names: a global id, or a key narrowed by assessment or group.

    Technical and provider actions are one instance for the organisation, so their key is
    enough; a non-technical key has one instance per group and needs ``assessment`` (any
    assessment the action counts in) or ``group``.
    """
    by_id = parse_action_global_id(reference)
    if by_id is not None:
        return by_id
    statement = (
        select(ImprovementAction.id)
        .join(ActionDefinition, ActionDefinition.id == ImprovementAction.definition_id)
        .where(ActionDefinition.key == reference.strip())
    )
    if assessment is not None:
        statement = statement.where(
            ImprovementAction.id.in_(
                select(ControlAction.action_id)
                .join(Control, Control.id == ControlAction.control_id)
                .join(Assessment, Assessment.id == Control.assessment_id)
                .where(Assessment.name == assessment.strip())
            )
        )
    if group is not None:
        statement = statement.outerjoin(Group, Group.id == ImprovementAction.group_id).where(
            or_(ImprovementAction.group_id.is_(None), Group.name == group.strip())
        )
    found = list((await session.execute(statement.order_by(ImprovementAction.id))).all())
    if not found:
        raise not_found(f"Improvement action {reference!r}")
    if len(found) > 1:
        raise DomainError(
            ErrorCode.INVALID,
            f"{reference!r} is kept per group ({len(found)} instances): name an assessment "
            "or a group, or use the action's global id.",
        )
    return int(found[0].id)


TESTING_HISTORY = ExportKind("testing-history", XLSX, write_testing_history)
USER_HISTORY = ExportKind("user-history", XLSX, write_user_history)
