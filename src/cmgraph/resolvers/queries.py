"""The root query's reads: lists as pages of rows, the viewer, nodes and the score rows."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

import strawberry
from graphql import GraphQLError
from sqlalchemy import Select, or_, select
from strawberry import relay
from strawberry.utils.await_maybe import await_maybe

from cmgraph import global_ids
from cmgraph.domain import text
from cmgraph.domain.action_filter import (
    ActionFilter,
    action_order,
    contains,
    matching_actions,
)
from cmgraph.domain.calendar import due_soon_days_query
from cmgraph.domain.compliance_score import (
    ScoreFigures,
    ScoreParts,
    ScoreScope,
    score_figures,
)
from cmgraph.domain.control_filter import ControlFilter, control_filter_clauses
from cmgraph.domain.enums import OrgRole
from cmgraph.domain.errors import DomainError
from cmgraph.domain.keyset import sort
from cmgraph.domain.models import (
    Assessment,
    Control,
)
from cmgraph.domain.models import (
    Grant as GrantRow,
)
from cmgraph.domain.models import (
    Group as GroupRow,
)
from cmgraph.domain.models import (
    ImprovementAction as ImprovementActionRow,
)
from cmgraph.domain.models import (
    Organisation as OrganisationRow,
)
from cmgraph.domain.models import (
    Regulation as RegulationRow,
)
from cmgraph.domain.models import (
    Template as TemplateRow,
)
from cmgraph.domain.models import (
    User as UserRow,
)
from cmgraph.domain.organisation import organisation_query
from cmgraph.domain.permissions import (
    may_find_people,
    readable_action_clauses,
    readable_assessments,
    readable_groups,
    readable_templates,
    require_may_manage_people,
)
from cmgraph.resolvers.loaders import ASSIGNEE_PREFIX, action_row_select, joined_user
from cmgraph.resolvers.pages import Page, PageRequest, descending, read_page

MAX_FILTER_IDS = 1000


def bad_input(message: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": "BAD_USER_INPUT"})


def ids_of(values: Iterable[str] | None, type_name: str) -> list[int] | None:
    """Database ids behind global ids, refusing malformed ids and ids of another type."""
    if values is None:
        return None
    values = list(values)
    if len(values) > MAX_FILTER_IDS:
        raise bad_input(f"A filter takes at most {MAX_FILTER_IDS} ids of a kind.")
    result = []
    for gid in values:
        row_id = global_ids.row_id_of(gid, type_name)
        if row_id is None:
            shown = gid if len(gid) <= 60 else gid[:57] + "..."
            raise bad_input(f"{shown!r} is not an id of type {type_name}.")
        result.append(row_id)
    return result


def filter_error(error: DomainError) -> GraphQLError:
    """A filter value the domain's text rules refused, as BAD_USER_INPUT."""
    if error.field in (None, "search"):
        return bad_input(error.message)
    return bad_input(f"{error.field}: {error.message}")


def search_of(value: str | None) -> str | None:
    """A list's ``search`` filter under the domain's rule for search text, else BAD_USER_INPUT."""
    try:
        return text.clean_search(value)
    except DomainError as error:
        raise filter_error(error) from None


def values_of(values: list[str] | None, field: str) -> list[str] | None:
    """The values of an exact-match list filter, else BAD_USER_INPUT."""
    try:
        return text.clean_filter_values(values, field=field)
    except DomainError as error:
        raise filter_error(error) from None


def action_filter(f: Any) -> ActionFilter:
    """The domain filter behind the API's filter input (also used by the actions export)."""
    ids = {
        "assessment_ids": ids_of(f.assessment_ids, "Assessment"),
        "group_ids": ids_of(f.group_ids, "Group"),
        "regulation_ids": ids_of(f.regulation_ids, "Regulation"),
        "assignee_ids": ids_of(f.assignee_ids, "User"),
    }
    try:
        return ActionFilter(
            **ids,
            solutions=f.solutions,
            categories=f.categories,
            implementation_types=f.implementation_types,
            implementation_statuses=f.implementation_statuses,
            test_statuses=f.test_statuses,
            exclude_test_statuses=f.exclude_test_statuses,
            owner=f.owner,
            unassigned=f.unassigned,
            pending_update=f.pending_update,
            search=f.search,
            due_states=f.due_states,
            due_before=f.due_before,
            retest_due=f.retest_due,
        )
    except DomainError as error:
        raise filter_error(error) from None


def control_filter(f: Any) -> ControlFilter:
    """The domain filter behind the API's control filter input."""
    ids = {
        "assessment_ids": ids_of(f.assessment_ids, "Assessment"),
        "assignee_ids": ids_of(f.assignee_ids, "User"),
    }
    try:
        return ControlFilter(
            **ids,
            families=f.families,
            keys=f.keys,
            statuses=f.statuses,
            test_statuses=f.test_statuses,
            search=f.search,
        )
    except DomainError as error:
        raise filter_error(error) from None


