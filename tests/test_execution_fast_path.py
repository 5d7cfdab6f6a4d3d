"""schema/execution.py's short paths answer exactly as Strawberry's plain execution does.

The leaf shortcut and the direct resolvers rest on graphql-core and Strawberry internals. Each
query of two corpora runs on a schema built with them and on the same schema built without
(``build_schema(..., fast=False)``), and the answers must match: ``data`` in the order of the
selection, and every error's message, path, locations and extensions. The crafted corpus runs
on a small schema of this file whose objects break their types on purpose (nulls in non-null
fields, values an enum or Int cannot represent, attributes that raise); the realistic one
covers every root field of the real API on the worked example, over HTTP, on the backend of
the run. CI also runs this file against the newest Strawberry and graphql-core (.ci/run).

Then the start-up check: with an internal gone or reshaped, the schema is built for plain
execution and a warning says why; and an extension that turns the shortcut off is told.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from enum import Enum
from importlib.metadata import version
from types import SimpleNamespace
from typing import Annotated, Any, NamedTuple

import graphql
import httpx
import pytest
import strawberry
from graphql import GraphQLError
from strawberry.extensions.tracing import ApolloTracingExtension
from strawberry.schema.schema_converter import GraphQLCoreConverter

from cmgraph.config import Settings
from cmgraph.domain import clock
from cmgraph.http import app as app_module
from cmgraph.http.app import create_app
from cmgraph.schema import execution
from cmgraph.schema.api import Mutation, Query, Subscription
from cmgraph.schema.build import build_schema
from cmgraph.schema.execution import NOT_LOADED, PREFETCHED, LeafShortcutExecutionContext
from tests.builders import WorkedExample
from tests.databases import Database
from tests.report_data import REPORT_QUERY

SETTINGS = Settings()
MAY_FALL_BACK = "CMGRAPH_FAST_PATH_MAY_FALL_BACK"


@pytest.fixture(scope="module", autouse=True)
def fast_path_taken() -> None:
    """Every test here wants the real API on the fast path with the releases installed.

    When the start-up check falls back instead, the test fails saying why; with
    ``CMGRAPH_FAST_PATH_MAY_FALL_BACK`` set (CI's run on the newest releases, which the pins
    keep out of installs) it skips saying why: plain execution is then correct, only slower.
    """
    records: list[logging.LogRecord] = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = records.append  # type: ignore[method-assign]
    logger = logging.getLogger(execution.__name__)
    logger.addHandler(handler)
    try:
        schema = build_schema(Query, SETTINGS, mutation=Mutation, subscription=Subscription)
    finally:
        logger.removeHandler(handler)
    if schema.execution_context_class is LeafShortcutExecutionContext:
        return
    reason = (
        f"strawberry-graphql {version('strawberry-graphql')}, graphql-core "
        f"{version('graphql-core')}: {'; '.join(r.getMessage() for r in records)}"
    )
    if os.environ.get(MAY_FALL_BACK):
        pytest.skip(reason)
    pytest.fail(reason)


def outcome(result: Any) -> str:
    """``data`` and errors as JSON, key order kept (the shortcut reassembles objects)."""
    errors = [
        {
            "message": error.message,
            "path": error.path,
            "locations": [[loc.line, loc.column] for loc in error.locations or ()],
            "extensions": error.extensions,
        }
        for error in result.errors or ()
    ]
    return json.dumps({"data": result.data, "errors": errors}, default=str)


# -- a small schema whose objects break their types on purpose --------------------------------


@strawberry.enum
class Colour(Enum):
    RED = "red"
    GREEN = "green"


class Shade(Enum):  # not in the schema: a member of it is a value Colour cannot represent
    RED = "red"


@strawberry.interface
class Named:
    name: str


@strawberry.type
class Thing(Named):
    id: strawberry.ID
    label: str | None
    count: int
    ratio: float
    flag: bool
    colour: Colour
    maybe_colour: Colour | None
    required: str
    tags: list[str | None]
    strict_tags: list[str]
    child: Thing | None = None
    children: list[Thing] = strawberry.field(default_factory=list)
    loaded_total: strawberry.Private[Any] = NOT_LOADED

    @strawberry.field
    def greeting(self, polite: bool = False) -> str:
        return f"{'Good day' if polite else 'Hi'}, {self.name}"

    @strawberry.field
    def failing(self) -> str | None:
        raise RuntimeError("a bug in a resolver")

    @strawberry.field
    def refused(self) -> str | None:
        raise GraphQLError("Not allowed.", extensions={"code": "FORBIDDEN"})

    @strawberry.field(metadata={PREFETCHED: "loaded_total"})
    def total(self) -> int:
        # As the real schema's such fields do: the prefetched value when there is one.
        return self.count * 10 if self.loaded_total is NOT_LOADED else self.loaded_total


@strawberry.type
class Gadget(Named):
    size: int
    colour: Colour | None = None


Item = Annotated[Thing | Gadget, strawberry.union("Item")]


class Exploding(Thing):
    """A Thing whose ``label`` raises when read (a failing property of a model)."""

    @property  # type: ignore[override]
    def label(self) -> str | None:
        raise ValueError("label could not be read")

    @label.setter
    def label(self, value: str | None) -> None:
        pass


class Later:
    """An awaitable value (an attribute holding one), awaitable any number of times."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def __await__(self) -> Iterator[Any]:
        yield from asyncio.sleep(0).__await__()
        return self.value


