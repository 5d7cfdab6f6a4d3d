"""The assessment report workbook (DOMAIN.md section 13): summary, controls, actions, evidence.

Sheets: ``Summary`` (Field | Value), ``Controls``, ``Customer actions``, ``Provider actions``
and ``Evidence``. Figures agree with the API: the assessment's score is its stored score
(frozen once archived), control and assessment statuses and progress come from
``domain.scoring`` over the actions' current statuses, and an action mapped to several
controls is one row and counts once. Per-action and per-control points are the actions'
current stored scores, so for an archived assessment they may differ from the frozen total.
Dates read as the API reads them on the day the report is made (``domain.calendar``): each
action's due date and state, its retest day and how much of its evidence is expired; each
evidence item's review-by date and whether it is expired.

Controls, actions and evidence are streamed from the database a partition at a time and
written as they come (openpyxl's write-only mode), so memory and the number of SQL
statements do not grow with the assessment; only the control statuses (one value per
control) are kept for the summary, which is filled in last.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from typing import Any, BinaryIO

from sqlalchemy import Select, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from cmgraph.adapters.storage import evidence_path
from cmgraph.domain import calendar, clock, scoring
from cmgraph.domain.assessment_figures import assessment_figures
from cmgraph.domain.calendar import evidence_expired_clause
from cmgraph.domain.enums import ControlStatus, Owner
from cmgraph.domain.errors import not_found
from cmgraph.domain.evidence import parent_chains
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
    TemplateVersion,
    User,
    utcnow,
)
from cmgraph.domain.permissions import Principal, readable_actions, readable_assessments
from cmgraph.exchange.downloads import XLSX, ExportKind, int_param
from cmgraph.exchange.rows import partitions, runs
from cmgraph.exchange.xlsx import CellType, Column, SheetWriter, new_workbook

REMOVED_USER = "(removed user)"

CONTROL_COLUMNS = (
    Column("Control", 14),
    Column("Family", 28),
    Column("Title", 48, CellType.LONG_TEXT),
    Column("Status", 14),
    Column("Actions", 9, CellType.NUMBER),
    Column("Points earned", 14, CellType.NUMBER),
    Column("Points possible", 15, CellType.NUMBER),
)
ACTION_COLUMNS = (
    Column("Action key", 24),
    Column("Title", 48, CellType.LONG_TEXT),
    Column("Controls", 20),
    Column("Implementation type", 20),
    Column("Category", 22),
    Column("Solution", 20),
    Column("Points", 8, CellType.NUMBER),
    Column("Earned", 9, CellType.NUMBER),
    Column("Possible", 9, CellType.NUMBER),
    Column("Implementation status", 26),
    Column("Implementation date", 14, CellType.DATE),
    Column("Test status", 22),
    Column("Test date", 12, CellType.DATE),
    Column("Testing source", 14),
    Column("Assigned to", 28),
    Column("Implementation notes", 40, CellType.LONG_TEXT),
    Column("Testing notes", 40, CellType.LONG_TEXT),
    Column("Additional notes", 40, CellType.LONG_TEXT),
    Column("Evidence", 9, CellType.NUMBER),
    Column("Expired evidence", 16, CellType.NUMBER),
    Column("Due date", 12, CellType.DATE),
    Column("Due state", 12),
    Column("Retest due on", 14, CellType.DATE),
)
EVIDENCE_COLUMNS = (
    Column("Action key", 24),
    Column("Kind", 11),
    Column("Name", 36),
    Column("URL", 48),
    Column("Size (bytes)", 12, CellType.NUMBER),
    Column("SHA-256", 66),
    Column("Download link", 60),
    Column("Uploaded by", 28),
    Column("Uploaded at (UTC)", 20, CellType.DATETIME),
    Column("Review by", 12, CellType.DATE),
    Column("Expired", 9),
    Column("Inherited from", 24),
)


class SummaryWriter(SheetWriter):
    """A ``Field | Value`` sheet whose value cells are typed row by row."""

    def __init__(self, workbook: Any, title: str) -> None:
        super().__init__(workbook, title, (Column("Field", 30), Column("Value", 48)), filter=False)

    def field(self, label: str, value: Any, type: CellType = CellType.TEXT) -> None:
        self.sheet.append(
            [self._cell(self.columns[0], label), self._cell(Column("", 0, type), value)]
        )
        self.rows += 1


def person(name: str | None, email: str | None) -> str:
    """How a user reads in a sheet; a user removed from the record reads as such."""
    return f"{name} <{email}>" if email else REMOVED_USER


def file_name(*parts: str) -> str:
    """A download name that every file system accepts: the parts joined, unsafe runs as ``-``."""
    stem = " ".join(parts)
    return re.sub(r"[^\w .()-]+", "-", stem, flags=re.ASCII).strip(" .-")[:120] + ".xlsx"


async def assessment_id_by_name(session: AsyncSession, name: str) -> int:
    """For the command line, which names assessments the way people do."""
    found = await session.scalar(select(Assessment.id).where(Assessment.name == name.strip()))
    if found is None:
        raise not_found(f"Assessment {name!r}")
    return found


async def readable_assessment(
    session: AsyncSession, principal: Principal, assessment_id: int
) -> Any:
    """The assessment with the names a report heads it with; NOT_FOUND when not readable.

    A row of: assessment, template title, its template version, the template's latest
    version, regulation name, group name.
    """
    head = (
        await session.execute(
            select(
                Assessment,
                Template.title,
                TemplateVersion.version,
                Template.latest_version,
                Regulation.name,
                Group.name,
            )
            .join(Template, Template.id == Assessment.template_id)
            .join(TemplateVersion, TemplateVersion.id == Assessment.template_version_id)
            .join(Regulation, Regulation.id == Template.regulation_id)
            .join(Group, Group.id == Assessment.group_id)
            .where(Assessment.id == assessment_id, readable_assessments(principal))
        )
    ).first()
    if head is None:
        raise not_found("Assessment")
    return head


async def write_assessment_report(
    session: AsyncSession, principal: Principal, params: Mapping[str, Any], out: BinaryIO
) -> str:
    """Write the report of a readable assessment (archived ones too: "export first").

    ``public_url`` (the server's ``CMGRAPH_PUBLIC_URL``) makes evidence download links absolute,
    so a saved report still leads to its files, for whoever signs in and may read them.
    """
    assessment_id = int_param(params, "assessment_id")
    public_url = str(params.get("public_url") or "").rstrip("/")
    assessment, template, version, latest, regulation, group = await readable_assessment(
        session, principal, assessment_id
    )
    exporter = (
        await session.execute(select(User.name, User.email).where(User.id == principal.user_id))
    ).first()
    exported_at = utcnow()

    workbook = new_workbook()
    summary = SummaryWriter(workbook, "Summary")
    statuses = await _write_controls(
        session, SheetWriter(workbook, "Controls", CONTROL_COLUMNS), assessment.id
    )
    by_owner = await _write_actions(
        session,
        {
            Owner.CUSTOMER: SheetWriter(workbook, "Customer actions", ACTION_COLUMNS),
            Owner.PROVIDER: SheetWriter(workbook, "Provider actions", ACTION_COLUMNS),
        },
        assessment.id,
    )
    await _write_evidence(
        session,
        principal,
        SheetWriter(workbook, "Evidence", EVIDENCE_COLUMNS),
        assessment.id,
        public_url,
    )
    figures = (await assessment_figures(session.execute, [assessment.id]))[assessment.id]

    score = scoring.Score(assessment.earned, assessment.possible)
    customer = by_owner.get(Owner.CUSTOMER, scoring.ZERO)
    provider = by_owner.get(Owner.PROVIDER, scoring.ZERO)
    counts = Counter(statuses)
    summary.field("Assessment", assessment.name)
    summary.field("Template", template)
    summary.field("Template version", version, CellType.NUMBER)
    summary.field("Regulation", regulation)
    summary.field("Group", group)
    summary.field("Status", scoring.assessment_status(statuses))
    summary.field("Progress", scoring.progress(statuses), CellType.PERCENT)
    summary.field("Points earned", score.earned, CellType.NUMBER)
    summary.field("Points possible", score.possible, CellType.NUMBER)
    summary.field("Score", score.percent / 100, CellType.PERCENT)
    summary.field("Customer points earned", customer.earned, CellType.NUMBER)
    summary.field("Customer points possible", customer.possible, CellType.NUMBER)
    summary.field("Customer score", customer.percent / 100, CellType.PERCENT)
    summary.field("Provider points earned", provider.earned, CellType.NUMBER)
    summary.field("Provider points possible", provider.possible, CellType.NUMBER)
    summary.field("Provider score", provider.percent / 100, CellType.PERCENT)
    summary.field("Customer actions completed", figures.customer.completed, CellType.NUMBER)
    summary.field("Customer actions in scope", figures.customer.total, CellType.NUMBER)
    summary.field("Provider actions completed", figures.provider.completed, CellType.NUMBER)
    summary.field("Provider actions in scope", figures.provider.total, CellType.NUMBER)
    summary.field("Controls", len(statuses), CellType.NUMBER)
    for status in ControlStatus:
        summary.field(f"Controls {status.value}", counts[status], CellType.NUMBER)
    summary.field("Pending update", "yes" if version < latest else "no")
    summary.field("Archived at (UTC)", assessment.archived_at, CellType.DATETIME)
    last_modified = figures.last_modified_at(assessment.updated_at)
    summary.field("Last modified (UTC)", last_modified, CellType.DATETIME)
    if assessment.archived_at is not None:
        summary.field(
            "Note",
            "Archived: the score is frozen at archive time; controls and actions show their "
            "current state.",
        )
    summary.field("Exported at (UTC)", exported_at, CellType.DATETIME)
    summary.field("Exported by", person(*exporter) if exporter else REMOVED_USER)
    workbook.save(out)
    return file_name(assessment.name, "report", exported_at.date().isoformat())


async def _write_controls(
    session: AsyncSession, sheet: SheetWriter, assessment_id: int
) -> list[ControlStatus]:
    """One row per control, in template order; returns each control's status."""
    a = ImprovementAction
    statement = (
        select(
            Control.id,
            Control.key,
            Control.family,
            Control.title,
            a.id.label("action_id"),
            a.implementation_status,
            a.test_status,
            a.earned,
            a.possible,
        )
        .outerjoin(ControlAction, ControlAction.control_id == Control.id)
        .outerjoin(a, a.id == ControlAction.action_id)
        .where(Control.assessment_id == assessment_id)
        .order_by(Control.sort_order, Control.id)
    )
    statuses: list[ControlStatus] = []
    async for current in runs(session, statement):
        control = current[0]
        actions = [row for row in current if row.action_id is not None]
        status = scoring.control_status((r.implementation_status, r.test_status) for r in actions)
        score = scoring.total(scoring.Score(r.earned, r.possible) for r in actions)
        statuses.append(status)
        sheet.append(
            (
                control.key,
                control.family,
                control.title,
                status,
                len(actions),
                score.earned,
                score.possible,
            )
        )
    return statuses


async def _write_actions(
    session: AsyncSession, sheets: Mapping[Owner, SheetWriter], assessment_id: int
) -> dict[Owner, scoring.Score]:
    """One row per distinct action, on its owner's sheet; returns the score per owner."""
    a, d, v = ImprovementAction, ActionDefinition, ActionDefinitionVersion
    today = clock.today()
    expired = case((evidence_expired_clause(today), 1), else_=0)
    evidence = (
        select(Evidence.action_id, func.count().label("n"), func.sum(expired).label("expired"))
        .group_by(Evidence.action_id)
        .subquery()
    )
    statement = (
        select(
            a.id,
            d.key,
            d.owner,
            v.title,
            Control.key.label("control_key"),
            d.implementation_type,
            v.category,
            v.solution,
            a.points,
            a.earned,
            a.possible,
            a.implementation_status,
            a.implementation_date,
            a.test_status,
            a.test_date,
            a.testing_source,
            User.email.label("assignee"),
            a.implementation_notes,
            a.testing_notes,
            a.additional_notes,
            func.coalesce(evidence.c.n, 0).label("evidence"),
            func.coalesce(evidence.c.expired, 0).label("expired_evidence"),
            a.due_date,
            a.retest_due_on,
            calendar.due_soon_days_query().scalar_subquery().label("due_soon_days"),
        )
        .select_from(Control)
        .join(ControlAction, ControlAction.control_id == Control.id)
        .join(a, a.id == ControlAction.action_id)
        .join(d, d.id == a.definition_id)
        .join(v, v.id == a.definition_version_id)
        .outerjoin(User, User.id == a.assignee_id)
        .outerjoin(evidence, evidence.c.action_id == a.id)
        .where(Control.assessment_id == assessment_id)
        .order_by(d.key, a.id, Control.sort_order)
    )
    totals: dict[Owner, scoring.Score] = {}
    async for current in runs(session, statement):
        r = current[0]
        controls = ", ".join(dict.fromkeys(row.control_key for row in current))
        sheets[r.owner].append(
            (
                r.key,
                r.title,
                controls,
                r.implementation_type,
                r.category,
                r.solution,
                r.points,
                r.earned,
                r.possible,
                r.implementation_status,
                r.implementation_date,
                r.test_status,
                r.test_date,
                r.testing_source,
                r.assignee,
                r.implementation_notes,
                r.testing_notes,
                r.additional_notes,
                r.evidence,
                r.expired_evidence,
                r.due_date,
                calendar.due_state(
                    r.due_date, r.implementation_status, today, r.due_soon_days
                ).value,
                r.retest_due_on,
            )
        )
        totals[r.owner] = totals.get(r.owner, scoring.ZERO) + scoring.Score(r.earned, r.possible)
    return totals


async def _write_evidence(
    session: AsyncSession,
    principal: Principal,
    sheet: SheetWriter,
    assessment_id: int,
    public_url: str,
) -> None:
    """The evidence of the assessment's actions by action key, oldest first; then what
    actions with testing source PARENT inherit from their parent chain (DOMAIN.md section 5),
    nearest parent first, where the caller may read the parent."""
    actions = (
        select(ControlAction.action_id)
        .join(Control, Control.id == ControlAction.control_id)
        .where(Control.assessment_id == assessment_id)
    )
    own = (
        _evidence_select()
        .where(Evidence.action_id.in_(actions))
        .order_by(ActionDefinition.key, Evidence.id)
    )
    async for rows in partitions(session, own):
        for r in rows:
            sheet.append(evidence_row(r, public_url))
    chain = parent_chains(actions)
    holder = aliased(ImprovementAction)
    holder_definition = aliased(ActionDefinition)
    inherited = (
        _evidence_select()
        .add_columns(holder_definition.key.label("holder_key"))
        .join(chain, chain.c.ancestor == Evidence.action_id)
        .join(holder, holder.id == chain.c.start)
        .join(holder_definition, holder_definition.id == holder.definition_id)
        .where(readable_actions(principal))
        .order_by(holder_definition.key, chain.c.depth, Evidence.id)
    )
    async for rows in partitions(session, inherited):
        for r in rows:
            sheet.append((r.holder_key, *evidence_row(r, public_url)[1:-1], r.key))


def _evidence_select() -> Select[*tuple[Any, ...]]:
    """Evidence with the key of the action it is attached to, and its uploader."""
    return (
        select(
            Evidence.id,
            ActionDefinition.key,
            Evidence.kind,
            Evidence.name,
            Evidence.url,
            Evidence.size,
            Evidence.sha256,
            Evidence.uploaded_at,
            Evidence.review_by,
            User.name.label("uploader_name"),
            User.email.label("uploader_email"),
        )
        .select_from(Evidence)
        .join(ImprovementAction, ImprovementAction.id == Evidence.action_id)
        .join(ActionDefinition, ActionDefinition.id == ImprovementAction.definition_id)
        .outerjoin(User, User.id == Evidence.uploaded_by_id)
    )


def evidence_row(r: Any, public_url: str) -> tuple[Any, ...]:
    """``EVIDENCE_COLUMNS`` of a row with the evidence's columns, action key and uploader.

    A document's link is the plain download route under ``public_url``: no token in it (a
    report outlives any token), it works from a browser signed in to this server.
    """
    document = r.sha256 is not None
    return (
        r.key,
        r.kind,
        r.name,
        r.url,
        r.size,
        r.sha256,
        f"{public_url}{evidence_path(r.id)}" if document else None,
        person(r.uploader_name, r.uploader_email),
        r.uploaded_at,
        r.review_by,
        "yes" if calendar.evidence_expired(r.review_by, clock.today()) else "no",
        None,
    )


ASSESSMENT_REPORT = ExportKind("assessment-report", XLSX, write_assessment_report)