async def resolve_global_ids(info: strawberry.Info, ids: Sequence[str]) -> list[Any]:
    """Objects behind global ids, in order; None for unknown, malformed or unreadable ones."""
    refs = [global_ids.decode(gid) for gid in ids]
    wanted: dict[str, list[str]] = {}
    for ref in refs:
        if ref is not None:
            wanted.setdefault(ref.type_name, []).append(str(ref.row_id))
    found: dict[tuple[str, str], Any] = {}
    for type_name, node_ids in wanted.items():
        definition = info.schema.get_type_by_name(type_name)
        origin = getattr(definition, "origin", None)
        concrete = not getattr(definition, "is_interface", True)
        if not (concrete and isinstance(origin, type) and issubclass(origin, relay.Node)):
            continue
        nodes = await await_maybe(origin.resolve_nodes(info=info, node_ids=node_ids))
        found.update(((type_name, i), n) for i, n in zip(node_ids, nodes, strict=True))
    return [None if ref is None else found.get((ref.type_name, str(ref.row_id))) for ref in refs]


@dataclass(frozen=True)
class GrantRecord:
    """A grant of the caller with what it names, each None when no longer readable."""

    role: OrgRole
    assessment: Assessment | None
    regulation: RegulationRow | None
    id: int
    created_at: datetime


@dataclass(frozen=True)
class ViewerRecord:
    user: UserRow
    role: OrgRole | None
    grants: list[GrantRecord]


async def viewer(info: strawberry.Info) -> ViewerRecord:
    principal, loaders = info.context.principal, info.context.loaders
    user = await loaders.user.load(principal.user_id)
    statement = select(GrantRow).where(GrantRow.user_id == principal.user_id)
    grants = list((await info.context.reader.execute(statement)).scalars())
    return ViewerRecord(user=user, role=principal.role, grants=await grant_records(info, grants))


async def grant_records(info: strawberry.Info, grants: Sequence[GrantRow]) -> list[GrantRecord]:
    """``grants`` with what they name, as the caller may read it."""
    loaders = info.context.loaders
    # One batch per kind, whatever the number of grants (a None id names nothing).
    assessments = await loaders.assessment.load_many([g.assessment_id for g in grants])
    regulations = await loaders.regulation.load_many([g.regulation_id for g in grants])
    return [
        GrantRecord(grant.role, assessment, regulation, grant.id, grant.created_at)
        for grant, assessment, regulation in zip(grants, assessments, regulations, strict=True)
    ]


def owners_only(info: strawberry.Info, what: str) -> None:
    """The domain's rule (only owners manage people), its refusal as a GraphQL error."""
    try:
        require_may_manage_people(info.context.principal, what)
    except DomainError as error:
        raise GraphQLError(error.message, extensions={"code": error.code.value}) from None


async def assessments(
    info: strawberry.Info, filter: Any, order_by: Any, request: PageRequest
) -> Page:
    statement = select(Assessment).where(readable_assessments(info.context.principal))
    if (ids := ids_of(filter.group_ids, "Group")) is not None:
        statement = statement.where(Assessment.group_id.in_(ids))
    if (ids := ids_of(filter.template_ids, "Template")) is not None:
        statement = statement.where(Assessment.template_id.in_(ids))
    if (ids := ids_of(filter.regulation_ids, "Regulation")) is not None:
        templates = select(TemplateRow.id).where(TemplateRow.regulation_id.in_(ids))
        statement = statement.where(Assessment.template_id.in_(templates))
    if filter.archived is not None:
        archived = Assessment.archived_at.isnot(None)
        statement = statement.where(archived if filter.archived else ~archived)
    if (search := search_of(filter.search)) is not None:
        statement = statement.where(contains(Assessment.name, search))
    column = {
        "NAME": Assessment.name,
        "CREATED_AT": Assessment.created_at,
    }[order_by.field.value]
    order = sort(column, descending(order_by), Assessment.id)
    return await read_page(info, statement, order, request)


@lru_cache(maxsize=256)  # a client choosing fields at random cannot make it grow for ever
def _action_rows(with_assignee: bool, left_out: frozenset[str]) -> Select[*tuple[Any, ...]]:
    """``action_row_select(left_out)``, with the assignee's ``USER_COLUMNS``
    (``assignee_user_`` + name) if asked, built once (a quarter of a millisecond): statements
    are immutable, each request adds its own WHERE to a copy."""
    rows = action_row_select(left_out)
    if not with_assignee:
        return rows
    user, columns = joined_user(
        ASSIGNEE_PREFIX, frozenset(c for c in left_out if c.startswith(ASSIGNEE_PREFIX))
    )
    return rows.outerjoin(user, user.id == ImprovementActionRow.assignee_id).add_columns(*columns)


