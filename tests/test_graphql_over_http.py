"""GraphQL over HTTP as the specification says: media types, status codes, JSON bodies, caching.

The whole of graphql-http's server audit (the npm package the spec's authors keep) runs
against a real ``cmgraph serve`` process and must pass without a failure, a warning or a
notice; the tests after it pin each behaviour on its own.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from cmgraph.config import Settings
from cmgraph.domain.enums import OrgRole
from cmgraph.http.app import create_app
from cmgraph.http.graphql_http import GRAPHQL_RESPONSE, JSON, Exchange, answer, negotiate
from tests.databases import Database
from tests.test_processes import serving

NODE_PROJECT = Path(__file__).resolve().parent / "node"
JSON_ONLY = {"Accept": JSON}
NEW_TYPE = {"Accept": GRAPHQL_RESPONSE}
APOLLO_CLIENT_4 = {"Accept": f"{GRAPHQL_RESPONSE},{JSON};q=0.9"}


@pytest.fixture(scope="session")
def audit_tool() -> Path:
    """tests/node with its packages installed (``npm ci`` from the committed lock file)."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        reason = "node and npm are needed to run graphql-http's audit (tests/node)"
        if os.environ.get("CI"):  # in CI the audit must run, never pass by being skipped
            pytest.fail(reason)
        pytest.skip(reason)
    if not (NODE_PROJECT / "node_modules" / "graphql-http").is_dir():
        done = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"],
            cwd=NODE_PROJECT,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        assert done.returncode == 0, f"npm ci failed:\n{done.stdout}\n{done.stderr}"
    return NODE_PROJECT / "audit.mjs"


@pytest.fixture
async def owner_token(token_for) -> str:
    return await token_for("owner@http.test", OrgRole.OWNER)


async def test_graphql_http_audit_passes_every_check(
    db: Database, audit_tool: Path, owner_token: str, tmp_path: Path
) -> None:
    async with serving(db, tmp_path / "server") as base:
        process = await asyncio.create_subprocess_exec(
            shutil.which("node") or "node",
            str(audit_tool),
            f"{base}/graphql",
            cwd=NODE_PROJECT,
            env={**os.environ, "CMGRAPH_AUDIT_TOKEN": owner_token},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(process.communicate(), 300)
    assert process.returncode == 0, err.decode()
    report = json.loads(out)
    print(report["summary"])
    failing = [r for r in report["results"] if r["status"] != "ok"]
    for result in failing:
        print(f"{result['status']}: {result['id']} {result['name']}: {result['reason']}")
    assert [f"{r['id']} {r['name']}" for r in failing] == []
    assert report["counts"]["ok"] == len(report["results"]) > 50


# -- media types ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("accept", "chosen"),
    [
        ("", JSON),
        ("*/*", JSON),
        ("application/json", JSON),
        ("text/html", JSON),
        (GRAPHQL_RESPONSE, GRAPHQL_RESPONSE),
        (f"{GRAPHQL_RESPONSE}, {JSON};q=0.9", GRAPHQL_RESPONSE),
        (f"{JSON}, {GRAPHQL_RESPONSE}", GRAPHQL_RESPONSE),
        (f"{JSON}, {GRAPHQL_RESPONSE};q=0.5", JSON),
        (f"{GRAPHQL_RESPONSE};q=0", JSON),
        ("Application/GraphQL-Response+JSON; charset=utf-8", GRAPHQL_RESPONSE),
    ],
)
def test_the_answer_is_in_the_media_type_the_client_prefers(accept: str, chosen: str) -> None:
    assert negotiate(accept) == chosen


async def post(
    api: Any, token: str | None, body: Any, headers: dict[str, str] | None = None
) -> httpx.Response:
    auth = {"Authorization": f"Bearer {token}"} if token else {}
    return await api.client.post("/graphql", json=body, headers={**auth, **(headers or {})})


@pytest.mark.parametrize(
    ("headers", "media_type"),
    [({}, JSON), ({"Accept": "*/*"}, JSON), (JSON_ONLY, JSON), (APOLLO_CLIENT_4, GRAPHQL_RESPONSE)],
)
async def test_a_result_comes_in_the_negotiated_media_type(
    api, owner_token: str, headers: dict[str, str], media_type: str
) -> None:
    response = await post(api, owner_token, {"query": "{ __typename }"}, headers)
    assert response.status_code == 200
    assert response.headers["content-type"] == media_type
    assert response.json() == {"data": {"__typename": "Query"}}


# -- request errors: nothing ran ------------------------------------------------------------

REQUEST_ERRORS = {
    "syntax": ({"query": "{"}, "GRAPHQL_PARSE_FAILED"),
    "validation": ({"query": "{ noSuchField }"}, "GRAPHQL_VALIDATION_FAILED"),
    "variable": (
        {
            "query": "query($first: Int!) { assessments(first: $first) { totalCount } }",
            "variables": {"first": "many"},
        },
        "BAD_USER_INPUT",
    ),
    "two operations, no name": (
        {"query": "query A { __typename } query B { __typename }"},
        "BAD_REQUEST",
    ),
    "an unknown operationName": (
        {"query": "query A { __typename }", "operationName": "B"},
        "BAD_REQUEST",
    ),
    "a subscription over HTTP": (
        {"query": "subscription { scoreChanged { delta } }"},
        "BAD_REQUEST",
    ),
}


