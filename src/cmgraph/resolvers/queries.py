"""The root query: lists as connections, the viewer, nodes and the compliance score."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import strawberry
from graphql import GraphQLError
from sqlalchemy import Select, func, or_, select
from strawberry import relay
from strawberry.utils.await_maybe import await_maybe

from cmgraph import global_ids
from cmgraph.domain import text
from cmgraph.domain.action_filter import (
    ActionFilter,
    action_filter_clauses,
    action_order,
    contains,
)
from cmgraph.domain.action_records import ActionRecord, action_select
from cmgraph.domain.compliance_score import ScoreScope, score_rows
from cmgraph.domain.enums import OrgRole
from cmgraph.domain.errors import DomainError
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
    Organisation as OrganisationRow,
)
from cmgraph.domain.models import (
    Template as TemplateRow,
)
from cmgraph.domain.models import (
    User as UserRow,
)
from cmgraph.domain.permissions import (
    readable_actions,
    readable_assessments,
    readable_groups,
    readable_templates,
)
from cmgraph.schema import inputs
from cmgraph.schema.connections import Connection, build_connection, page_window
from cmgraph.schema.enums import OrderDirection
from cmgraph.schema.exports import ExportLink, link_for
from cmgraph.schema.score import ComplianceScore
from cmgraph.schema.selection import connection_nodes, selected
from cmgraph.schema.types import (
    Assessment as AssessmentType,
)
from cmgraph.schema.types import (
    Control as ControlType,
)
from cmgraph.schema.types import (
    Grant,
    ImprovementAction,
    Organisation,
    Regulation,
    Template,
    User,
    Viewer,
    prefetch_actions,
    prefetch_controls,
)
from cmgraph.schema.types import (
    Group as GroupType,
)

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


def search_of(value: str | None) -> str | None:
    """A list's ``search`` filter under the domain's rule for search text, else BAD_USER_INPUT."""
    try:
        return text.clean_search(value)
    except DomainError as error:
        raise bad_input(error.message) from None


def values_of(values: list[str] | None, field: str) -> list[str] | None:
    """The values of an exact-match list filter, else BAD_USER_INPUT."""
    try:
        return text.clean_filter_values(values, field=field)
    except DomainError as error:
        raise bad_input(f"{field}: {error.message}") from None


async def paginate(
    info: strawberry.Info,
    statement: Select[*tuple[Any, ...]],
    order: list[Any],
    first: int | None,
    after: str | None,
    convert: Callable[[Any], Any],
    *,
    scalars: bool = True,
) -> Connection[Any]:
    offset, limit = page_window(first, after, info.context.settings.max_page_size)
    reader = info.context.reader
    result = await reader.execute(statement.order_by(*order).offset(offset).limit(limit + 1))
    rows = list(result.scalars()) if scalars else list(result.all())

    async def count() -> int:
        counted = select(func.count()).select_from(statement.order_by(None).subquery())
        return int(await reader.scalar(counted))

    return build_connection([convert(row) for row in rows], offset, limit, count)


def sort(column: Any, direction: OrderDirection, tiebreak: Any) -> list[Any]:
    return [column.desc() if direction is OrderDirection.DESC else column.asc(), tiebreak]


def action_filter(f: inputs.ImprovementActionFilter | None) -> ActionFilter:
    """The domain filter behind the API's filter input (also used by the actions export)."""
    f = f or inputs.ImprovementActionFilter()
    return ActionFilter(
        assessment_ids=ids_of(f.assessment_ids, "Assessment"),
        group_ids=ids_of(f.group_ids, "Group"),
        regulation_ids=ids_of(f.regulation_ids, "Regulation"),
        solutions=values_of(f.solutions, "solutions"),
        categories=values_of(f.categories, "categories"),
        implementation_types=f.implementation_types,
        implementation_statuses=f.implementation_statuses,
        test_statuses=f.test_statuses,
        owner=f.owner,
        assignee_ids=ids_of(f.assignee_ids, "User"),
        unassigned=f.unassigned,
        pending_update=f.pending_update,
        search=search_of(f.search),
    )


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


