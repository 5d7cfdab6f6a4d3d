"""Which improvement actions a list shows: one filter for the API list and its spreadsheet.

The ``improvementActions`` query and the actions export build the same ``ActionFilter``, so
a spreadsheet holds exactly the rows the list showed.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, CompoundSelect, Select, false, or_, select, true
from sqlalchemy.sql.elements import SQLCoreOperations

from cmgraph.domain import calendar, clock, text
from cmgraph.domain.calendar import DueState
from cmgraph.domain.clause_shapes import Clauses, ShapedSelect
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
from cmgraph.domain.search_index import IndexedVersions, indexed_versions, search_phrase
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


def like_pattern(text: str) -> str:
    """``text`` as a LIKE pattern for a substring, its wildcards escaped (``contains``)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def contains(column: SQLCoreOperations[str | None], text: str) -> ColumnElement[bool]:
    """Case-insensitive substring match, with LIKE wildcards taken literally."""
    return matches(column, like_pattern(text))


def matches(column: SQLCoreOperations[str | None], pattern: Any) -> ColumnElement[bool]:
    """Case-insensitive match of a ``like_pattern`` (a string or a bound parameter)."""
    return column.ilike(pattern, escape="\\")


def versions_matching(text: str) -> CompoundSelect[int]:
    """Definition versions whose title or guidance, or whose definition's key, holds
    ``text`` (``contains``); an action matches through its accepted version.

    Searched among the definitions, whose number grows with the templates and not with the
    assessments, rather than on every instance row after the join; as a union of one-table
    matches, which PostgreSQL's trigram indexes serve (migration 0008), and on SQLite among
    the candidates of its full-text index (``search_index``).
    """
    return _versions_matching(
        like_pattern(text), indexed_versions(ActionDefinitionVersion.id, text)
    )


def _versions_matching(pattern: Any, indexed: ColumnElement[bool]) -> CompoundSelect[int]:
    version, definition = ActionDefinitionVersion, ActionDefinition
    by_text = select(version.id).where(
        indexed, or_(matches(version.title, pattern), matches(version.guidance, pattern))
    )
    by_key = (
        select(version.id)
        .join(definition, definition.id == version.definition_id)
        .where(indexed, matches(definition.key, pattern))
    )
    return by_text.union(by_key)


def action_filter_clauses(
    f: ActionFilter, due_soon_days: int | None = None
) -> list[ColumnElement[bool]]:
    """WHERE clauses over an action joined to its definition and accepted version.

    ``due_soon_days``: the organisation's, needed when ``f.needs_due_soon_days``.
    """
    own, by_definition = filter_clauses(f, due_soon_days)
    return own.built() + by_definition.built()


def matching_actions(
    f: ActionFilter, readable: Clauses, due_soon_days: int | None = None
) -> ShapedSelect:
    """Ids of the readable actions ``f`` lets through, joined to their definition and
    accepted version only when a clause reads them; known by its shape (``clause_shapes``).

    Counting or ordering the matches then costs an index entry per match, not two more row
    look-ups each: the difference between flat and growing with the assessments.
    """
    own, by_definition = filter_clauses(f, due_soon_days)
    own.extend(readable)
    own.extend(by_definition)

    def build() -> Select[int]:
        action = ImprovementAction
        statement = select(action.id)
        if by_definition.builders:
            statement = statement.join(
                ActionDefinition, ActionDefinition.id == action.definition_id
            ).join(
                ActionDefinitionVersion,
                ActionDefinitionVersion.id == action.definition_version_id,
            )
        return statement.where(*own.built())

    return ShapedSelect(("matching_actions", own.key()), own.values, build)


def filter_clauses(f: ActionFilter, due_soon_days: int | None) -> tuple[Clauses, Clauses]:
    """The clauses on the action's own row (and the tables their subqueries name), and
    those that read its definition or accepted version."""
    own, by_definition = Clauses(), Clauses()
    _action_clauses(f, own)
    _calendar_clauses(f, due_soon_days, own)
    _definition_clauses(f, by_definition)
    return own, by_definition


