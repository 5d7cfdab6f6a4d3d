"""Which improvement actions a list shows: one filter for the API list and its spreadsheet.

The ``improvementActions`` query and the actions export build the same ``ActionFilter``, so
a spreadsheet holds exactly the rows the list showed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, CompoundSelect, Select, false, or_, select
from sqlalchemy.sql.elements import SQLCoreOperations

from cmgraph.domain import calendar, clock, text
from cmgraph.domain.calendar import DueState
from cmgraph.domain.enums import ImplementationStatus, ImplementationType, Owner, TestStatus
from cmgraph.domain.keyset import sort
from cmgraph.domain.models import (
    ActionDefinition,
    ActionDefinitionVersion,
    Assessment,
    Control,
    ControlAction,
    ImprovementAction,
    Template,
)
from cmgraph.domain.search_index import indexed_versions
from cmgraph.domain.versions import update_pending


@dataclass(frozen=True)
class ActionFilter:
    """Every field narrows the list; ``None`` leaves it open."""

    assessment_ids: Sequence[int] | None = None
    group_ids: Sequence[int] | None = None
    regulation_ids: Sequence[int] | None = None
    solutions: Sequence[str] | None = None
    categories: Sequence[str] | None = None
    implementation_types: Sequence[ImplementationType] | None = None
    implementation_statuses: Sequence[ImplementationStatus] | None = None
    test_statuses: Sequence[TestStatus] | None = None
    exclude_test_statuses: Sequence[TestStatus] | None = None
    owner: Owner | None = None
    assignee_ids: Sequence[int] | None = None
    unassigned: bool | None = None
    pending_update: bool | None = None
    search: str | None = None
    # DOMAIN.md section 15, by ``calendar``'s rules as of the day the list is read.
    due_states: Sequence[DueState] | None = None
    due_before: date | None = None
    retest_due: bool | None = None

    def __post_init__(self) -> None:
        """Text values under the domain's rules (``text``), whoever builds the filter."""
        for name in ("solutions", "categories"):
            values = text.clean_filter_values(getattr(self, name), field=name)
            object.__setattr__(self, name, values)
        object.__setattr__(self, "search", text.clean_search(self.search))

    def to_json(self) -> dict[str, Any]:
        """The fields that are set, as plain JSON values (for signed export links)."""
        result: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None:
                continue
            if isinstance(value, list | tuple):
                result[f.name] = [getattr(v, "value", v) for v in value]
            elif isinstance(value, date):
                result[f.name] = value.isoformat()
            else:
                result[f.name] = getattr(value, "value", value)
        return result

    @property
    def needs_due_soon_days(self) -> bool:
        """Whether the clauses need the organisation's ``due_soon_days``."""
        return bool(
            self.due_states and {DueState.DUE_SOON, DueState.ON_TRACK} & set(self.due_states)
        )

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ActionFilter:
        def enums(name: str, enum: Any) -> list[Any] | None:
            return [enum(v) for v in data[name]] if name in data else None

        return cls(
            assessment_ids=data.get("assessment_ids"),
            group_ids=data.get("group_ids"),
            regulation_ids=data.get("regulation_ids"),
            solutions=data.get("solutions"),
            categories=data.get("categories"),
            implementation_types=enums("implementation_types", ImplementationType),
            implementation_statuses=enums("implementation_statuses", ImplementationStatus),
            test_statuses=enums("test_statuses", TestStatus),
            exclude_test_statuses=enums("exclude_test_statuses", TestStatus),
            owner=Owner(data["owner"]) if "owner" in data else None,
            assignee_ids=data.get("assignee_ids"),
            unassigned=data.get("unassigned"),
            pending_update=data.get("pending_update"),
            search=data.get("search"),
            due_states=enums("due_states", DueState),
            due_before=date.fromisoformat(data["due_before"]) if "due_before" in data else None,
            retest_due=data.get("retest_due"),
        )


def actions_in_assessments(assessment_clause: ColumnElement[bool]) -> Select[Any]:
    return (
        select(ControlAction.action_id)
        .join(Control, Control.id == ControlAction.control_id)
        .join(Assessment, Assessment.id == Control.assessment_id)
        .where(assessment_clause)
    )


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def contains(column: SQLCoreOperations[str | None], text: str) -> ColumnElement[bool]:
    """Case-insensitive substring match, with LIKE wildcards taken literally."""
    return column.ilike(_like(text), escape="\\")


def versions_matching(text: str) -> CompoundSelect[int]:
    """Definition versions whose title or guidance, or whose definition's key, holds
    ``text`` (``contains``); an action matches through its accepted version.

    Searched among the definitions, whose number grows with the templates and not with the
    assessments, rather than on every instance row after the join; as a union of one-table
    matches, which PostgreSQL's trigram indexes serve (migration 0008), and on SQLite among
    the candidates of its full-text index (``search_index``).
    """
    version, definition = ActionDefinitionVersion, ActionDefinition
    indexed = indexed_versions(version.id, text)
    by_text = select(version.id).where(
        indexed, or_(contains(version.title, text), contains(version.guidance, text))
    )
    by_key = (
        select(version.id)
        .join(definition, definition.id == version.definition_id)
        .where(indexed, contains(definition.key, text))
    )
    return by_text.union(by_key)


