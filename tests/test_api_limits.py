"""Request limits, pagination, error masking and health, as a client sees them."""

from __future__ import annotations

import logging

import httpx
import pytest

from cmgraph.adapters.db import create_engine
from cmgraph.config import Settings
from cmgraph.domain.enums import OrgRole
from cmgraph.http.app import create_app
from tests.builders import worked_example


@pytest.fixture
async def reader(uow, owner, token_for) -> str:
    async with uow() as u:
        await worked_example(u, owner)
    return await token_for("reader@example.test", OrgRole.READER)


async def test_pages_walk_the_whole_list_with_cursors(api, reader) -> None:
    query = """query($after: String) {
      improvementActions(first: 2, after: $after, orderBy: {field: KEY}) {
        totalCount nodes { key } pageInfo { hasNextPage hasPreviousPage endCursor }
      } }"""
    keys, after, pages = [], None, 0
    while True:
        page = (await api.query(query, {"after": after}, token=reader))["improvementActions"]
        keys += [n["key"] for n in page["nodes"]]
        pages += 1
        assert page["pageInfo"]["hasPreviousPage"] is (pages > 1)
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert page["totalCount"] == 5 == len(keys)
    assert keys == sorted(keys)
    assert pages == 3


@pytest.mark.parametrize("first", [101, -1])
async def test_page_size_is_capped(api, reader, first: int) -> None:
    errors = await api.errors(
        "query($n: Int) { assessments(first: $n) { nodes { name } } }", {"n": first}, token=reader
    )
    assert errors[0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "between 0 and 100" in errors[0]["message"]


async def test_bad_cursor_and_wrong_id_type_are_user_errors(api, reader) -> None:
    errors = await api.errors('{ groups(after: "nonsense") { nodes { name } } }', token=reader)
    assert errors[0]["extensions"] == {"code": "BAD_CURSOR", "field": "after"}
    group_id = (await api.query("{ groups { nodes { id } } }", token=reader))["groups"]["nodes"][0]
    errors = await api.errors(
        "query($ids: [ID!]) { improvementActions(filter: {assessmentIds: $ids}) { totalCount } }",
        {"ids": [group_id["id"]]},
        token=reader,
    )
    assert "is not an id of type Assessment" in errors[0]["message"]


async def test_depth_alias_and_token_limits(db, reader) -> None:
    settings = Settings.from_env({}, max_query_depth=4, max_aliases=3, max_tokens=60)
    transport = httpx.ASGITransport(app=create_app(settings, db.engine))
    headers = {"Authorization": f"Bearer {reader}"}
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:

        async def errors(query: str) -> str:
            body = (await client.post("/graphql", json={"query": query}, headers=headers)).json()
            assert body.get("data") is None, body
            return body["errors"][0]["message"]

        deep = "{ assessments { nodes { controls { actions { evidence { name } } } } } }"
        assert "exceeds maximum operation depth" in await errors(deep)
        aliases = "{ a: viewer { role } b: viewer { role } c: viewer { role } d: viewer { role } }"
        assert "aliases" in await errors(aliases)
        assert "token" in (await errors("{ viewer { role " + "role " * 60 + "} }")).lower()
        ok = await client.post("/graphql", json={"query": "{ viewer { role } }"}, headers=headers)
        assert ok.json() == {"data": {"viewer": {"role": "READER"}}}


async def test_a_repeated_query_is_validated_once(api, reader, monkeypatch) -> None:
    import strawberry.schema.schema as strawberry_schema

    validated = []
    validate = strawberry_schema.validate

    def counting(*args, **kwargs):  # type: ignore[no-untyped-def]
        validated.append(args[1])
        return validate(*args, **kwargs)

    monkeypatch.setattr(strawberry_schema, "validate", counting)
    query = "query ValidatedOnce { viewer { role } }"
    for _ in range(3):
        assert await api.query(query, token=reader) == {"viewer": {"role": "READER"}}
    assert len(validated) == 1


async def test_oversized_request_body_is_refused(db, reader) -> None:
    settings = Settings.from_env({}, max_request_bytes=2_000)
    transport = httpx.ASGITransport(app=create_app(settings, db.engine))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        response = await client.post(
            "/graphql",
            json={"query": "{ viewer { role } }", "variables": {"pad": "x" * 5_000}},
            headers={"Authorization": f"Bearer {reader}"},
        )
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"


async def test_oversized_body_without_a_length_is_413_too(db, reader) -> None:
    """A chunked body declares no size; the cap applies while it streams in."""
    settings = Settings.from_env({}, max_request_bytes=2_000)
    transport = httpx.ASGITransport(app=create_app(settings, db.engine))

    async def body():  # type: ignore[no-untyped-def]
        yield b'{"query": "{ viewer { role } }", "variables": {"pad": "'
        for _ in range(10):
            yield b"x" * 1_000
        yield b'"}}'

    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        response = await client.post(
            "/graphql",
            content=body(),
            headers={"Authorization": f"Bearer {reader}", "Content-Type": "application/json"},
        )
    assert response.status_code == 413, response.text
    assert response.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"
    assert response.headers["x-request-id"]


async def test_unexpected_errors_are_masked_and_logged_with_the_request_id(
    api, reader, monkeypatch, caplog
) -> None:
    from cmgraph.resolvers import loaders

    async def broken(self, statement):  # type: ignore[no-untyped-def]
        raise RuntimeError("secret database detail")

    for read in ("rows", "scalars", "records"):  # every way a loader reads
        monkeypatch.setattr(loaders.Source, read, broken)
    with caplog.at_level(logging.ERROR, logger="cmgraph.graphql"):
        response = await api.client.post(
            "/graphql",
            json={"query": "{ assessments { nodes { name controls { key } } } }"},
            headers={"Authorization": f"Bearer {reader}", "X-Request-ID": "req-42"},
        )
    assert response.headers["x-request-id"] == "req-42"
    error = response.json()["errors"][0]
    assert error["message"] == "Unexpected error (request id req-42)."
    assert error["extensions"] == {"code": "INTERNAL_SERVER_ERROR", "requestId": "req-42"}
    assert "secret database detail" not in response.text
    assert "req-42" in caplog.text and "secret database detail" in caplog.text


async def test_every_response_carries_a_request_id(api) -> None:
    response = await api.client.get("/healthz")
    assert len(response.headers["x-request-id"]) == 32


async def test_health_reports_the_database(api, tmp_path) -> None:
    response = await api.client.get("/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok", "database": "ok"})

    missing = tmp_path / "no-such-dir" / "sub" / "x.db"
    engine = create_engine(f"sqlite+aiosqlite:///{missing}")
    missing.parent.rmdir()  # the engine made the folder; take it away so connecting fails
    transport = httpx.ASGITransport(app=create_app(Settings.from_env({}), engine))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        response = await client.get("/healthz")
    await engine.dispose()
    assert (response.status_code, response.json()["database"]) == (503, "unreachable")


