"""``totalCount`` is read with its page, in the page's own statement.

A list page and its total used to cost two statements (the page, then ``count(*)`` over the
same filter); now the total is a column of the page's statement whenever ``totalCount`` is
selected. Only a page that comes back empty behind a cursor has no row to carry it, and asks
once more. The pages themselves (nodes, cursors, ``hasNextPage``, ``hasPreviousPage``) are
the same whether the total is selected or not; ``tests/test_pagination.py`` covers them.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections import namedtuple
from datetime import timedelta
from typing import Any

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLObjectType,
    GraphQLScalarType,
    get_named_type,
    is_required_argument,
)
from sqlalchemy import select, update
from strawberry.relay import from_base64, to_base64

from cmgraph.config import Settings
from cmgraph.domain import clock
from cmgraph.domain.action_filter import ActionFilter, action_filter_clauses, matching_actions
from cmgraph.domain.assignment import assign_actions
from cmgraph.domain.clause_shapes import Clauses
from cmgraph.domain.enums import ImplementationStatus, ImplementationType, Owner
from cmgraph.domain.models import (
    ActionDefinition,
    ActionDefinitionVersion,
    Control,
    ControlAction,
    ImprovementAction,
)
from cmgraph.resolvers.loaders import action_row_select
from cmgraph.schema import types as schema_types
from cmgraph.schema.api import build_api
from tests.builders import WorkedExample
from tests.report_data import count_statements
from tests.test_due_dates import set_due

# The benchmark's list request (issue 14): the first page of a filtered list and its total.
LIST = """query ($first: Int, $after: String, $last: Int, $before: String,
                 $filter: ImprovementActionFilter) {
  improvementActions(first: $first, after: $after, last: $last, before: $before,
                     filter: $filter) {
    %s
    nodes { id key title points implementationStatus testStatus }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor }
  }
}"""
IMPLEMENTED = {"implementationStatuses": ["IMPLEMENTED"]}
# Statements of the list request, authentication included (before this change: the token,
# the grants, the page and its count); authentication served from a cache brings it lower.
MAX_LIST_STATEMENTS = 3


def _signs_in(statement: str) -> bool:
    """A read of the caller's credentials (the tests' PostgreSQL has no cache for them)."""
    return any(table in statement for table in ("api_token", "sign_in_session", "access_grant"))


def _sql(statements: list[str]) -> list[str]:
    """The statements that read or write, without transaction control (SQLite's BEGIN)."""
    return [s for s in statements if s.strip().upper() not in ("BEGIN", "COMMIT", "ROLLBACK")]


async def _expected(
    db: Any, status: ImplementationStatus | None, assessment: int | None
) -> list[str]:
    """Global ids of the actions a list shows, in its default order (key, then id), by SQL."""
    statement = (
        select(ImprovementAction.id)
        .join(ActionDefinition, ActionDefinition.id == ImprovementAction.definition_id)
        .order_by(ActionDefinition.key, ImprovementAction.id)
    )
    if status is not None:
        statement = statement.where(ImprovementAction.implementation_status == status)
    if assessment is not None:
        statement = statement.where(
            ImprovementAction.id.in_(
                select(ControlAction.action_id)
                .join(Control, Control.id == ControlAction.control_id)
                .where(Control.assessment_id == assessment)
            )
        )
    async with db.sessions() as session:
        return [to_base64("ImprovementAction", i) for i in await session.scalars(statement)]


async def _read(
    api: Any, db: Any, token: str, arguments: dict[str, Any], total: bool
) -> tuple[dict[str, Any], int]:
    with count_statements(db.engine) as statements:
        data = await api.query(LIST % ("totalCount" if total else ""), arguments, token=token)
    return data["improvementActions"], len(_sql(statements))


@pytest.fixture
async def readers(example: WorkedExample, token_for, tokens) -> dict[str, tuple[str, int | None]]:
    """Tokens by name, each with the one assessment its grant is on (None: all of them)."""
    scoped = await token_for("auditor@totals.test", None, assessment_id=example.a3.id)
    return {"owner": (tokens["OWNER"], None), "scoped": (scoped, example.a3.id)}


async def test_the_list_request_reads_its_page_and_total_in_one_statement(api, db, readers) -> None:
    token, _ = readers["owner"]
    arguments = {"first": 50, "filter": IMPLEMENTED}
    await _read(api, db, token, arguments, total=True)  # the token's first use is stamped
    page, with_total = await _read(api, db, token, arguments, total=True)
    _, without = await _read(api, db, token, arguments, total=False)
    print(f"list request: {with_total} SQL statements with totalCount, {without} without")
    assert page["totalCount"] == len(page["nodes"]) == 3
    assert with_total == without  # the total costs no statement of its own
    assert with_total <= MAX_LIST_STATEMENTS


@pytest.mark.parametrize(
    ("reader", "status"),
    [
        ("owner", None),
        ("owner", ImplementationStatus.IMPLEMENTED),
        ("owner", ImplementationStatus.OUT_OF_SCOPE),  # a filter matching nothing
        ("scoped", None),  # only the actions of the assessment the grant is on
        ("scoped", ImplementationStatus.IMPLEMENTED),
    ],
)
async def test_total_and_flags_at_every_edge(api, db, readers, reader: str, status: Any) -> None:
    """Page sizes from 0 past the end, from the start and behind cursors, both ways: the
    total is the whole list's, the flags and nodes as without the total, and one statement
    more only for an empty page behind a cursor."""
    token, assessment = readers[reader]
    expected = await _expected(db, status, assessment)
    total = len(expected)
    filter_ = {} if status is None else {"implementationStatuses": [status.value]}
    await _read(api, db, token, {"first": 1}, total=True)  # the token's first use is stamped
    everything, _ = await _read(api, db, token, {"first": 100, "filter": filter_}, True)
    assert [n["id"] for n in everything["nodes"]] == expected
    assert everything["totalCount"] == total
    cursors = [e["cursor"] for e in everything["edges"]]
    if reader == "scoped":
        owner_total = len(await _expected(db, status, None))
        assert total < owner_total or total == owner_total == 0

    # Empty, short, exact and overlong pages; from the start, the first, a middle and the
    # last row (a page after the last is empty, before the first too).
    sizes = sorted({0, 1, 2, max(0, total - 1), total, total + 1})
    starts = [None, *sorted({0, total // 2, total - 1} if total else set())]
    for size in sizes:
        for start in starts:
            forward: dict[str, Any] = {"first": size, "filter": filter_}
            backward: dict[str, Any] = {"last": size, "filter": filter_}
            if start is not None:
                forward["after"] = cursors[start]
                backward["before"] = cursors[start]
            begin = 0 if start is None else start + 1
            end = total if start is None else start
            cases = [
                # arguments, nodes, hasNextPage, hasPreviousPage, rows beyond the page
                (forward, expected[begin : begin + size], begin + size < total, start is not None),
                (backward, expected[max(0, end - size) : end], start is not None, end > size),
            ]
            for (arguments, nodes, has_next, has_previous), beyond in zip(
                cases, [cases[0][2], cases[1][3]], strict=True
            ):
                page, with_total = await _read(api, db, token, arguments, total=True)
                plain, without = await _read(api, db, token, arguments, total=False)
                assert page["totalCount"] == total, arguments
                assert [n["id"] for n in page["nodes"]] == nodes, arguments
                info = page["pageInfo"]
                assert (info["hasNextPage"], info["hasPreviousPage"]) == (has_next, has_previous)
                assert page["pageInfo"] == plain["pageInfo"], arguments
                assert page["nodes"] == plain["nodes"], arguments
                # No row came back to carry the total: none on the page, none beyond it.
                asks_again = start is not None and not nodes and not beyond
                assert with_total == without + asks_again, (arguments, with_total, without)


async def test_every_connection_reads_its_total_with_its_page(api, db, example, tokens) -> None:
    """The page helper serves every list: none sends a statement of its own for its total."""
    token = tokens["OWNER"]
    await api.query("{ viewer { user { name } } }", token=token)
    roots = [
        "assessments",
        "improvementActions",
        "controls",
        "groups",
        "templates",
        "users",
        "people",
        "alertPolicies",
        "alerts",
        "auditEvents",
    ]
    for root in roots:
        query = "query ($first: Int) { %s(first: $first) { %s nodes { __typename } } }"
        with count_statements(db.engine) as statements:
            data = await api.query(query % (root, "totalCount"), {"first": 2}, token=token)
        with_total = len(_sql(statements))
        with count_statements(db.engine) as statements:
            await api.query(query % (root, ""), {"first": 2}, token=token)
        assert with_total == len(_sql(statements)), root
        everything = await api.query(query % (root, ""), {"first": 100}, token=token)
        assert data[root]["totalCount"] == len(everything[root]["nodes"]), root
        assert len(data[root]["nodes"]) == min(2, data[root]["totalCount"]), root


ASSIGNEES = """query ($first: Int) {
  improvementActions(first: $first, orderBy: {field: KEY}) {
    totalCount
    nodes { id assignee { id name email } }
    edges { cursor node { id assignee { name } } }
  }
}"""


async def test_the_list_brings_its_assignees_in_its_own_statement(
    api, db, uow, owner, example, readers
) -> None:
    """Assignees are joined into the page's statement: no second read for the users, the
    same people (and nobody for unassigned actions) as stored, for owners and scoped readers.
    """
    assigned = [example.actions["T1"].id, example.actions["N1@G2"].id]
    async with uow() as u:
        await assign_actions(u, owner, assigned, owner.user_id, notify=False)
    async with db.sessions() as session:
        rows = await session.execute(select(ImprovementAction.id, ImprovementAction.assignee_id))
        stored = {action_id: assignee_id for action_id, assignee_id in rows}
    for name, (token, assessment) in readers.items():
        await api.query("{ viewer { user { name } } }", token=token)  # first use stamped
        with count_statements(db.engine) as statements:
            data = await api.query(ASSIGNEES, {"first": 100}, token=token)
        page = data["improvementActions"]
        reads = [s for s in _sql(statements) if "user_account" in s and not _signs_in(s)]
        assert len(reads) == 1 and "improvement_action" in reads[0], (name, reads)
        assert (
            page["totalCount"] == len(page["nodes"]) == len(await _expected(db, None, assessment))
        )
        for node, edge in zip(page["nodes"], page["edges"], strict=True):
            action_id = int(from_base64(node["id"])[1])
            if stored[action_id] is None:
                assert node["assignee"] is None and edge["node"]["assignee"] is None
            else:
                assert node["assignee"] == {
                    "id": to_base64("User", owner.user_id),
                    "name": "Olivia Owner",
                    "email": "owner@example.test",
                }
                assert edge["node"] == {"id": node["id"], "assignee": {"name": "Olivia Owner"}}
        if assessment is None:  # the owner sees both assigned actions
            assert sum(n["assignee"] is not None for n in page["nodes"]) == len(assigned)


@pytest.mark.parametrize(
    "narrowed",
    [
        {},
        {"solutions": ["Audit", "Policies"]},
        {"categories": ["Control access"]},
        {"implementation_types": [ImplementationType.DOCUMENTATION]},
        {"owner": Owner.PROVIDER},
        {"pending_update": True},
        {"pending_update": False},
        {"implementation_statuses": [ImplementationStatus.IMPLEMENTED]},
        {"search": "we:t"},
        {"unassigned": True, "solutions": ["Identity"]},
    ],
)
async def test_the_list_finds_its_ids_joining_only_what_its_filter_reads(
    db, example: WorkedExample, narrowed: dict[str, Any]
) -> None:
    """``matching_actions`` leaves out the definition and version unless a clause reads them
    (so counting and ordering the matches reads the actions' own rows): the same ids, each
    once, as over the fully joined rows, and no cartesian product."""
    f = ActionFilter(**narrowed)
    joined = (
        select(ImprovementAction.id)
        .join(ActionDefinition, ActionDefinition.id == ImprovementAction.definition_id)
        .join(
            ActionDefinitionVersion,
            ActionDefinitionVersion.id == ImprovementAction.definition_version_id,
        )
        .where(*action_filter_clauses(f))
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # SQLAlchemy warns of a FROM left out of the joins
        async with db.sessions() as session:
            lean = list(await session.scalars(matching_actions(f, Clauses()).build()))
            expected = list(await session.scalars(joined))
    assert sorted(lean) == sorted(expected)
    assert len(set(lean)) == len(lean)
    if narrowed and "pending_update" not in narrowed:  # none is pending in the example
        assert 0 < len(lean) < len(await _expected(db, None, None))


# Selections of the list's nodes: the long texts each asks for, by response key.
LONG_TEXT_CASES: dict[str, tuple[str, dict[str, str]]] = {
    "none": ("nodes { id }", {}),
    "guidance": ("nodes { id guidance }", {"guidance": "guidance"}),
    "aliased": ("nodes { id g: guidance }", {"g": "guidance"}),
    "by fragment under edges": (
        "edges { node { id ...T } }",
        {"testingLogic": "testing_logic", "implementationNotes": "implementation_notes"},
    ),
}
TEXTS_FRAGMENT = "fragment T on ImprovementAction { testingLogic implementationNotes }"
TEXT_COLUMNS = {
    "guidance": "action_definition_version.guidance",
    "testing_logic": "action_definition_version.testing_logic",
    "implementation_notes": "improvement_action.implementation_notes",
}


@pytest.mark.parametrize("case", LONG_TEXT_CASES)
async def test_the_list_reads_long_texts_only_when_asked(
    api, db, example: WorkedExample, tokens, case: str
) -> None:
    """Guidance, testing logic and the notes (some 70 KB a page of 50) are read only when
    the nodes select them, under any alias or fragment; then they hold what is stored."""
    selection, asked = LONG_TEXT_CASES[case]
    fragment = TEXTS_FRAGMENT if "...T" in selection else ""
    query = f"{{ improvementActions(first: 50) {{ {selection} }} }} {fragment}"
    await api.query(query, token=tokens["OWNER"])  # the token's first use is stamped
    t2 = example.actions["T2"]
    async with db.sessions() as session:  # texts to read back (the example has none)
        await session.execute(
            update(ImprovementAction)
            .where(ImprovementAction.id == t2.id)
            .values(implementation_notes="Reviewed with the auditors.")
        )
        await session.execute(
            update(ActionDefinitionVersion)
            .where(ActionDefinitionVersion.id == t2.definition_version_id)
            .values(guidance="Keep a register.", testing_logic="Read the register.")
        )
        await session.commit()
    with count_statements(db.engine) as statements:
        data = (await api.query(query, token=tokens["OWNER"]))["improvementActions"]
    (page,) = [s for s in statements if "_page_key_0" in s]
    for column, spelled in TEXT_COLUMNS.items():
        assert (spelled in page) == (column in asked.values()), (case, column)
    nodes = data.get("nodes") or [edge["node"] for edge in data["edges"]]
    async with db.sessions() as session:
        rows = await session.execute(
            select(ImprovementAction.id, *(text_column(c) for c in TEXT_COLUMNS)).join(
                ActionDefinitionVersion,
                ActionDefinitionVersion.id == ImprovementAction.definition_version_id,
            )
        )
        stored = {row.id: row._mapping for row in rows}
    assert nodes and all(set(node) == {"id", *asked} for node in nodes)
    for key, column in asked.items():
        values = [node[key] for node in nodes]
        assert values == [stored[int(from_base64(n["id"])[1])][column] for n in nodes]
        assert any(values), column  # something to lose, were it left out


def text_column(name: str) -> Any:
    table = ActionDefinitionVersion if name in ("guidance", "testing_logic") else ImprovementAction
    return getattr(table, name)


async def test_an_action_made_from_a_row_is_what_its_dataclass_makes(
    db, example: WorkedExample
) -> None:
    """``ImprovementAction._of`` fills the fields in without ``__init__``: the result is
    equal, field for field (the private ones and the global id included), to the action
    ``__init__`` makes from those fields, and holds nothing else."""
    async with db.engine.connect() as connection:
        rows = (await connection.execute(action_row_select())).all()
    assert rows
    for row in rows:
        made = schema_types.ImprovementAction.from_row(row)
        again = dataclasses.replace(made)  # through ``__init__`` and ``__post_init__``
        assert made.__dict__ == again.__dict__
        assert made.id == row.id and from_base64(made._id) == ("ImprovementAction", str(row.id))


async def test_an_action_read_for_a_list_is_filled_in_when_another_field_is_read(
    db, example: WorkedExample
) -> None:
    """``ImprovementAction.reading`` sets only the fields the list asks for; the first read
    of any other fills the action in from its row, equal to ``from_row``'s, keeping what was
    set on it since (its assignee)."""
    async with db.engine.connect() as connection:
        rows = (await connection.execute(action_row_select())).all()
    assert rows
    made = schema_types.ImprovementAction.reading({"id", "title", "points"}, with_assignee=False)
    kept = object()
    for row in rows:
        whole = schema_types.ImprovementAction.from_row(row)
        action = made(row)
        assert set(action.__dict__) == {
            *("id", "title", "points", "_id", "_row"),
            *("prefetched_evidence", "prefetched_assignee"),
        }
        assert (action._id, action.title, action.points) == (whole._id, whole.title, whole.points)
        action.prefetched_assignee = kept
        assert action.due_date == whole.due_date  # not asked: the action is filled in
        assert action.prefetched_assignee is kept
        action.prefetched_assignee = whole.prefetched_assignee
        assert action.__dict__ == whole.__dict__
    with pytest.raises(AttributeError):
        schema_types.ImprovementAction.title  # noqa: B018  (on the class: no such attribute)


def test_an_action_read_from_a_row_of_shown_columns_only_is_not_filled_in() -> None:
    """A row that holds only what its list shows (the rest NULL) makes an action that
    refuses any other field rather than answer those NULLs."""
    row = namedtuple("Row", ["id", "title", "due_date"])(7, "Shown", None)
    made = schema_types.ImprovementAction.reading({"title"}, with_assignee=False, fill=False)
    action = made(row)
    assert (action.id, action.title) == (7, "Shown")
    with pytest.raises(AttributeError):
        action.due_date  # noqa: B018


async def test_a_list_of_columns_reads_those_alone(api, db, tokens) -> None:
    """Nodes that show nothing but columns as they are (and an assignee likewise) read those
    and the ids; a field worked out from other columns reads them all again."""
    plain = "{ improvementActions(first: 5) { nodes { id title assignee { name } } } }"
    derived = "{ improvementActions(first: 5) { nodes { id title dueState assignee { name } } } }"
    for query, reads_due_date in ((plain, False), (derived, True)):
        with count_statements(db.engine) as statements:
            await api.query(query, token=tokens["OWNER"])
        [page] = [s for s in statements if "assignee_user_name" in s]
        assert ("NULL AS due_date" not in page) is reads_due_date, page
        assert ("NULL AS assignee_user_email" in page) is not reads_due_date, page
        assert "NULL AS title" not in page and "NULL AS assignee_user_name" not in page


def _selections() -> dict[str, str]:
    """Each field of ``ImprovementAction`` as a selection of its own: a scalar or enum by
    name, an object with its scalar and enum fields (those without required arguments)."""
    schema = build_api(Settings())._schema
    action = schema.get_type("ImprovementAction")
    assert isinstance(action, GraphQLObjectType)

    def plain(fields: Any) -> list[str]:
        return [
            name
            for name, field in fields.items()
            if isinstance(get_named_type(field.type), GraphQLScalarType | GraphQLEnumType)
            and not any(is_required_argument(a) for a in field.args.values())
        ]

    selections = {name: name for name in plain(action.fields)}
    for name, field in action.fields.items():
        named = get_named_type(field.type)
        if isinstance(named, GraphQLObjectType) and not any(
            is_required_argument(a) for a in field.args.values()
        ):
            selections[name] = f"{name} {{ {' '.join(plain(named.fields)) or '__typename'} }}"
    return selections


async def test_every_field_asked_alone_reads_what_it_shows(
    api, example: WorkedExample, tokens
) -> None:
    """The list reads a column of ``OWN_FIELD_COLUMNS`` only for its own field: so each
    field of an action, asked alone in the list, must answer as the same field of the same
    actions read whole (``nodes``). A field that needs a column it does not name fails.
    (``pendingUpdateChanges``, which reads them all, is checked with a newer definition
    version in ``tests/test_updates.py``.)"""
    selections = _selections()
    assert {"title", "dueState", "priority", "assignee", "score"} <= set(selections)
    t2 = example.actions["T2"]
    # Values that the derived fields read, so that one reading a left-out column differs.
    for action, days in ((t2, -3), (example.actions["T1"], 200)):
        due = (clock.today() + timedelta(days=days)).isoformat()
        assert (await set_due(api, action, tokens["CONTRIBUTOR"], due))["userErrors"] == []
    for name, selection in selections.items():
        listed = await api.query(
            f"{{ improvementActions(first: 50) {{ nodes {{ id {selection} }} }} }}",
            token=tokens["OWNER"],
        )
        nodes = listed["improvementActions"]["nodes"]
        assert t2.id in {int(from_base64(n["id"])[1]) for n in nodes}
        whole = await api.query(
            "query ($ids: [ID!]!) { nodes(ids: $ids) "
            f"{{ ... on ImprovementAction {{ id {selection} }} }} }}",
            {"ids": [n["id"] for n in nodes]},
            token=tokens["OWNER"],
        )
        assert _unsigned(nodes) == _unsigned(whole["nodes"]), name


def _unsigned(value: Any) -> Any:
    """``value`` without what a signed link holds of the second it was made in (its token
    and ``expiresAt``): two reads a second apart differ there and nowhere else."""
    if isinstance(value, list):
        return [_unsigned(item) for item in value]
    if not isinstance(value, dict):
        return value
    return {
        key: item.partition("?token=")[0] if isinstance(item, str) else _unsigned(item)
        for key, item in value.items()
        if key != "expiresAt"
    }