@strawberry.type
class Query:
    # ``node`` and ``nodes`` take plain ``ID``s (the same GraphQL type as ``relay.GlobalID``)
    # so that the one codec judges the whole id, base64 included: anything that is not a
    # canonical id of a readable object is null, never an error.
    @strawberry.field(description="Any object by its global id; null if absent or not readable.")
    async def node(self, info: strawberry.Info, id: strawberry.ID) -> relay.Node | None:
        return (await resolve_global_ids(info, [id]))[0]

    @strawberry.field(description="Objects by global ids, in the order asked.")
    async def nodes(
        self, info: strawberry.Info, ids: list[strawberry.ID]
    ) -> list[relay.Node | None]:
        if len(ids) > info.context.settings.max_page_size:
            raise bad_input(f"At most {info.context.settings.max_page_size} ids at once.")
        return await resolve_global_ids(info, ids)

    @strawberry.field(description="The caller.")
    async def viewer(self, info: strawberry.Info) -> Viewer:
        principal = info.context.principal
        user = await info.context.loaders.user.load(principal.user_id)
        grants = (
            await info.context.reader.execute(
                select(GrantRow).where(GrantRow.user_id == principal.user_id)
            )
        ).scalars()
        result = []
        for grant in grants:
            assessment = regulation = None
            if grant.assessment_id is not None:
                row = await info.context.loaders.assessment.load(grant.assessment_id)
                assessment = AssessmentType.from_row(row) if row is not None else None
            if grant.regulation_id is not None:
                row = await info.context.loaders.regulation.load(grant.regulation_id)
                regulation = Regulation.from_row(row) if row is not None else None
            result.append(Grant(role=grant.role, assessment=assessment, regulation=regulation))
        return Viewer(user=User.from_row(user), role=principal.role, grants=result)

    @strawberry.field
    async def assessments(
        self,
        info: strawberry.Info,
        filter: inputs.AssessmentFilter | None = None,
        order_by: inputs.AssessmentOrder | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[AssessmentType]:
        statement = select(Assessment).where(readable_assessments(info.context.principal))
        f = filter or inputs.AssessmentFilter()
        if (ids := ids_of(f.group_ids, "Group")) is not None:
            statement = statement.where(Assessment.group_id.in_(ids))
        if (ids := ids_of(f.template_ids, "Template")) is not None:
            statement = statement.where(Assessment.template_id.in_(ids))
        if (ids := ids_of(f.regulation_ids, "Regulation")) is not None:
            templates = select(TemplateRow.id).where(TemplateRow.regulation_id.in_(ids))
            statement = statement.where(Assessment.template_id.in_(templates))
        if f.archived is not None:
            archived = Assessment.archived_at.isnot(None)
            statement = statement.where(archived if f.archived else ~archived)
        if (search := search_of(f.search)) is not None:
            statement = statement.where(contains(Assessment.name, search))
        o = order_by or inputs.AssessmentOrder()
        column = {
            inputs.AssessmentOrderField.NAME: Assessment.name,
            inputs.AssessmentOrderField.CREATED_AT: Assessment.created_at,
        }[o.field]
        return await paginate(
            info,
            statement,
            sort(column, o.direction, Assessment.id),
            first,
            after,
            AssessmentType.from_row,
        )

    @strawberry.field
    async def improvement_actions(
        self,
        info: strawberry.Info,
        filter: inputs.ImprovementActionFilter | None = None,
        order_by: inputs.ImprovementActionOrder | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[ImprovementAction]:
        statement = action_select().where(
            readable_actions(info.context.principal),
            *action_filter_clauses(action_filter(filter)),
        )
        o = order_by or inputs.ImprovementActionOrder()
        connection = await paginate(
            info,
            statement,
            action_order(o.field.value, o.direction is OrderDirection.DESC),
            first,
            after,
            lambda row: ImprovementAction.from_record(ActionRecord(*row)),
            scalars=False,
        )
        await prefetch_actions(info, connection.nodes, connection_nodes(selected(info)))
        return connection

    @strawberry.field(
        description="Spreadsheet (xlsx) of the actions `improvementActions` lists with the same "
        "filter and order, all pages. Edit it and upload it to `importImprovementActions`."
    )
    def improvement_actions_export(
        self,
        info: strawberry.Info,
        filter: inputs.ImprovementActionFilter | None = None,
        order_by: inputs.ImprovementActionOrder | None = None,
    ) -> ExportLink:
        o = order_by or inputs.ImprovementActionOrder()
        params = {
            "filter": action_filter(filter).to_json(),
            "order": o.field.value,
            "descending": o.direction is OrderDirection.DESC,
        }
        return link_for(info, "improvement-actions", params)

    @strawberry.field
    async def controls(
        self,
        info: strawberry.Info,
        filter: inputs.ControlFilter | None = None,
        order_by: inputs.ControlOrder | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[ControlType]:
        statement = (
            select(Control)
            .join(Assessment, Assessment.id == Control.assessment_id)
            .where(readable_assessments(info.context.principal))
        )
        f = filter or inputs.ControlFilter()
        if (ids := ids_of(f.assessment_ids, "Assessment")) is not None:
            statement = statement.where(Control.assessment_id.in_(ids))
        if (families := values_of(f.families, "families")) is not None:
            statement = statement.where(Control.family.in_(families))
        if (search := search_of(f.search)) is not None:
            statement = statement.where(
                or_(contains(Control.key, search), contains(Control.title, search))
            )
        o = order_by or inputs.ControlOrder()
        column = {
            inputs.ControlOrderField.POSITION: Control.sort_order,
            inputs.ControlOrderField.KEY: Control.key,
            inputs.ControlOrderField.TITLE: Control.title,
        }[o.field]
        order = [Control.assessment_id, *sort(column, o.direction, Control.id)]
        connection = await paginate(info, statement, order, first, after, ControlType.from_row)
        await prefetch_controls(info, connection.nodes, connection_nodes(selected(info)))
        return connection

    @strawberry.field
    async def groups(
        self,
        info: strawberry.Info,
        filter: inputs.GroupFilter | None = None,
        order_by: inputs.GroupOrder | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[GroupType]:
        statement = select(GroupRow).where(readable_groups(info.context.principal))
        f = filter or inputs.GroupFilter()
        if (search := search_of(f.search)) is not None:
            statement = statement.where(contains(GroupRow.name, search))
        o = order_by or inputs.GroupOrder()
        column = {
            inputs.GroupOrderField.NAME: GroupRow.name,
            inputs.GroupOrderField.CREATED_AT: GroupRow.created_at,
        }[o.field]
        return await paginate(
            info,
            statement,
            sort(column, o.direction, GroupRow.id),
            first,
            after,
            GroupType.from_row,
        )

    @strawberry.field
    async def templates(
        self,
        info: strawberry.Info,
        filter: inputs.TemplateFilter | None = None,
        order_by: inputs.TemplateOrder | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Template]:
        statement = select(TemplateRow).where(readable_templates(info.context.principal))
        f = filter or inputs.TemplateFilter()
        if (ids := ids_of(f.regulation_ids, "Regulation")) is not None:
            statement = statement.where(TemplateRow.regulation_id.in_(ids))
        if (search := search_of(f.search)) is not None:
            statement = statement.where(contains(TemplateRow.title, search))
        o = order_by or inputs.TemplateOrder()
        column = {
            inputs.TemplateOrderField.TITLE: TemplateRow.title,
            inputs.TemplateOrderField.CREATED_AT: TemplateRow.created_at,
        }[o.field]
        return await paginate(
            info,
            statement,
            sort(column, o.direction, TemplateRow.id),
            first,
            after,
            Template.from_row,
        )

    @strawberry.field(description="Everyone with access. Owners only.")
    async def users(
        self,
        info: strawberry.Info,
        filter: inputs.UserFilter | None = None,
        order_by: inputs.UserOrder | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[User]:
        if not info.context.principal.has_org_role(OrgRole.OWNER):
            raise GraphQLError("Only owners may list users.", extensions={"code": "FORBIDDEN"})
        statement = select(UserRow)
        f = filter or inputs.UserFilter()
        if f.roles is not None:
            statement = statement.where(UserRow.role.in_(f.roles))
        if (search := search_of(f.search)) is not None:
            statement = statement.where(
                or_(contains(UserRow.name, search), contains(UserRow.email, search))
            )
        o = order_by or inputs.UserOrder()
        column = {
            inputs.UserOrderField.EMAIL: UserRow.email,
            inputs.UserOrderField.NAME: UserRow.name,
            inputs.UserOrderField.CREATED_AT: UserRow.created_at,
        }[o.field]
        return await paginate(
            info, statement, sort(column, o.direction, UserRow.id), first, after, User.from_row
        )

    @strawberry.field(description="Scores over the active assessments you can read.")
    async def compliance_score(
        self, info: strawberry.Info, filter: inputs.ScoreFilter | None = None
    ) -> ComplianceScore:
        f = filter or inputs.ScoreFilter()
        scope = ScoreScope(
            assessment_ids=ids_of(f.assessment_ids, "Assessment"),
            group_ids=ids_of(f.group_ids, "Group"),
            regulation_ids=ids_of(f.regulation_ids, "Regulation"),
            categories=values_of(f.categories, "categories"),
            solutions=values_of(f.solutions, "solutions"),
            owner=f.owner,
        )
        context = info.context
        return ComplianceScore(
            rows=await score_rows(context.reader.execute, context.principal, scope)
        )

    @strawberry.field(description="The organisation and its settings; any signed-in user.")
    async def organisation(self, info: strawberry.Info) -> Organisation:
        row = await info.context.reader.scalar(
            select(OrganisationRow).order_by(OrganisationRow.id).limit(1)
        )
        return Organisation(name=row.name, automatic_testing=row.automatic_testing)