async def test_the_ide_opens_in_a_browser_without_a_token(api) -> None:
    response = await api.client.get("/graphql", headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert "graphiql" in response.text.lower()


async def test_node_lookup_round_trips_every_type(api, reader) -> None:
    data = await api.query(
        """{ assessments(first: 1) { nodes { id name group { id name }
               template { id title regulation { id name } }
               controls { id key actions { id key evidence { id } } } } } }""",
        token=reader,
    )
    assessment = data["assessments"]["nodes"][0]
    control = assessment["controls"][0]
    action = control["actions"][0]
    ids = [
        assessment["id"],
        assessment["group"]["id"],
        assessment["template"]["id"],
        assessment["template"]["regulation"]["id"],
        control["id"],
        action["id"],
        "VW5rbm93bjox",  # "Unknown:1"
    ]
    result = await api.query(
        """query($ids: [ID!]!) { nodes(ids: $ids) { __typename id
             ... on Assessment { name } ... on Control { key }
             ... on ImprovementAction { key } } }""",
        {"ids": ids},
        token=reader,
    )
    nodes = result["nodes"]
    assert [n["__typename"] for n in nodes[:6]] == [
        "Assessment",
        "Group",
        "Template",
        "Regulation",
        "Control",
        "ImprovementAction",
    ]
    assert [n["id"] for n in nodes[:6]] == ids[:6]
    assert nodes[0]["name"] == assessment["name"] and nodes[4]["key"] == control["key"]
    assert nodes[6] is None
