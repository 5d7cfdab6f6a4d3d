"""Documents that cost too much are refused before they run, over HTTP and WebSocket alike.

Fragments that spread each other (each doubling the last) used to take the depth and alias
checks exponential time; nested lists that point back at each other used to return
gigabytes. Now every document is measured in one pass over its text, and what it could
return (GitHub's node count) is checked against ``CMGRAPH_MAX_QUERY_NODES`` first.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import httpx
import pytest
from graphql import get_introspection_query, parse
from sqlalchemy import func, select
from strawberry.relay import to_base64

from cmgraph.config import Settings
from cmgraph.domain.enums import OrgRole
from cmgraph.domain.errors import DomainError
from cmgraph.domain.evidence import MAX_EVIDENCE_PER_ACTION, add_evidence_link
from cmgraph.domain.models import Evidence
from cmgraph.domain.starter import starter_template
from cmgraph.domain.templates import (
    MAX_ACTIONS_PER_CONTROL,
    MAX_CONTROLS_PER_TEMPLATE,
)
from cmgraph.http.app import create_app
from cmgraph.resolvers.pages import DEFAULT_PAGE_SIZE
from cmgraph.schema.api import build_api
from cmgraph.schema.limits import DEFAULT_LIST_BOUND, NodeCounter
from tests.builders import worked_example
from tests.graphql_ws import WsClient, hub_of, subscribed, uvicorn_server
from tests.report_data import REPORT_QUERY, count_statements
from tests.test_subscriptions import UPDATE_IMPLEMENTATION

# ``Control.actions`` and ``ImprovementAction.controls`` point back at each other.
RECURSIVE = """{ assessments(first: 100) { nodes { controls { actions { controls { actions {
  controls { actions { history { field } evidence { id } } } } } } } } } }"""


def doubling_fragments(count: int, on: str = "Viewer", leaf: str = "role") -> str:
    """``F0`` spreads ``F1`` twice, which spreads ``F2`` twice, ...: 2**count leaves."""
    fragments = [f"fragment F{i} on {on} {{ ...F{i + 1} ...F{i + 1} }}" for i in range(count)]
    return " ".join([*fragments, f"fragment F{count} on {on} {{ {leaf} }}"])


@pytest.fixture
async def reader(uow, owner, token_for) -> str:
    async with uow() as u:
        await worked_example(u, owner)
    return await token_for("reader@example.test", OrgRole.READER)


def client_for(app: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")


async def post(client: httpx.AsyncClient, token: str, query: str, **variables: Any) -> Any:
    response = await client.post(
        "/graphql",
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.headers["content-type"].startswith("application/json"), response.text
    return response.json()


@pytest.fixture
async def client(db) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(create_app(Settings.from_env({}), db.engine)) as c:
        yield c


@pytest.mark.parametrize("count", [20, 40, 64])
async def test_fragments_that_double_are_measured_once(client, reader, count) -> None:
    # 2**64 spreads if expanded: answered only because each fragment is measured once.
    body = await post(client, reader, "{ viewer { ...F0 } } " + doubling_fragments(count))
    assert body == {"data": {"viewer": {"role": "READER"}}}


async def test_fragment_nesting_too_deep_for_validation_is_refused(client, reader) -> None:
    body = await post(client, reader, "{ viewer { ...F0 } } " + doubling_fragments(300))
    assert "data" not in body  # nothing ran: a request error has no data entry
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


async def test_nested_lists_pointing_back_are_refused_before_any_read(db, client, reader) -> None:
    five = "{ " + " ".join(f"a{i}: {RECURSIVE[1:-1]}" for i in range(5)) + " }"
    with count_statements(db.engine) as statements:
        body = await post(client, reader, five)
    [error] = body["errors"]
    assert "data" not in body
    assert error["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    assert error["extensions"]["limit"] == Settings().max_query_nodes
    assert error["extensions"]["nodeCount"] > 10**15
    assert f"{error['extensions']['nodeCount']:,}" in error["message"]
    # Authentication reads the token; nothing of the query itself ran.
    assert not [s for s in statements if "improvement_action" in s.lower()]


async def test_the_full_high_report_and_introspection_fit_the_default_limit(client) -> None:
    counter = counter_of(client)
    limit = Settings().max_query_nodes
    report = counter.count(parse(REPORT_QUERY), None, {})
    assert 1_000_000 < report <= limit
    # Two whole reports in one document do not fit.
    header, _, rest = REPORT_QUERY.strip().partition("{")
    inner = rest.rstrip()[:-1]
    twice = f"{header} {{ a: {inner.strip()} b: {inner.strip()} }}"
    assert counter.count(parse(twice), None, {}) == 2 * report > limit
    introspection = parse(get_introspection_query(descriptions=True))
    assert counter.count(introspection, None, {}) < limit // 10


def counter_of(client: httpx.AsyncClient) -> NodeCounter:
    """A node counter on the schema the client's app serves."""
    inner = client._transport.app  # type: ignore[attr-defined]
    while not hasattr(inner, "routes"):
        inner = inner.app
    schemas = [getattr(r.endpoint, "schema", None) for r in inner.routes if hasattr(r, "endpoint")]
    schema = next(s for s in schemas if s is not None)
    return NodeCounter(schema._schema, Settings().max_page_size)