@pytest.mark.parametrize("name", REQUEST_ERRORS)
async def test_a_request_error_is_400_without_data_in_graphql_response_json(
    api, owner_token: str, name: str
) -> None:
    body, code = REQUEST_ERRORS[name]
    response = await post(api, owner_token, body, NEW_TYPE)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == GRAPHQL_RESPONSE
    result = response.json()
    assert "data" not in result
    assert all(e["extensions"]["code"] for e in result["errors"])
    assert result["errors"][0]["extensions"]["code"] == code


@pytest.mark.parametrize("name", REQUEST_ERRORS)
async def test_a_request_error_is_200_without_data_in_application_json(
    api, owner_token: str, name: str
) -> None:
    body, code = REQUEST_ERRORS[name]
    response = await post(api, owner_token, body, JSON_ONLY)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == JSON
    result = response.json()
    assert "data" not in result
    assert result["errors"][0]["extensions"]["code"] == code


async def test_a_field_error_is_200_with_data_in_both_media_types(api, token_for) -> None:
    """Execution began (``users`` is for owners): the result has ``data``, whatever it holds."""
    reader = await token_for("reader@http.test", OrgRole.READER)
    for headers in (NEW_TYPE, JSON_ONLY):
        response = await post(api, reader, {"query": "{ users { totalCount } }"}, headers)
        assert response.status_code == 200, response.text
        result = response.json()
        assert "data" in result
        assert result["errors"][0]["path"] == ["users"]
        assert result["errors"][0]["extensions"]["code"] == "FORBIDDEN"


# -- refusals before GraphQL: always 4xx, always JSON -------------------------------------


def refusals(token: str) -> dict[str, tuple[str, dict[str, Any]]]:
    auth = {"Authorization": f"Bearer {token}"}
    return {
        "a batch": ("POST", {"json": [{"query": "{ __typename }"}], "headers": auth}),
        "no query": ("POST", {"json": {"variables": {}}, "headers": auth}),
        "no query over GET": ("GET", {"params": {"variables": "{}"}, "headers": auth}),
        "query not a string": ("POST", {"json": {"query": 5}, "headers": auth}),
        "not JSON": (
            "POST",
            {"content": b'{"query', "headers": {**auth, "Content-Type": JSON}},
        ),
    }


@pytest.mark.parametrize(
    "name",
    [
        "a batch",
        "no query",
        "no query over GET",
        "query not a string",
        "not JSON",
    ],
)
@pytest.mark.parametrize("accept", [JSON, GRAPHQL_RESPONSE])
async def test_every_refusal_is_400_json_with_a_code(
    api, owner_token: str, name: str, accept: str
) -> None:
    method, options = refusals(owner_token)[name]
    options["headers"] = {**options["headers"], "Accept": accept}
    response = await api.client.request(method, "/graphql", **options)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == accept
    assert response.headers["cache-control"] == "no-store"
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "BAD_REQUEST"
    assert error["message"]


@pytest.mark.parametrize("accept", [JSON, GRAPHQL_RESPONSE])
async def test_a_mutation_over_get_is_405_allowing_post(api, owner_token: str, accept: str) -> None:
    """The spec: "MUST respond with 405 Method Not Allowed"; the mutation did not run."""
    mutation = 'mutation { renameGroup(input: {groupId: "x", name: "y"}) { userErrors { code } } }'
    response = await get(api, owner_token, {"query": mutation}, Accept=accept)
    assert response.status_code == 405, response.text
    assert response.headers["allow"] == "POST"
    assert response.headers["content-type"] == accept
    assert response.headers["cache-control"] == "no-store"
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "METHOD_NOT_ALLOWED"


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"])
@pytest.mark.parametrize("accept", [JSON, GRAPHQL_RESPONSE])
async def test_every_other_method_is_one_json_405(
    api, owner_token: str, method: str, accept: str
) -> None:
    headers = {"Authorization": f"Bearer {owner_token}", "Accept": accept}
    response = await api.client.request(method, "/graphql", headers=headers)
    assert response.status_code == 405, response.text
    assert response.headers["allow"] == "GET, POST"
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["content-type"] == accept
    if method != "HEAD":  # a HEAD answer has no body
        assert response.json()["errors"][0]["extensions"]["code"] == "METHOD_NOT_ALLOWED"


@pytest.mark.parametrize("content_type", ["Application/JSON", "APPLICATION/json; Charset=UTF-8"])
async def test_media_types_are_case_insensitive(api, owner_token: str, content_type: str) -> None:
    response = await api.client.post(
        "/graphql",
        content=json.dumps({"query": "{ __typename }"}),
        headers={"Authorization": f"Bearer {owner_token}", "Content-Type": content_type},
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"data": {"__typename": "Query"}}
    # A document named by id is read from such a body too.
    named = await api.client.post(
        "/graphql",
        content=json.dumps({"documentId": "0" * 64}),
        headers={"Authorization": f"Bearer {owner_token}", "Content-Type": content_type},
    )
    assert named.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"