def thing(ident: str, **changes: Any) -> Thing:
    values: dict[str, Any] = {
        "id": ident,
        "name": f"thing {ident}",
        "label": f"label {ident}",
        "count": 3,
        "ratio": 0.5,
        "flag": True,
        "colour": Colour.GREEN,
        "maybe_colour": None,
        "required": "here",
        "tags": ["a", None, "c"],
        "strict_tags": ["x", "y"],
    }
    values.update(changes)
    kind = values.pop("kind", Thing)
    return kind(**values)


def things() -> list[Thing]:
    """Fresh objects per execution (an awaitable can be awaited once)."""
    return [
        thing("1", child=thing("1.1"), children=[thing("1.2"), thing("1.3", colour=Colour.RED)]),
        thing("2", count=7, ratio=2.0, flag=False, maybe_colour=Colour.RED, loaded_total=99),
        # Values the declared types cannot hold as they are, or at all:
        thing("3", count=True, ratio=3, flag=1, label=12, name=4.5),
        thing("4", required=None),  # null in a non-null field
        thing("5", colour="purple", maybe_colour=Shade.RED),  # not Colour values
        thing("6", colour=Colour.GREEN.value),  # Strawberry takes the value as well
        thing("7", count=2**31),  # beyond Int
        thing("12", ratio=float("inf"), maybe_colour=Colour.GREEN),  # not finite
        thing("8", kind=Exploding),  # a property that raises
        thing("9", strict_tags=["x", None], tags=[None]),  # null in a list of non-null
        thing(
            "10",
            count=Later(5),
            label=Later("awaited"),
            required=Later(None),
            child=Later(thing("10.1")),  # an awaitable object
        ),
        thing("11", child=thing("11.1", required=None), children=[thing("11.2", required=None)]),
        # Nested objects out of the ordinary: a null in a list of non-null objects, an
        # object of another type (is_type_of refuses it), a subclass, a cast.
        thing("13", child=thing("13.1", children=[thing("13.2"), None]), children=[]),
        thing(
            "14",
            child=Gadget(name="gadget", size=1),
            children=[thing("14.1", kind=Exploding), strawberry.cast(Thing, thing("14.2"))],
        ),
    ]


@strawberry.type
class CraftedQuery:
    @strawberry.field
    def things(self) -> list[Thing]:
        return things()

    @strawberry.field
    def thing(self, id: strawberry.ID) -> Thing | None:
        return next((t for t in things() if t.id == id), None)

    @strawberry.field
    def strict_thing(self, id: strawberry.ID) -> Thing:
        return next(t for t in things() if t.id == id)

    @strawberry.field
    def named(self) -> list[Named]:
        return [things()[0], Gadget(name="gadget", size=2, colour=Colour.RED), things()[4]]

    @strawberry.field
    def items(self) -> list[Item | None]:
        return [things()[1], None, Gadget(name="g", size=1, colour="teal")]  # type: ignore[arg-type]

    @strawberry.field
    async def slow(self) -> list[Thing]:
        await asyncio.sleep(0)
        return things()[:3]