async def test_variable_defaults_count_as_sent(client, reader) -> None:
    ids = [to_base64("ImprovementAction", i) for i in range(1, 101)]
    nested = "... on ImprovementAction { controls { actions { controls { actions { key } } } } }"
    sent = await post(
        client, reader, f"query($i: [ID!]!) {{ nodes(ids: $i) {{ {nested} }} }}", i=ids
    )
    literal = ", ".join(f'"{i}"' for i in ids)
    defaulted = await post(
        client, reader, f"query($i: [ID!]! = [{literal}]) {{ nodes(ids: $i) {{ {nested} }} }}"
    )
    for body in (sent, defaulted):
        [error] = body["errors"]
        assert error["extensions"]["code"] == "QUERY_TOO_COMPLEX"
        # 100 actions, each its controls (a plain list: the default bound) of up to
        # MAX_ACTIONS_PER_CONTROL actions, each again its controls and their actions.
        controls, actions = DEFAULT_LIST_BOUND, MAX_ACTIONS_PER_CONTROL
        expected = 100 * (1 + controls * (1 + actions * (1 + controls * (1 + actions))))
        assert error["extensions"]["nodeCount"] == expected


async def test_the_count_follows_first_variables_and_the_setting(db, reader) -> None:
    settings = Settings.from_env({"CMGRAPH_MAX_QUERY_NODES": "1000"})
    query = """query($n: Int) { improvementActions(first: $n) {
      nodes { key controls { key } } } }"""
    async with client_for(create_app(settings, db.engine)) as c:
        # Each action counts itself and up to 100 controls: 1 + n * 101.
        refused = await post(c, reader, query, n=10)
        assert refused["errors"][0]["extensions"] == {
            "code": "QUERY_TOO_COMPLEX",
            "nodeCount": 1 + 10 * 101,
            "limit": 1000,
        }
        answered = await post(c, reader, query, n=2)
        assert len(answered["data"]["improvementActions"]["nodes"]) == 2
        # Counts are remembered per document and variables, never across variables.
        assert await post(c, reader, query, n=10) == refused
        again = await post(c, reader, query, n=2)
        assert len(again["data"]["improvementActions"]["nodes"]) == 2
        # Without ``first`` a connection counts its default page.
        default = await post(c, reader, "{ improvementActions { nodes { key controls { key } } } }")
        assert default["errors"][0]["extensions"]["nodeCount"] == 1 + DEFAULT_PAGE_SIZE * 101