async def improvement_actions(
    info: strawberry.Info,
    filter: Any,
    order_by: Any,
    request: PageRequest,
    *,
    with_assignee: bool = False,
    left_out: frozenset[str] = frozenset(),
) -> Page:
    """A page of flat rows of ``action_row_select()``: columns only, no ORM entities.

    The filter, order and count run over the actions' ids (``matching_actions``); only the
    page's rows are joined to what they show. ``with_assignee``: each row brings its
    assignee's columns along; ``left_out``: columns it reads as NULL, by label (the
    assignee's prefixed), when the query does not select them (``action_row_select``).
    """
    f = action_filter(filter)
    reader = info.context.reader
    days = await reader.scalar(due_soon_days_query()) if f.needs_due_soon_days else None
    statement = matching_actions(f, readable_action_clauses(info.context.principal), days)
    order = action_order(order_by.field.value, descending(order_by))
    shown = _action_rows(with_assignee, left_out)
    return await read_page(info, statement, order, request, scalars=False, shown=shown)


async def controls(info: strawberry.Info, filter: Any, order_by: Any, request: PageRequest) -> Page:
    statement = (
        select(Control)
        .join(Assessment, Assessment.id == Control.assessment_id)
        .where(readable_assessments(info.context.principal))
        .where(*control_filter_clauses(control_filter(filter)))
    )
    column = {
        "POSITION": Control.sort_order,
        "KEY": Control.key,
        "TITLE": Control.title,
    }[order_by.field.value]
    order = [Control.assessment_id, *sort(column, descending(order_by), Control.id)]
    return await read_page(info, statement, order, request)


async def groups(info: strawberry.Info, filter: Any, order_by: Any, request: PageRequest) -> Page:
    statement = select(GroupRow).where(readable_groups(info.context.principal))
    if (search := search_of(filter.search)) is not None:
        statement = statement.where(contains(GroupRow.name, search))
    column = {
        "NAME": GroupRow.name,
        "CREATED_AT": GroupRow.created_at,
    }[order_by.field.value]
    order = sort(column, descending(order_by), GroupRow.id)
    return await read_page(info, statement, order, request)


async def templates(
    info: strawberry.Info, filter: Any, order_by: Any, request: PageRequest
) -> Page:
    statement = select(TemplateRow).where(readable_templates(info.context.principal))
    if (ids := ids_of(filter.regulation_ids, "Regulation")) is not None:
        statement = statement.where(TemplateRow.regulation_id.in_(ids))
    if (search := search_of(filter.search)) is not None:
        statement = statement.where(contains(TemplateRow.title, search))
    column = {
        "TITLE": TemplateRow.title,
        "CREATED_AT": TemplateRow.created_at,
    }[order_by.field.value]
    order = sort(column, descending(order_by), TemplateRow.id)
    return await read_page(info, statement, order, request)


async def users(info: strawberry.Info, filter: Any, order_by: Any, request: PageRequest) -> Page:
    owners_only(info, "list users")
    statement = select(UserRow)
    if filter.roles is not None:
        statement = statement.where(UserRow.role.in_(filter.roles))
    if (search := search_of(filter.search)) is not None:
        statement = statement.where(
            or_(contains(UserRow.name, search), contains(UserRow.email, search))
        )
    column = {
        "EMAIL": UserRow.email,
        "NAME": UserRow.name,
        "CREATED_AT": UserRow.created_at,
    }[order_by.field.value]
    order = sort(column, descending(order_by), UserRow.id)
    return await read_page(info, statement, order, request)


async def people(info: strawberry.Info, search: str | None, request: PageRequest) -> Page:
    """People work can be assigned to (not automation accounts, not disabled people), by
    name; rows of id, name and email only."""
    if not may_find_people(info.context.principal):
        raise GraphQLError(
            "Only people who may assign work may search for people.",
            extensions={"code": "FORBIDDEN"},
        )
    statement = select(UserRow.id, UserRow.name, UserRow.email).where(
        UserRow.is_automation.is_(False), UserRow.disabled_at.is_(None)
    )
    if (text_ := search_of(search)) is not None:
        statement = statement.where(
            or_(contains(UserRow.name, text_), contains(UserRow.email, text_))
        )
    order = [UserRow.name, UserRow.id]
    return await read_page(info, statement, order, request, scalars=False)


def score_scope(filter: Any) -> ScoreScope:
    return ScoreScope(
        assessment_ids=ids_of(filter.assessment_ids, "Assessment"),
        group_ids=ids_of(filter.group_ids, "Group"),
        regulation_ids=ids_of(filter.regulation_ids, "Regulation"),
        categories=values_of(filter.categories, "categories"),
        solutions=values_of(filter.solutions, "solutions"),
        owner=filter.owner,
        implementation_types=filter.implementation_types,
    )


async def compliance_score(
    info: strawberry.Info, scope: ScoreScope, parts: ScoreParts
) -> ScoreFigures:
    context = info.context
    return await score_figures(context.reader.execute, context.principal, scope, parts)


async def organisation(info: strawberry.Info) -> OrganisationRow:
    row: OrganisationRow = await info.context.reader.scalar(organisation_query())
    return row