def _action_clauses(f: ActionFilter, into: Clauses) -> None:
    action = ImprovementAction
    if f.assessment_ids is not None:
        into.add(
            "assessment_ids",
            lambda assessment_ids: action.id.in_(
                actions_in_assessments(Assessment.id.in_(assessment_ids))
            ),
            assessment_ids=f.assessment_ids,
        )
    if f.group_ids is not None:
        into.add(
            "group_ids",
            lambda group_ids: action.id.in_(
                actions_in_assessments(Assessment.group_id.in_(group_ids))
            ),
            group_ids=f.group_ids,
        )
    if f.regulation_ids is not None:

        def in_regulations(regulation_ids: Any) -> ColumnElement[bool]:
            templates = select(Template.id).where(Template.regulation_id.in_(regulation_ids))
            return action.id.in_(actions_in_assessments(Assessment.template_id.in_(templates)))

        into.add("regulation_ids", in_regulations, regulation_ids=f.regulation_ids)
    into.among("implementation_statuses", action.implementation_status, f.implementation_statuses)
    into.among("test_statuses", action.test_status, f.test_statuses)
    if f.exclude_test_statuses:
        into.add(
            "exclude_test_statuses",
            lambda exclude_test_statuses: action.test_status.not_in(exclude_test_statuses),
            exclude_test_statuses=f.exclude_test_statuses,
        )
    into.among("assignee_ids", action.assignee_id, f.assignee_ids)
    if f.unassigned is not None:
        unassigned = f.unassigned
        into.add(
            ("unassigned", unassigned),
            lambda: action.assignee_id.is_(None) if unassigned else action.assignee_id.isnot(None),
        )
    if f.search:
        _search_clause(f.search, into)


def _search_clause(text: str, into: Clauses) -> None:
    """``versions_matching`` with its pattern and phrase as named values."""
    phrase = search_phrase(text)
    values: dict[str, Any] = {"search_pattern": like_pattern(text)}
    if phrase is not None:
        values["search_phrase"] = phrase

    def build(search_pattern: Any, search_phrase: Any = None) -> ColumnElement[bool]:
        indexed = (
            true()
            if search_phrase is None
            else IndexedVersions(ActionDefinitionVersion.id, search_phrase)
        )
        return ImprovementAction.definition_version_id.in_(
            _versions_matching(search_pattern, indexed)
        )

    into.add(("search", phrase is not None), build, **values)


def _definition_clauses(f: ActionFilter, into: Clauses) -> None:
    definition, version = ActionDefinition, ActionDefinitionVersion
    into.among("solutions", version.solution, f.solutions)
    into.among("categories", version.category, f.categories)
    into.among("implementation_types", definition.implementation_type, f.implementation_types)
    if f.owner is not None:
        into.add("owner", lambda owner: definition.owner == owner, owner=f.owner)
    if f.pending_update is not None:
        wanted = f.pending_update

        def pending_update() -> ColumnElement[bool]:
            pending: ColumnElement[bool] = update_pending(
                version.version, definition.latest_version
            )
            return pending if wanted else ~pending

        into.add(("pending_update", wanted), pending_update)


def _calendar_clauses(f: ActionFilter, due_soon_days: int | None, into: Clauses) -> None:
    today = clock.today()  # once: the clauses agree on the day
    if f.due_states is not None:
        if f.needs_due_soon_days and due_soon_days is None:
            raise ValueError("DUE_SOON and ON_TRACK need the organisation's due_soon_days")
        states = tuple(f.due_states)
        values: dict[str, Any] = {"today": today}
        if f.needs_due_soon_days:
            values["due_soon_until"] = calendar.due_soon_until(today, due_soon_days or 0)

        def due(today: Any, due_soon_until: Any = None) -> ColumnElement[bool]:
            return or_(
                false(), *(calendar.due_state_clause(s, today, due_soon_until) for s in states)
            )

        into.add(("due_states", states), due, **values)
    if f.due_before is not None:
        into.add(
            "due_before",
            lambda due_before: calendar.due_before_clause(due_before),
            due_before=f.due_before,
        )
    if f.retest_due is not None:
        wanted = f.retest_due

        def retest_due(today: Any) -> ColumnElement[bool]:
            due = calendar.retest_due_clause(today)
            return due if wanted else or_(ImprovementAction.retest_due_on.is_(None), ~due)

        into.add(("retest_due", wanted), retest_due, today=today)


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


@functools.cache
def action_order(field: str = "KEY", descending: bool = False) -> tuple[Any, ...]:
    """ORDER BY terms for an action list, with the id as tiebreak so pages are stable (made
    once for each order)."""
    return tuple(sort(ACTION_ORDER[field], descending, ImprovementAction.id))
