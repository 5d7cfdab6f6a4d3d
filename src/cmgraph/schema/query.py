"""The root query: lists as connections, the viewer, nodes and the compliance score."""

from __future__ import annotations

from collections.abc import Iterable

import strawberry
from strawberry import relay
from strawberry.utils.str_converters import to_camel_case

from cmgraph.resolvers import queries
from cmgraph.resolvers.loaders import (
    ASSIGNEE_PREFIX,
    OWN_FIELD_COLUMNS,
    USER_COLUMNS,
    action_row_select,
)
from cmgraph.resolvers.pages import PageRequest, descending
from cmgraph.resolvers.selection import Selection, connection_nodes, selected
from cmgraph.schema import inputs
from cmgraph.schema.connections import Connection, connection
from cmgraph.schema.exports import ExportLink, link_for
from cmgraph.schema.score import ComplianceScore, parts_wanted
from cmgraph.schema.types import (
    Assessment,
    Control,
    Grant,
    Group,
    ImprovementAction,
    Organisation,
    Person,
    Template,
    User,
    Viewer,
    prefetch_actions,
    prefetch_assessments,
    prefetch_controls,
)

# The columns an action list reads only when its nodes select their field, by field name.
_OWN_FIELDS = {to_camel_case(column): column for column in OWN_FIELD_COLUMNS}


def _shown_as_is(cls: type, labels: Iterable[str]) -> dict[str, str]:
    """GraphQL name -> column, for the fields of ``cls`` that show the column of their
    name as it is (no resolver of their own). Private fields are listed too: no query
    names them."""
    columns = set(labels)
    definition = cls.__strawberry_definition__  # type: ignore[attr-defined]
    return {
        field.graphql_name or to_camel_case(field.python_name): field.python_name
        for field in definition.fields
        if field.base_resolver is None and field.python_name in columns
    }


# When a list's nodes show nothing but such fields (and so does their assignee), it reads
# those columns and the ids alone, the others as NULL.
_ROW_COLUMNS = frozenset(str(c.key) for c in action_row_select().selected_columns)
_ACTION_COLUMNS = _shown_as_is(ImprovementAction, _ROW_COLUMNS)
_USER_COLUMNS = _shown_as_is(User, (c.key for c in USER_COLUMNS))
_EVERY_COLUMN = _ROW_COLUMNS | {ASSIGNEE_PREFIX + c.key for c in USER_COLUMNS}
_ALWAYS_SHOWN = frozenset({"id", "__typename"})
# Fields that compare the action's own columns with its definition's newer version: with
# one of them asked, every column is read.
_READ_EVERY_COLUMN = frozenset({"pendingUpdateChanges"})