@strawberry.type
class CraftedMutation:
    @strawberry.mutation
    def touch(self, id: strawberry.ID) -> Thing | None:
        return next((t for t in things() if t.id == id), None)


LEAVES = (
    "__typename id name label count ratio flag colour maybeColour required tags strictTags total"
)

CRAFTED: list[tuple[str, str, dict[str, Any] | None]] = [
    ("every leaf", f"{{ things {{ {LEAVES} }} }}", None),
    ("each thing alone", "query($id: ID!) { thing(id: $id) { " + LEAVES + " } }", None),
    (
        "non-null root that breaks",
        "query($id: ID!) { strictThing(id: $id) { id required colour count } }",
        None,
    ),
    (
        "aliases, one field twice, arguments",
        """{ things { a: name b: name name g1: greeting(polite: true) g2: greeting
             g3: greeting(polite: false) n: count id: id i2: id } }""",
        None,
    ),
    (
        "nested objects and their nulls",
        """{ things { id child { id required name colour child { id } }
             children { id required colour tags } } }""",
        None,
    ),
    (
        "nested objects of each thing",
        """query($id: ID!) { thing(id: $id) { id
             child { id name total colour child { id required } children { id label } }
             children { id strictTags child { name } } } }""",
        None,
    ),
    (
        "named and inline fragments on interface and union",
        """fragment leaves on Thing { id count colour label }
           fragment any on Named { __typename name ...leaves }
           { named { ...any ... on Gadget { size gc: colour } ... on Thing { required } }
             items { __typename ... on Named { name } ... on Thing { ...leaves flag }
                     ... on Gadget { size gc: colour } } }""",
        None,
    ),
    (
        "fragments that overlap the fields around them",
        """fragment f on Thing { name count child { name } }
           { things { name ...f count child { id ...f } ... on Thing { name label } } }""",
        None,
    ),
    (
        "errors from resolvers: masked and deliberate",
        "{ things { id failing refused name } }",
        None,
    ),
    (
        "variables, @skip and @include",
        """query($yes: Boolean!, $no: Boolean!, $polite: Boolean) {
             things {
               id name @skip(if: $yes) label @include(if: $yes) count @skip(if: $no)
               colour @include(if: $no) greeting(polite: $polite)
               child @include(if: $yes) { id name @skip(if: true) flag @include(if: true) }
               ... on Thing @skip(if: $no) { ratio }
               ... on Thing @include(if: $no) { required }
             } }""",
        {"yes": True, "no": False, "polite": True},
    ),
    ("lists with null elements", "{ things { id tags strictTags } items { __typename } }", None),
    ("an async root", "{ slow { id name count colour child { id name } } }", None),
    ("__typename only", "{ __typename things { __typename } named { __typename } }", None),
    (
        "introspection beside data",
        """{ __type(name: "Thing") { name kind fields { name type { name kind ofType { name } } } }
             things { id } }""",
        None,
    ),
    ("a mutation", 'mutation { touch(id: "2") { id name count total colour } }', None),
    (
        "a mutation that breaks",
        'mutation { a: touch(id: "4") { id required } b: touch(id: "1") { id } }',
        None,
    ),
    ("invalid document", "{ things { id nope } }", None),
    ("bad variable", "query($id: ID!) { thing(id: $id) { id } }", {"id": None}),
]
IDS = [str(n) for n in range(1, 16)]  # 15: none


def crafted_cases() -> Iterator[tuple[str, str, dict[str, Any] | None]]:
    for name, query, variables in CRAFTED:
        if variables is None and "$id" in query:
            for ident in IDS:
                yield f"{name} #{ident}", query, {"id": ident}
        else:
            yield name, query, variables