async def test_the_worst_documents_the_limits_allow_stay_bounded(db, client, reader) -> None:
    """30 aliases, each 15 levels deep through fragments, each as big as the count allows."""
    deep = (
        "assessments(first: 1) { nodes { controls { actions { ...A } } } }"
        " controls(first: 1) { nodes { actions { ...A } } }"
    )
    fragments = """
      fragment A on ImprovementAction { key score { percent } parent { ...P } controls { key } }
      fragment P on ImprovementAction { parent { parent { parent { parent { parent { parent {
        parent { parent { key } } } } } } } } }"""
    aliases = " ".join(f"a{i}: viewer {{ user {{ name }} }}" for i in range(28))
    document = "{ " + deep + " " + aliases + " }" + fragments
    with count_statements(db.engine) as statements:
        body = await post(client, reader, document)
    assert "errors" not in body, body  # within every limit: answered
    result_nodes = _objects(body["data"])
    counted = counter_of(client).count(parse(document), None, {})
    assert result_nodes <= counted
    # Reads are batched per field and level (about 40 here, sign-in included), whatever the
    # number of objects.
    assert len(statements) <= 60, statements


def _objects(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + sum(_objects(v) for v in value.values())
    if isinstance(value, list):
        return sum(_objects(v) for v in value)
    return 0


@pytest.mark.parametrize(
    ("document", "code"),
    [
        ("{ " + " ".join(f"a{i}: viewer {{ role }}" for i in range(31)) + " }", "TOO_MANY_ALIASES"),
        ("{ viewer { } }", "GRAPHQL_VALIDATION_FAILED"),
        ("{ viewer { role ", "GRAPHQL_PARSE_FAILED"),
        ("{ viewer { rol } }", "GRAPHQL_VALIDATION_FAILED"),
        ("{ viewer { ...Missing } }", "GRAPHQL_VALIDATION_FAILED"),
        ("{ viewer { ...F } } fragment F on Viewer { ...F }", "GRAPHQL_VALIDATION_FAILED"),
        ("subscription { scoreChanged { delta } }", "BAD_REQUEST"),
        (
            "{ improvementActions { nodes { " + "parent { " * 15 + "key" + " }" * 17 + " }",
            "QUERY_TOO_DEEP",
        ),
    ],
)
async def test_refusals_carry_a_code(client, reader, document: str, code: str) -> None:
    body = await post(client, reader, document)
    assert body.get("data") is None, body
    assert body["errors"][0]["extensions"]["code"] == code, body


async def test_depth_counts_through_fragments(db, reader) -> None:
    settings = Settings.from_env({}, max_query_depth=2)
    async with client_for(create_app(settings, db.engine)) as c:
        body = await post(
            c,
            reader,
            "{ assessments { ...A } } fragment A on AssessmentConnection"
            " { nodes { controls { key } } }",
        )
        assert body["errors"][0]["extensions"]["code"] == "QUERY_TOO_DEEP"
        assert "maximum operation depth of 2 (it is 3)" in body["errors"][0]["message"]
        ok = await post(
            c,
            reader,
            "{ assessments { ...A } } fragment A on AssessmentConnection { nodes { name } }",
        )
        assert "errors" not in ok


async def test_subscriptions_are_measured_the_same(db, uow, owner, token_for) -> None:
    async with uow() as u:
        example = await worked_example(u, owner)
    token = await token_for("assessor@example.test", OrgRole.ASSESSOR)
    app = create_app(Settings.from_env({}, background_work=False), db.engine)
    async with uvicorn_server(app) as base, WsClient.signed_in(base, token) as ws:
        await ws.subscribe(
            "subscription { improvementActionChanged { controls { actions { controls {"
            " actions { evidence { id } } } } } } }"
        )
        message = await ws.receive()
        assert message["type"] == "error", message
        assert message["payload"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX"
        await ws.subscribe("subscription { scoreChanged { } }")
        message = await ws.receive()
        assert message["type"] == "error", message
        assert message["payload"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
        # Fragments doubling 64 times are measured once here too: the subscription runs.
        await ws.subscribe(
            "subscription { scoreChanged { ...F0 } } "
            + doubling_fragments(64, on="ScoreChange", leaf="delta")
        )
        await subscribed(hub_of(app), 1)
        action = example.actions["T1"]
        async with client_for(app) as c:
            body = await post(
                c,
                token,
                UPDATE_IMPLEMENTATION,
                input={
                    "actionId": to_base64("ImprovementAction", action.id),
                    "version": action.version,
                    "implementationStatus": "PLANNED",
                },
            )
        assert body["data"]["updateImplementation"]["userErrors"] == [], body
        data = await ws.next_data()
        assert isinstance(data["scoreChanged"]["delta"], int | float), data


async def test_the_bounds_the_count_relies_on_are_kept(uow, owner, token_for, client) -> None:
    async with uow() as u:
        example = await worked_example(u, owner)
        action_id = example.actions["T2"].id
        held = await u.session.scalar(
            select(func.count()).select_from(Evidence).where(Evidence.action_id == action_id)
        )
        for i in range(MAX_EVIDENCE_PER_ACTION - held):
            await add_evidence_link(u, owner, action_id, f"Proof {i}", f"https://x.test/{i}")
    token = await token_for("contributor@example.test", OrgRole.CONTRIBUTOR)
    body = await post(
        client,
        token,
        """mutation($input: AddEvidenceLinkInput!) { addEvidenceLink(input: $input) {
          evidence { id } userErrors { field code message } } }""",
        input={
            "actionId": to_base64("ImprovementAction", action_id),
            "name": "One more",
            "url": "https://x.test/more",
        },
    )
    [error] = body["data"]["addEvidenceLink"]["userErrors"]
    assert error["code"] == "INVALID" and error["field"] == ["input", "actionId"], error
    assert f"at most {MAX_EVIDENCE_PER_ACTION} evidence items" in error["message"]

    spec = starter_template()
    too_many_controls = replace(
        spec,
        key="huge",
        controls=tuple(
            replace(spec.controls[0], key=f"C{i}") for i in range(MAX_CONTROLS_PER_TEMPLATE + 1)
        ),
    )
    too_many_actions = replace(
        spec,
        key="wide",
        controls=(
            replace(
                spec.controls[0],
                action_keys=tuple(a.key for a in spec.actions[: MAX_ACTIONS_PER_CONTROL + 1]),
            ),
        ),
    )
    for refused in (too_many_controls, too_many_actions):
        with pytest.raises(DomainError, match="at most"):
            refused.validate()


async def test_id_lists_are_capped(client, reader) -> None:
    ids = [to_base64("Assessment", i) for i in range(1, 1002)]
    errors = (
        await post(
            client,
            reader,
            "query($ids: [ID!]) { improvementActions(filter: {assessmentIds: $ids}) { totalCount } }",
            ids=ids,
        )
    )["errors"]
    assert errors[0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "at most 1000 ids" in errors[0]["message"]
    errors = (
        await post(client, reader, "query($ids: [ID!]!) { nodes(ids: $ids) { id } }", ids=ids)
    )["errors"]
    assert errors[0]["extensions"]["code"] == "BAD_USER_INPUT"


def test_counts_are_remembered_for_short_variables_only() -> None:
    """A count is remembered per document and variables, but not for long variables: a
    client sending megabytes of them must not make the process keep them."""
    counter = NodeCounter(build_api(Settings.from_env({}))._schema, 100)
    document = parse(
        "query($n: Int, $s: String) { improvementActions(first: $n) { nodes { key } } }"
    )
    assert counter.count(document, None, {"n": 3}) == 1 + 3
    assert counter.count(document, None, {"n": 3}) == 1 + 3
    assert len(counter._known) == 1
    long = {"n": 7, "s": "x" * 5000}
    assert counter.count(document, None, long) == counter.count(document, None, long) == 1 + 7
    assert len(counter._known) == 1


@pytest.mark.parametrize("count", [20, 64])
async def test_fragments_that_double_below_a_list_are_looked_through_once(
    client, reader, count
) -> None:
    # The list's resolver reads what its nodes select (to load ahead and leave columns
    # out): each fragment must be looked through once there too, not 2**64 times.
    query = "{ improvementActions(first: 1) { totalCount nodes { ...F0 } } } "
    body = await post(client, reader, query + doubling_fragments(count, "ImprovementAction", "key"))
    assert "errors" not in body, body
    [node] = body["data"]["improvementActions"]["nodes"]
    assert node["key"]
    assert body["data"]["improvementActions"]["totalCount"] > 1