@strawberry.type
class Query:
    # ``node`` and ``nodes`` take plain ``ID``s (the same GraphQL type as ``relay.GlobalID``)
    # so that the one codec judges the whole id, base64 included: anything that is not a
    # canonical id of a readable object is null, never an error.
    @strawberry.field(description="Any object by its global id; null if absent or not readable.")
    async def node(self, info: strawberry.Info, id: strawberry.ID) -> relay.Node | None:
        return (await queries.resolve_global_ids(info, [id]))[0]

    @strawberry.field(description="Objects by global ids, in the order asked.")
    async def nodes(
        self, info: strawberry.Info, ids: list[strawberry.ID]
    ) -> list[relay.Node | None]:
        if len(ids) > info.context.settings.max_page_size:
            raise queries.bad_input(f"At most {info.context.settings.max_page_size} ids at once.")
        return await queries.resolve_global_ids(info, ids)

    @strawberry.field(description="The caller.")
    async def viewer(self, info: strawberry.Info) -> Viewer:
        record = await queries.viewer(info)
        grants = [Grant.of(grant) for grant in record.grants]
        return Viewer(user=User.from_row(record.user), role=record.role, grants=grants)

    @strawberry.field
    async def assessments(
        self,
        info: strawberry.Info,
        filter: inputs.AssessmentFilter | None = None,
        order_by: inputs.AssessmentOrder | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[Assessment]:
        page = await queries.assessments(
            info,
            filter or inputs.AssessmentFilter(),
            order_by or inputs.AssessmentOrder(),
            PageRequest(first, after, last, before),
        )
        result = connection(page, Assessment.from_row)
        await prefetch_assessments(info, result.nodes, connection_nodes(selected(info)))
        return result

    @strawberry.field
    async def improvement_actions(
        self,
        info: strawberry.Info,
        filter: inputs.ImprovementActionFilter | None = None,
        order_by: inputs.ImprovementActionOrder | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[ImprovementAction]:
        wanted = connection_nodes(selected(info))
        with_assignee = "assignee" in wanted
        left_out, only_shown = _left_out(wanted)
        page = await queries.improvement_actions(
            info,
            filter or inputs.ImprovementActionFilter(),
            order_by or inputs.ImprovementActionOrder(),
            PageRequest(first, after, last, before),
            with_assignee=with_assignee,
            left_out=left_out,
        )
        reading = ImprovementAction.reading(wanted, with_assignee, fill=not only_shown)
        result = connection(page, reading)
        await prefetch_actions(info, result.nodes, wanted)
        return result

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
            "filter": queries.action_filter(filter or inputs.ImprovementActionFilter()).to_json(),
            "order": o.field.value,
            "descending": descending(o),
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
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[Control]:
        page = await queries.controls(
            info,
            filter or inputs.ControlFilter(),
            order_by or inputs.ControlOrder(),
            PageRequest(first, after, last, before),
        )
        result = connection(page, Control.from_row)
        await prefetch_controls(info, result.nodes, connection_nodes(selected(info)))
        return result

    @strawberry.field
    async def groups(
        self,
        info: strawberry.Info,
        filter: inputs.GroupFilter | None = None,
        order_by: inputs.GroupOrder | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[Group]:
        page = await queries.groups(
            info,
            filter or inputs.GroupFilter(),
            order_by or inputs.GroupOrder(),
            PageRequest(first, after, last, before),
        )
        return connection(page, Group.from_row)

    @strawberry.field
    async def templates(
        self,
        info: strawberry.Info,
        filter: inputs.TemplateFilter | None = None,
        order_by: inputs.TemplateOrder | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[Template]:
        page = await queries.templates(
            info,
            filter or inputs.TemplateFilter(),
            order_by or inputs.TemplateOrder(),
            PageRequest(first, after, last, before),
        )
        return connection(page, Template.from_row)

    @strawberry.field(description="Everyone with access. Owners only.")
    async def users(
        self,
        info: strawberry.Info,
        filter: inputs.UserFilter | None = None,
        order_by: inputs.UserOrder | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[User]:
        page = await queries.users(
            info,
            filter or inputs.UserFilter(),
            order_by or inputs.UserOrder(),
            PageRequest(first, after, last, before),
        )
        return connection(page, User.from_row)

    @strawberry.field(
        description="People work can be assigned to, by name, found by a part of their name or "
        "email. Anyone who may assign work (CONTRIBUTOR and above, by role or grant)."
    )
    async def people(
        self,
        info: strawberry.Info,
        search: str | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[Person]:
        page = await queries.people(info, search, PageRequest(first, after, last, before))
        return connection(page, Person.from_row)

    @strawberry.field(description="Scores over the active assessments you can read.")
    async def compliance_score(
        self, info: strawberry.Info, filter: inputs.ScoreFilter | None = None
    ) -> ComplianceScore:
        scope = queries.score_scope(filter or inputs.ScoreFilter())
        parts = parts_wanted(selected(info))
        figures = await queries.compliance_score(info, scope, parts)
        return ComplianceScore(figures=figures, scope=scope)

    @strawberry.field(description="The organisation and its settings; any signed-in user.")
    async def organisation(self, info: strawberry.Info) -> Organisation:
        row = await queries.organisation(info)
        return Organisation.from_row(row)


def _left_out(wanted: Selection) -> tuple[frozenset[str], bool]:
    """The columns an action list need not read for ``wanted``, and whether they are all
    but those ``wanted`` shows (its actions cannot then be filled in from their rows)."""
    if wanted.keys() & _READ_EVERY_COLUMN:
        return frozenset(), False
    shown = _columns_shown(wanted)
    if shown is not None:
        return _EVERY_COLUMN - shown, True
    return frozenset(c for field, c in _OWN_FIELDS.items() if field not in wanted), False


def _columns_shown(wanted: Selection) -> set[str] | None:
    """The columns (the assignee's prefixed) that ``wanted`` shows, and the ids, when it
    shows nothing but columns as they are; else None."""
    asked = wanted.keys() - _ALWAYS_SHOWN - {"assignee"}
    if not asked <= _ACTION_COLUMNS.keys():
        return None
    shown = {"id", *(_ACTION_COLUMNS[field] for field in asked)}
    if "assignee" in wanted:
        of_user = wanted["assignee"].keys() - _ALWAYS_SHOWN
        if not of_user <= _USER_COLUMNS.keys():
            return None
        shown.update(ASSIGNEE_PREFIX + _USER_COLUMNS[field] for field in of_user)
        shown.add(ASSIGNEE_PREFIX + "id")
    return shown