def unmasked(context_class: type[Any] | None) -> strawberry.Schema:
    """The test schema without cmgraph's extensions: unexpected errors keep their message."""
    return strawberry.Schema(
        query=CraftedQuery, mutation=CraftedMutation, execution_context_class=context_class
    )


@pytest.fixture(scope="module", params=["masked", "unmasked"])
def crafted(request: pytest.FixtureRequest) -> tuple[strawberry.Schema, strawberry.Schema]:
    """The test schema with the short paths, and without: as ``build_schema`` builds it
    (unexpected errors masked), and bare (where their messages must match too)."""
    if request.param == "masked":
        fast = build_schema(CraftedQuery, SETTINGS, mutation=CraftedMutation)
        plain = build_schema(CraftedQuery, SETTINGS, mutation=CraftedMutation, fast=False)
    else:
        fast, plain = execution.with_fast_path(unmasked), unmasked(None)
    assert fast.execution_context_class is LeafShortcutExecutionContext
    assert plain.execution_context_class is not LeafShortcutExecutionContext
    return fast, plain


def context() -> SimpleNamespace:
    return SimpleNamespace(request_id="equivalence")


@pytest.mark.parametrize(
    ("query", "variables"), [c[1:] for c in crafted_cases()], ids=[c[0] for c in crafted_cases()]
)
async def test_crafted_corpus_answers_alike(
    crafted: tuple[strawberry.Schema, strawberry.Schema],
    query: str,
    variables: dict[str, Any] | None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    fast, plain = crafted
    with caplog.at_level(logging.CRITICAL):  # masked errors are logged: expected
        fast_result = await fast.execute(query, variables, context_value=context())
        plain_result = await plain.execute(query, variables, context_value=context())
    assert outcome(fast_result) == outcome(plain_result)


async def test_crafted_corpus_covers_what_it_means_to(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The corpus does reach the cases: errors of each kind, and fields the shortcut takes."""
    fast = execution.with_fast_path(unmasked)
    messages: list[str] = []
    taken = built = 0
    leaf, completer = execution._leaf, execution._completer

    def counting_leaf(field: Any) -> Any:
        found = leaf(field)
        if found is None:
            return None

        def coerce(value: Any) -> Any:
            nonlocal taken
            taken += 1
            return found.coerce(value)

        return replace(found, coerce=coerce)

    def counting_completer(entries: Any) -> Any:
        complete = completer(entries)

        def counted(*args: Any) -> Any:
            nonlocal built
            value = complete(*args)
            built += value is not execution._GENERAL
            return value

        return counted

    monkeypatch.setattr(execution, "_leaf", counting_leaf)
    monkeypatch.setattr(execution, "_completer", counting_completer)
    with caplog.at_level(logging.CRITICAL):
        for _, query, variables in crafted_cases():
            result = await fast.execute(query, variables, context_value=context())
            messages += [error.message for error in result.errors or ()]
    text = "\n".join(messages)
    assert taken > 100 and built > 2, (taken, built)
    for expected in (
        "Cannot return null for non-nullable field Thing.required.",
        "cannot represent value",  # enum
        "Int cannot represent non 32-bit signed integer value",
        "Float cannot represent non numeric value",
        "label could not be read",  # a property that raises
        "a bug in a resolver",
        "Not allowed.",
        "Cannot return null for non-nullable field Thing.strictTags.",
        "Cannot return null for non-nullable field Thing.children.",  # a null item, nested
    ):
        assert expected in text, expected


SWITCHED = """query($on: Boolean!) {
  things { id child { id name @include(if: $on) ...more @skip(if: $on) } }
}
fragment more on Thing { flag }"""


async def test_one_document_with_directives_answers_each_execution_by_its_variables(
    crafted: tuple[strawberry.Schema, strawberry.Schema], caplog: pytest.LogCaptureFixture
) -> None:
    """Plans are kept across executions only where the selections cannot change: here the
    same document, parsed once, selects other nested fields with each value of ``$on``."""
    fast, plain = crafted
    answers = set()
    with caplog.at_level(logging.CRITICAL):
        for on in (True, False, True, False):
            fast_result = await fast.execute(SWITCHED, {"on": on}, context_value=context())
            plain_result = await plain.execute(SWITCHED, {"on": on}, context_value=context())
            assert outcome(fast_result) == outcome(plain_result)
            answers.add(outcome(fast_result))
    assert len(answers) == 2


async def test_plans_of_a_document_without_directives_are_made_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With the schema's parse cache, a document sent again is the same nodes: its plans
    (which fields take a short path) are reused rather than worked out at each execution."""
    fast = build_schema(CraftedQuery, SETTINGS, mutation=CraftedMutation)
    query = "{ things { id name child { id name } } }"
    made: list[Any] = []
    make = LeafShortcutExecutionContext._short

    def counting(self: Any, parent_type: Any, details: Any) -> Any:
        made.append(parent_type)
        return make(self, parent_type, details)

    monkeypatch.setattr(LeafShortcutExecutionContext, "_short", counting)
    first = await fast.execute(query, context_value=context())
    once = len(made)
    second = await fast.execute(query, context_value=context())
    assert once > 0
    assert len(made) == once  # the second execution planned nothing anew
    assert outcome(second) == outcome(first)


def test_crafted_corpus_answers_alike_synchronously(
    crafted: tuple[strawberry.Schema, strawberry.Schema], caplog: pytest.LogCaptureFixture
) -> None:
    """``execute_sync`` too (no awaitables: thing 10 and the async root are left out)."""
    fast, plain = crafted
    with caplog.at_level(logging.CRITICAL):
        for name, query, variables in crafted_cases():
            if "slow" in query or name.endswith("#10") or "{ things" in query:
                continue
            fast_result = fast.execute_sync(query, variables, context_value=context())
            plain_result = plain.execute_sync(query, variables, context_value=context())
            assert outcome(fast_result) == outcome(plain_result), name


# -- every root field of the real API, on the worked example ----------------------------------


def selection(schema: graphql.GraphQLSchema, field_type: Any, depth: int) -> str:
    """A selection of ``field_type``: its leaves, and its objects ``depth`` levels down."""
    named = graphql.get_named_type(field_type)
    if isinstance(named, graphql.GraphQLScalarType | graphql.GraphQLEnumType):
        return ""
    if isinstance(named, graphql.GraphQLUnionType | graphql.GraphQLInterfaceType):
        parts = ["__typename"]
        if isinstance(named, graphql.GraphQLInterfaceType):
            parts.append(_fields(schema, named, 0))
        for possible in schema.get_possible_types(named):
            # Aliased: the possible types' fields of one name may differ in type.
            fields = _fields(schema, possible, depth - 1, alias=f"{possible.name}_")
            parts.append(f"... on {possible.name} {{ {fields} }}")
        return "{ " + " ".join(parts) + " }"
    return "{ __typename " + _fields(schema, named, depth) + " }"


def _fields(schema: graphql.GraphQLSchema, named: Any, depth: int, alias: str = "") -> str:
    parts: list[str] = []
    for name, field in named.fields.items():
        required = [
            arg
            for arg in field.args.values()
            if graphql.is_non_null_type(arg.type) and arg.default_value is graphql.Undefined
        ]
        if required:
            continue
        arguments = "(first: 3)" if "first" in field.args else ""
        sub = selection(schema, field.type, depth - 1) if depth > 0 else ""
        if not graphql.is_leaf_type(graphql.get_named_type(field.type)) and not sub:
            continue
        parts.append(
            f"{alias}{name}: {name}{arguments} {sub}" if alias else f"{name}{arguments} {sub}"
        )
    return " ".join(parts) or "__typename"


class RootQuery(NamedTuple):
    root: str
    query: str
    variables: dict[str, Any]


def root_queries(schema: graphql.GraphQLSchema, ids: list[str]) -> list[RootQuery]:
    """A query per root field of Query (three levels deep), plus hand-written ones."""
    query_type = schema.query_type
    assert query_type is not None
    arguments = {"node": f'(id: "{ids[0]}")', "nodes": f"(ids: {json.dumps(ids)})"}
    queries: list[RootQuery] = []
    for name, field in query_type.fields.items():
        args = arguments.get(name, "(first: 3)" if "first" in field.args else "")
        sub = selection(schema, field.type, 3)
        queries.append(RootQuery(name, f"{{ {name}{args} {sub} }}", {}))
    queries += [
        RootQuery("assessments", REPORT_QUERY, {"groups": None}),
        RootQuery(
            "improvementActions",
            """fragment a on ImprovementAction { id key title testStatus implementationStatus points }
               query($first: Int!, $with: Boolean!) {
                 x: improvementActions(first: $first, orderBy: {field: KEY}) { nodes { ...a } totalCount }
                 y: improvementActions(first: 2) { nodes { ...a title @include(if: $with) key @skip(if: $with) } }
                 viewer { __typename } }""",
            {"first": 4, "with": True},
        ),
        RootQuery(
            "node",
            """query($ids: [ID!]!) { nodes(ids: $ids) { __typename id
                 ... on Assessment { name status progress score { earned possible percent } }
                 ... on ImprovementAction { key title testStatus } } }""",
            {"ids": [*ids, "bm8tc3VjaDo0Mg=="]},
        ),
    ]
    return queries


@pytest.fixture
async def apps(
    db: Database, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
    """The API with the short paths and without, on the same database."""
    settings = replace(settings, max_tokens=1_000_000, max_aliases=10_000)
    fast = create_app(settings, db.engine)

    def plain_api(settings: Settings) -> strawberry.Schema:
        return build_schema(
            Query, settings, mutation=Mutation, subscription=Subscription, fast=False
        )

    monkeypatch.setattr(app_module, "build_api", plain_api)
    plain = create_app(settings, db.engine)
    async with (
        httpx.AsyncClient(transport=httpx.ASGITransport(fast), base_url="http://f.test") as f,
        httpx.AsyncClient(transport=httpx.ASGITransport(plain), base_url="http://p.test") as p,
    ):
        yield f, p


async def post(client: httpx.AsyncClient, query: str, variables: dict[str, Any], token: str) -> Any:
    response = await client.post(
        "/graphql",
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {token}", "X-Request-ID": "equivalence"},
    )
    return without_signatures([response.status_code, response.json()])


def without_signatures(value: Any) -> Any:
    """``value`` without download links' signed URLs and expiry times: each link is signed
    anew, on the wall clock."""
    if isinstance(value, dict):
        if value.get("__typename") == "ExportLink":
            return {k: "(signed)" if k in ("url", "expiresAt") else v for k, v in value.items()}
        return {k: without_signatures(v) for k, v in value.items()}
    if isinstance(value, list):
        return [without_signatures(v) for v in value]
    return value


def differences(fast: Any, plain: Any, path: str = "") -> list[str]:
    """Where two answers differ, key order included."""
    if isinstance(fast, dict) and isinstance(plain, dict):
        if list(fast) != list(plain):
            return [f"{path}: keys {list(fast)} / {list(plain)}"]
        return [d for k in fast for d in differences(fast[k], plain[k], f"{path}.{k}")]
    if isinstance(fast, list) and isinstance(plain, list) and len(fast) == len(plain):
        return [
            d
            for i, (f, p) in enumerate(zip(fast, plain, strict=True))
            for d in differences(f, p, f"{path}[{i}]")
        ]
    return [] if fast == plain else [f"{path}: {fast!r:.200} / {plain!r:.200}"]


async def global_ids(client: httpx.AsyncClient, token: str) -> list[str]:
    response = await client.post(
        "/graphql",
        json={
            "query": "{ assessments { nodes { id } } improvementActions(first: 2) { nodes { id } } }"
        },
        headers={"Authorization": f"Bearer {token}"},
    )
    data = response.json()["data"]
    return [n["id"] for n in data["assessments"]["nodes"] + data["improvementActions"]["nodes"]]


async def test_every_root_answers_alike_on_real_data(
    apps: tuple[httpx.AsyncClient, httpx.AsyncClient],
    example: WorkedExample,
    tokens: dict[str, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    fast, plain = apps
    clock.freeze(datetime.now(UTC))  # one "now" for both answers (due dates, last use)
    schema = build_schema(Query, SETTINGS, mutation=Mutation, subscription=Subscription)
    ids = await global_ids(fast, tokens["OWNER"])
    queries = root_queries(schema._schema, ids)
    roots = {name for name in schema._schema.query_type.fields}  # type: ignore[union-attr]
    assert {q.root for q in queries} == roots
    found: list[str] = []
    with caplog.at_level(logging.CRITICAL):
        for role in ("OWNER", "READER"):
            for root, query, variables in queries:
                fast_answer = await post(fast, query, variables, tokens[role])
                plain_answer = await post(plain, query, variables, tokens[role])
                found += [f"{role} {root}{d}" for d in differences(fast_answer, plain_answer)]
                if role == "OWNER":  # each root answers with data for an owner
                    assert fast_answer[1].get("data") and "errors" not in fast_answer[1], (
                        root,
                        fast_answer,
                    )
    assert not found, "\n".join(found)


# -- the start-up check and the warnings ------------------------------------------------------

FALLBACK = "GraphQL fast path off, plain execution instead"


@pytest.fixture
def fresh_warnings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(execution, "_warned", set())


def direct_resolvers(schema: strawberry.Schema) -> list[str]:
    """The fields given a direct resolver by ``use_direct_resolvers``."""
    return [
        f"{named.name}.{name}"
        for named in schema._schema.type_map.values()
        if isinstance(named, graphql.GraphQLObjectType)
        for name, field in named.fields.items()
        if hasattr(field.resolve, execution._READS)
    ]


def assert_plain(schema: strawberry.Schema) -> None:
    assert schema.execution_context_class is not LeafShortcutExecutionContext
    assert not direct_resolvers(schema)


def answers_like_plain(schema: strawberry.Schema, plain: strawberry.Schema | None = None) -> None:
    plain = plain or build_schema(CraftedQuery, SETTINGS, fast=False)
    query = f"{{ things {{ {LEAVES} child {{ id }} }} named {{ name }} }}"
    fast_result = asyncio.run(schema.execute(query, context_value=context()))
    assert outcome(fast_result) == outcome(
        asyncio.run(plain.execute(query, context_value=context()))
    )


def test_real_schema_takes_the_fast_path(
    caplog: pytest.LogCaptureFixture, fresh_warnings: None
) -> None:
    with caplog.at_level(logging.WARNING, "cmgraph"):
        schema = build_schema(Query, SETTINGS, mutation=Mutation, subscription=Subscription)
    assert execution.fast_path_problem() is None
    assert schema.execution_context_class is LeafShortcutExecutionContext
    assert len(direct_resolvers(schema)) > 100
    assert not caplog.records


@pytest.mark.parametrize(
    "change", ["execute_fields", "collect_subfields", "basic_resolver", "imports"]
)
def test_reshaped_internals_fall_back_to_plain_execution(
    change: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    fresh_warnings: None,
) -> None:
    if change == "execute_fields":
        base = execution.StrawberryGraphQLCoreExecutionContext
        original = base.execute_fields

        def execute_fields(
            self: Any, parent: Any, source: Any, path: Any, fields: Any, position: Any
        ) -> Any:
            return original(self, parent, source, path, fields, position)

        monkeypatch.setattr(base, "execute_fields", execute_fields)
        expected = "execute_fields takes (self, parent, source, path, fields, position)"
    elif change == "collect_subfields":
        base = execution.StrawberryGraphQLCoreExecutionContext
        collect = base.collect_subfields

        def collect_subfields(self: Any, object_type: Any, fields: Any) -> Any:
            return collect(self, object_type, fields)

        monkeypatch.setattr(base, "collect_subfields", collect_subfields)
        expected = "collect_subfields takes (self, object_type, fields)"
    elif change == "basic_resolver":
        from_resolver = GraphQLCoreConverter.from_resolver

        def renamed(self: Any, field: Any) -> Any:
            resolver = from_resolver(self, field)

            def _renamed(*args: Any, **kwargs: Any) -> Any:
                return resolver(*args, **kwargs)

            return _renamed

        monkeypatch.setattr(GraphQLCoreConverter, "from_resolver", renamed)
        expected = "is no longer _get_basic_result"
    else:
        monkeypatch.setattr(execution, "_IMPORT_ERROR", ImportError("no StrawberryField"))
        expected = "cannot import Strawberry's internals (no StrawberryField)"
    with caplog.at_level(logging.WARNING, "cmgraph"):
        schema = build_schema(CraftedQuery, SETTINGS)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and FALLBACK in warnings[0] and expected in warnings[0], warnings
    assert_plain(schema)
    answers_like_plain(schema)


class Tracing(strawberry.extensions.SchemaExtension):
    """A schema extension with a resolve hook: graphql-core middleware."""

    def resolve(
        self, _next: Callable[..., Any], root: Any, info: Any, *args: Any, **kwargs: Any
    ) -> Any:
        return _next(root, info, *args, **kwargs)


def test_an_extension_that_turns_the_shortcut_off_is_told_at_build(
    caplog: pytest.LogCaptureFixture, fresh_warnings: None
) -> None:
    def make(context_class: type[Any] | None) -> strawberry.Schema:
        return strawberry.Schema(
            query=CraftedQuery,
            extensions=[ApolloTracingExtension],
            execution_context_class=context_class,
        )

    with caplog.at_level(logging.WARNING, "cmgraph"):
        schema = execution.with_fast_path(make)
        answers_like_plain(schema, make(None))  # no second warning on execution
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert [r.name for r in warnings] == ["cmgraph.schema.execution"]
    assert "leaf shortcut off: ApolloTracingExtension" in warnings[0].getMessage()


def test_an_extension_added_later_is_told_at_first_execution(
    caplog: pytest.LogCaptureFixture, fresh_warnings: None
) -> None:
    with caplog.at_level(logging.WARNING, "cmgraph"):
        schema = build_schema(CraftedQuery, SETTINGS)
        assert not caplog.records
        schema.extensions = (*schema.extensions, Tracing)  # type: ignore[assignment]
        answers_like_plain(schema)
        answers_like_plain(schema)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "leaf shortcut off: Tracing" in warnings[0], warnings


@strawberry.type
class Problem:
    message: str


class Handler(strawberry.ExceptionHandler[ValueError, Problem]):
    def handle(self, exception: ValueError, *, field: Any, info: Any) -> Problem:
        return Problem(message=str(exception))


def test_exception_handlers_turning_direct_resolvers_off_are_told(
    caplog: pytest.LogCaptureFixture, fresh_warnings: None
) -> None:
    with caplog.at_level(logging.WARNING, "cmgraph"):
        schema = build_schema(
            CraftedQuery, SETTINGS, exception_handlers=[Handler()], types=[Problem]
        )
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "exception handlers" in warnings[0], warnings
    assert not direct_resolvers(schema)
    answers_like_plain(schema)


def test_a_written_out_selection_reads_attributes_of_any_name() -> None:
    """A value kept under a name Python cannot spell as an attribute (a prefetched value's
    metadata may name any) is read all the same; a null goes where its field allows it."""
    spaced = execution._Leaf("kept value", nullable=True, coerce=str, same=str)
    keyword = execution._Leaf("class", nullable=False, coerce=str, same=str)
    complete = execution._completer((("spaced", spaced, None), ("keyword", keyword, None)))

    def never(value: Any) -> bool:  # is_awaitable: none of these values is
        return False

    assert complete(SimpleNamespace(**{"kept value": "a", "class": "b"}), never) == {
        "spaced": "a",
        "keyword": "b",
    }
    assert complete(SimpleNamespace(**{"kept value": None, "class": "b"}), never) == {
        "spaced": None,
        "keyword": "b",
    }
    general = complete(SimpleNamespace(**{"kept value": "a", "class": None}), never)
    assert general is execution._GENERAL