@pytest.mark.parametrize("media_type", [JSON, GRAPHQL_RESPONSE])
def test_a_request_error_of_ours_is_500_in_both_media_types(media_type: str) -> None:
    failed = {"errors": [{"message": "x", "extensions": {"code": "INTERNAL_SERVER_ERROR"}}]}
    response = answer(failed, Exchange(media_type=media_type, method="POST", if_none_match=""))
    assert response.status_code == 500
    assert response.headers["content-type"] == media_type
    assert response.headers["cache-control"] == "no-store"


@pytest.mark.parametrize(
    "accepts", [["text/html", JSON], [JSON, "text/html"], ["text/html,application/xhtml+xml"]]
)
async def test_a_browser_opening_graphql_gets_the_ide_whatever_the_accept_order(
    api, accepts: list[str]
) -> None:
    """The endpoint and Strawberry's view read a repeated ``Accept`` the same way."""
    response = await api.client.get(
        "/graphql", headers=httpx.Headers([("Accept", accept) for accept in accepts])
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")


async def test_a_request_without_credentials_is_401_in_the_negotiated_type(api) -> None:
    response = await post(api, None, {"query": "{ __typename }"}, NEW_TYPE)
    assert response.status_code == 401
    assert response.headers["content-type"] == GRAPHQL_RESPONSE
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


# -- caching --------------------------------------------------------------------------------

VIEWER = "{ viewer { user { name } role } }"


async def get(api: Any, token: str, params: dict[str, str], **headers: str) -> httpx.Response:
    return await api.client.get(
        "/graphql", params=params, headers={"Authorization": f"Bearer {token}", **headers}
    )


async def test_a_get_read_is_private_and_revalidated_by_its_etag(api, owner_token: str) -> None:
    response = await get(api, owner_token, {"query": VIEWER})
    assert response.status_code == 200
    assert response.headers["cache-control"] == "private, no-cache"
    assert {v.strip() for v in response.headers["vary"].split(",")} >= {
        "Accept",
        "Authorization",
        "Cookie",
    }
    tag = response.headers["etag"]
    assert tag.startswith('"') and tag.endswith('"')

    again = await get(api, owner_token, {"query": VIEWER}, **{"If-None-Match": tag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == tag
    assert again.headers["cache-control"] == "private, no-cache"

    for spelling in (f"W/{tag}", f'"other", {tag}', "*"):
        hit = await get(api, owner_token, {"query": VIEWER}, **{"If-None-Match": spelling})
        assert hit.status_code == 304, spelling
    miss = await get(api, owner_token, {"query": VIEWER}, **{"If-None-Match": '"other"'})
    assert miss.status_code == 200
    assert miss.json()["data"]["viewer"]["role"] == "OWNER"


async def test_each_media_type_has_its_own_tag(api, owner_token: str) -> None:
    """The same result in the other media type is another representation: a tag of one
    never revalidates the other (a cache would serve the wrong ``Content-Type``)."""
    plain = await get(api, owner_token, {"query": VIEWER}, Accept=JSON)
    newer = await get(api, owner_token, {"query": VIEWER}, Accept=GRAPHQL_RESPONSE)
    assert plain.content == newer.content
    assert plain.headers["etag"] != newer.headers["etag"]
    crossed = await get(
        api,
        owner_token,
        {"query": VIEWER},
        Accept=GRAPHQL_RESPONSE,
        **{"If-None-Match": plain.headers["etag"]},
    )
    assert crossed.status_code == 200
    assert crossed.headers["content-type"] == GRAPHQL_RESPONSE


async def test_answers_made_outside_graphql_are_not_stored(
    db: Database, settings: Settings, owner_token: str
) -> None:
    """The 413 the body limit makes before /graphql reads anything is ``no-store`` too."""
    app = create_app(dataclasses.replace(settings, max_request_bytes=100), db.engine)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        response = await client.post(
            "/graphql",
            json={"query": "{ __typename }", "variables": {"pad": "x" * 200}},
            headers={"Authorization": f"Bearer {owner_token}"},
        )
    assert response.status_code == 413
    assert response.headers["cache-control"] == "no-store"


async def test_posts_errors_and_refusals_are_not_stored(api, owner_token: str) -> None:
    response = await post(api, owner_token, {"query": VIEWER})
    assert response.headers["cache-control"] == "no-store"
    assert "etag" not in response.headers

    failed = await get(api, owner_token, {"query": "{ noSuchField }"})
    assert failed.headers["cache-control"] == "no-store"
    assert "etag" not in failed.headers

    mutation = await post(
        api,
        owner_token,
        {
            "query": 'mutation { renameGroup(input: {groupId: "x", name: "y"}) { userErrors { code } } }'
        },
    )
    assert mutation.headers["cache-control"] == "no-store"