def action_filter_clauses(
    f: ActionFilter, due_soon_days: int | None = None
) -> list[ColumnElement[bool]]:
    """WHERE clauses over an action joined to its definition and accepted version.

    ``due_soon_days``: the organisation's, needed when ``f.needs_due_soon_days``.
    """
    return _action_clauses(f, due_soon_days) + _definition_clauses(f)


def matching_actions(
    f: ActionFilter, readable: ColumnElement[bool], due_soon_days: int | None = None
) -> Select[int]:
    """Ids of the readable actions ``f`` lets through, joined to their definition and
    accepted version only when a clause reads them.

    Counting or ordering the matches then costs an index entry per match, not two more row
    look-ups each: the difference between flat and growing with the assessments.
    """
    action = ImprovementAction
    statement = select(action.id)
    by_definition = _definition_clauses(f)
    if by_definition:
        statement = statement.join(
            ActionDefinition, ActionDefinition.id == action.definition_id
        ).join(ActionDefinitionVersion, ActionDefinitionVersion.id == action.definition_version_id)
    return statement.where(readable, *_action_clauses(f, due_soon_days), *by_definition)


def _action_clauses(f: ActionFilter, due_soon_days: int | None) -> list[ColumnElement[bool]]:
    """The clauses on the action's own row (and the tables their subqueries name)."""
    action = ImprovementAction
    clauses: list[ColumnElement[bool]] = []
    if f.assessment_ids is not None:
        clauses.append(action.id.in_(actions_in_assessments(Assessment.id.in_(f.assessment_ids))))
    if f.group_ids is not None:
        clauses.append(action.id.in_(actions_in_assessments(Assessment.group_id.in_(f.group_ids))))
    if f.regulation_ids is not None:
        templates = select(Template.id).where(Template.regulation_id.in_(f.regulation_ids))
        clauses.append(action.id.in_(actions_in_assessments(Assessment.template_id.in_(templates))))
    if f.implementation_statuses is not None:
        clauses.append(action.implementation_status.in_(f.implementation_statuses))
    if f.test_statuses is not None:
        clauses.append(action.test_status.in_(f.test_statuses))
    if f.exclude_test_statuses:
        clauses.append(action.test_status.not_in(f.exclude_test_statuses))
    if f.assignee_ids is not None:
        clauses.append(action.assignee_id.in_(f.assignee_ids))
    if f.unassigned is not None:
        clauses.append(
            action.assignee_id.is_(None) if f.unassigned else action.assignee_id.isnot(None)
        )
    if f.search:
        clauses.append(action.definition_version_id.in_(versions_matching(f.search)))
    return clauses + _calendar_clauses(f, due_soon_days)


def _definition_clauses(f: ActionFilter) -> list[ColumnElement[bool]]:
    """The clauses that read the action's definition or its accepted version."""
    definition, version = ActionDefinition, ActionDefinitionVersion
    clauses: list[ColumnElement[bool]] = []
    if f.solutions is not None:
        clauses.append(version.solution.in_(f.solutions))
    if f.categories is not None:
        clauses.append(version.category.in_(f.categories))
    if f.implementation_types is not None:
        clauses.append(definition.implementation_type.in_(f.implementation_types))
    if f.owner is not None:
        clauses.append(definition.owner == f.owner)
    if f.pending_update is not None:
        pending = update_pending(version.version, definition.latest_version)
        clauses.append(pending if f.pending_update else ~pending)
    return clauses


def _calendar_clauses(f: ActionFilter, due_soon_days: int | None) -> list[ColumnElement[bool]]:
    today = clock.today()
    clauses: list[ColumnElement[bool]] = []
    if f.due_states is not None:
        if f.needs_due_soon_days and due_soon_days is None:
            raise ValueError("DUE_SOON and ON_TRACK need the organisation's due_soon_days")
        clauses.append(
            or_(
                false(),
                *(calendar.due_state_clause(s, today, due_soon_days or 0) for s in f.due_states),
            )
        )
    if f.due_before is not None:
        clauses.append(calendar.due_before_clause(f.due_before))
    if f.retest_due is not None:
        due = calendar.retest_due_clause(today)
        clauses.append(
            due if f.retest_due else or_(ImprovementAction.retest_due_on.is_(None), ~due)
        )
    return clauses


# Sort keys of action lists, by the names the API uses.
ACTION_ORDER: dict[str, Any] = {
    "KEY": ImprovementAction.sort_key,
    "TITLE": ImprovementAction.sort_title,
    "CATEGORY": ImprovementAction.sort_category,
    "POINTS": ImprovementAction.points,
    "IMPLEMENTATION_STATUS": ImprovementAction.implementation_status,
    "TEST_STATUS": ImprovementAction.test_status,
    "UPDATED_AT": ImprovementAction.updated_at,
}


def action_order(field: str = "KEY", descending: bool = False) -> list[Any]:
    """ORDER BY terms for an action list, with the id as tiebreak so pages are stable."""
    return sort(ACTION_ORDER[field], descending, ImprovementAction.id)
