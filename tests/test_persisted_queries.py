"""Persisted queries: Apollo's automatic persisted queries and the trusted-documents mode.

APQ as Apollo's ``PersistedQueryLink`` drives it: the hash alone, ``PERSISTED_QUERY_NOT_FOUND``,
the hash with the query (registered), then the hash alone again, over POST and GET, and
across server processes that share the database.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import delete, func, select

from cmgraph.adapters.db import create_engine
from cmgraph.config import Settings
from cmgraph.domain.enums import OrgRole
from cmgraph.domain.models import PersistedQuery
from cmgraph.domain.persisted_documents import TrustedDocumentsError
from cmgraph.http.app import GraphQLApp, create_app
from cmgraph.http.graphql_http import GRAPHQL_RESPONSE, JSON
from tests.databases import Database
from tests.graphql_ws import WsClient, uvicorn_server
from tests.test_processes import environment, serving

VIEWER = "query Viewer { viewer { role } }"
SCORE = "query Score { complianceScore { overall { percent } } }"
SUBSCRIPTION = "subscription { scoreChanged { delta } }"


def sha256(document: str) -> str:
    return hashlib.sha256(document.encode()).hexdigest()


def apq(document: str, digest: str | None = None) -> dict[str, Any]:
    return {"persistedQuery": {"version": 1, "sha256Hash": digest or sha256(document)}}


def bearer(token: str | None, **more: str) -> dict[str, str]:
    return {**({"Authorization": f"Bearer {token}"} if token else {}), **more}


@asynccontextmanager
async def client_of(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://cmgraph.test") as client:
        yield client


async def post(
    client: httpx.AsyncClient, token: str | None, body: dict[str, Any], **headers: str
) -> httpx.Response:
    return await client.post("/graphql", json=body, headers=bearer(token, **headers))


async def get(
    client: httpx.AsyncClient, token: str | None, params: dict[str, Any], **headers: str
) -> httpx.Response:
    encoded = {k: v if isinstance(v, str) else json.dumps(v) for k, v in params.items()}
    return await client.get("/graphql", params=encoded, headers=bearer(token, **headers))


def code_of(response: httpx.Response) -> str:
    assert response.headers["content-type"] in (JSON, GRAPHQL_RESPONSE), response.text
    return str(response.json()["errors"][0]["extensions"]["code"])


async def stored(db: Database) -> int:
    async with db.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(PersistedQuery)) or 0)


@pytest.fixture
async def reader(token_for) -> str:
    return await token_for("reader@apq.test", OrgRole.READER)


# -- automatic persisted queries ------------------------------------------------------------


async def test_a_hash_is_unknown_then_registered_with_its_query_then_enough(
    api, db: Database, reader: str
) -> None:
    client = api.client
    missing = await post(client, reader, {"extensions": apq(VIEWER)})
    assert missing.status_code == 200  # application/json: Apollo's convention
    assert code_of(missing) == "PERSISTED_QUERY_NOT_FOUND"
    assert missing.json()["errors"][0]["message"] == "PersistedQueryNotFound"
    assert "data" not in missing.json()
    assert missing.headers["cache-control"] == "no-store"

    # Apollo Client 4 accepts graphql-response+json: a miss is then a 404, which its link
    # reads the same way (it parses the error body of a non-2xx answer).
    missing = await post(
        client, reader, {"extensions": apq(VIEWER)}, Accept=f"{GRAPHQL_RESPONSE}, {JSON};q=0.9"
    )
    assert missing.status_code == 404
    assert missing.headers["content-type"] == GRAPHQL_RESPONSE
    assert code_of(missing) == "PERSISTED_QUERY_NOT_FOUND"

    registered = await post(client, reader, {"query": VIEWER, "extensions": apq(VIEWER)})
    assert registered.json() == {"data": {"viewer": {"role": "READER"}}}
    assert await stored(db) == 1

    hit = await post(client, reader, {"extensions": apq(VIEWER), "operationName": "Viewer"})
    assert hit.status_code == 200
    assert hit.json() == {"data": {"viewer": {"role": "READER"}}}
    again = await post(client, reader, {"query": VIEWER, "extensions": apq(VIEWER)})
    assert again.status_code == 200
    assert await stored(db) == 1


async def test_apq_over_get_with_etags(api, reader: str) -> None:
    client = api.client
    params: dict[str, Any] = {"extensions": apq(SCORE)}
    missing = await get(client, reader, params)
    assert code_of(missing) == "PERSISTED_QUERY_NOT_FOUND"
    assert missing.headers["cache-control"] == "no-store"

    # Apollo's link sends the query with the hash by POST, which registers it.
    registered = await post(client, reader, {"query": SCORE, **params}, **{"X-CMGraph-CSRF": "1"})
    assert registered.status_code == 200, registered.text
    assert registered.json()["data"]["complianceScore"]["overall"]["percent"] == 0

    hit = await get(client, reader, params)
    assert hit.status_code == 200
    assert hit.json() == registered.json()
    assert hit.headers["cache-control"] == "private, no-cache"
    tag = hit.headers["etag"]
    unchanged = await get(client, reader, params, **{"If-None-Match": tag})
    assert unchanged.status_code == 304
    assert unchanged.content == b""

    # A mutation named by hash is still no GET read.
    mutation = 'mutation { renameGroup(input: {groupId: "x", name: "y"}) { userErrors { code } } }'
    await post(client, reader, {"query": mutation, "extensions": apq(mutation)})
    refused = await get(client, reader, {"extensions": apq(mutation)})
    assert refused.status_code == 405, refused.text
    assert refused.headers["allow"] == "POST"
    assert code_of(refused) == "METHOD_NOT_ALLOWED"


async def test_a_get_runs_a_new_document_but_never_registers_it(
    api, db: Database, reader: str
) -> None:
    """A GET is a navigation any page can make a signed-in browser do (no CSRF header):
    it reads, and writes nothing, not even a persisted query."""
    client = api.client
    ran = await get(client, reader, {"query": SCORE, "extensions": apq(SCORE)})
    assert ran.status_code == 200, ran.text
    assert ran.json()["data"]["complianceScore"]["overall"]["percent"] == 0
    assert await stored(db) == 0
    missing = await get(client, reader, {"extensions": apq(SCORE)})
    assert code_of(missing) == "PERSISTED_QUERY_NOT_FOUND"
    # The hash must still be the query's.
    mismatch = await get(client, reader, {"query": VIEWER, "extensions": apq(SCORE)})
    assert mismatch.status_code == 400 and code_of(mismatch) == "PERSISTED_QUERY_HASH_MISMATCH"


async def test_a_registered_hash_works_in_another_process_and_stays_cached(
    db: Database, settings: Settings, reader: str, tmp_path: Path
) -> None:
    """Two apps, each with its own engine and cache, on one database; then a real
    ``cmgraph serve`` process. A hash one registers, the others find."""
    first_engine, second_engine = create_engine(db.url), create_engine(db.url)
    try:
        first, second = create_app(settings, first_engine), create_app(settings, second_engine)
        async with client_of(first) as one, client_of(second) as two:
            # Misses are not cached: the second app registers, the first then finds it.
            missing = await post(one, reader, {"extensions": apq(VIEWER)})
            assert code_of(missing) == "PERSISTED_QUERY_NOT_FOUND"
            await post(two, reader, {"query": VIEWER, "extensions": apq(VIEWER)})
            hit = await post(one, reader, {"extensions": apq(VIEWER)})
            assert hit.json() == {"data": {"viewer": {"role": "READER"}}}

            # Hits are: with the row gone, the first app still knows the document.
            async with db.sessions() as session, session.begin():
                await session.execute(delete(PersistedQuery))
            cached = await post(one, reader, {"extensions": apq(VIEWER)})
            assert cached.json() == {"data": {"viewer": {"role": "READER"}}}

            await post(one, reader, {"query": SCORE, "extensions": apq(SCORE)})
    finally:
        await first_engine.dispose()
        await second_engine.dispose()

    async with serving(db, tmp_path / "server") as base, httpx.AsyncClient(base_url=base) as other:
        hit = await get(other, reader, {"extensions": apq(SCORE)})
        assert hit.status_code == 200, hit.text
        assert hit.json()["data"]["complianceScore"]["overall"]["percent"] == 0
        missing = await get(other, reader, {"extensions": apq(VIEWER)})  # deleted above
        assert code_of(missing) == "PERSISTED_QUERY_NOT_FOUND"


async def test_a_hash_that_is_not_the_querys_is_refused(api, db: Database, reader: str) -> None:
    response = await post(api.client, reader, {"query": VIEWER, "extensions": apq(SCORE)})
    assert response.status_code == 400
    assert code_of(response) == "PERSISTED_QUERY_HASH_MISMATCH"
    assert await stored(db) == 0
    hit = await post(api.client, reader, {"extensions": apq(SCORE)})
    assert code_of(hit) == "PERSISTED_QUERY_NOT_FOUND"


@pytest.mark.parametrize(
    "extension",
    [
        {"version": 2, "sha256Hash": sha256(VIEWER)},
        {"version": 1, "sha256Hash": "abc"},
        {"version": 1},
        "abc",
    ],
)
async def test_a_malformed_persisted_query_is_400(api, reader: str, extension: Any) -> None:
    response = await post(api.client, reader, {"extensions": {"persistedQuery": extension}})
    assert response.status_code == 400
    assert code_of(response) == "BAD_REQUEST"


async def test_only_a_signed_in_caller_registers(api, db: Database, reader: str) -> None:
    response = await post(api.client, None, {"query": VIEWER, "extensions": apq(VIEWER)})
    assert response.status_code == 401
    assert code_of(response) == "UNAUTHENTICATED"
    response = await get(api.client, None, {"query": VIEWER, "extensions": apq(VIEWER)})
    assert response.status_code == 401
    assert await stored(db) == 0
    assert code_of(await post(api.client, reader, {"extensions": apq(VIEWER)})) == (
        "PERSISTED_QUERY_NOT_FOUND"
    )


async def test_only_documents_within_the_limits_are_registered(
    db: Database, settings: Settings, reader: str
) -> None:
    invalid = "{ noSuchField }"
    long = "{ " + " ".join(f"a{i}: __typename" for i in range(20)) + " }"
    app = create_app(dataclasses.replace(settings, max_tokens=30), db.engine)
    async with client_of(app) as client:
        for document in (invalid, long):
            refused = await post(client, reader, {"query": document, "extensions": apq(document)})
            assert refused.json()["errors"], refused.text
            missing = await post(client, reader, {"extensions": apq(document)})
            assert code_of(missing) == "PERSISTED_QUERY_NOT_FOUND"
    assert await stored(db) == 0


# -- trusted documents ----------------------------------------------------------------------


@pytest.fixture
def manifest(tmp_path: Path) -> Path:
    """A manifest as GraphQL Code Generator writes it, keys of both algorithms it offers."""
    path = tmp_path / "persisted-documents.json"
    path.write_text(
        json.dumps(
            {
                sha256(VIEWER): VIEWER,
                f"sha1:{hashlib.sha1(SCORE.encode()).hexdigest()}": SCORE,
                f"sha256:{sha256(SUBSCRIPTION)}": SUBSCRIPTION,
            }
        )
    )
    return path


@pytest.fixture
def trusted_app(db: Database, settings: Settings, manifest: Path) -> Any:
    return create_app(dataclasses.replace(settings, trusted_documents=str(manifest)), db.engine)


async def test_the_web_apps_documents_are_known_by_hash_and_widen_no_trusted_manifest(
    db: Database, settings: Settings, manifest: Path, tmp_path: Path, token_for
) -> None:
    """The build's manifest answers by hash at once; under CMGRAPH_TRUSTED_DOCUMENTS only
    the trusted manifest counts for non-owners, and the build's file is not served."""
    app_only = "query AppOnly { viewer { role } }"
    web = tmp_path / "web"
    web.mkdir()
    (web / "persisted-documents.json").write_text(json.dumps({sha256(app_only): app_only}))
    contributor = await token_for("contributor@apq.test", OrgRole.CONTRIBUTOR)
    owner = await token_for("owner@apq.test", OrgRole.OWNER)
    answer = {"data": {"viewer": {"role": "CONTRIBUTOR"}}}

    open_app = create_app(dataclasses.replace(settings, web_dir=web), db.engine)
    async with client_of(open_app) as client:
        by_id = await post(client, contributor, {"documentId": sha256(app_only)})
        assert by_id.json() == answer
        assert (await post(client, contributor, {"extensions": apq(app_only)})).json() == answer
        served = await client.get("/persisted-documents.json", headers={"Accept": JSON})
        assert served.status_code == 404 and app_only not in served.text
    assert await stored(db) == 0  # known, not registered

    strict = dataclasses.replace(settings, web_dir=web, trusted_documents=str(manifest))
    async with client_of(create_app(strict, db.engine)) as client:
        refused = await post(client, contributor, {"documentId": sha256(app_only)})
        assert code_of(refused) == "PERSISTED_QUERY_NOT_FOUND"
        by_owner = await post(client, owner, {"documentId": sha256(app_only)})
        assert by_owner.json() == {"data": {"viewer": {"role": "OWNER"}}}


async def test_a_broken_web_build_leaves_the_api_up(
    db: Database, settings: Settings, tmp_path: Path, token_for
) -> None:
    (tmp_path / "persisted-documents.json").write_text('{"not a hash": "{ __typename }"}')
    app = create_app(dataclasses.replace(settings, web_dir=tmp_path), db.engine)
    reader = await token_for("reader@apq.test", OrgRole.READER)
    async with client_of(app) as client:
        answer = await post(client, reader, {"query": "{ viewer { role } }"})
    assert answer.json() == {"data": {"viewer": {"role": "READER"}}}


async def test_trusted_documents_run_by_id_by_hash_or_in_full(trusted_app: Any, token_for) -> None:
    contributor = await token_for("contributor@apq.test", OrgRole.CONTRIBUTOR)
    viewer = {"data": {"viewer": {"role": "CONTRIBUTOR"}}}
    sha1 = hashlib.sha1(SCORE.encode()).hexdigest()
    async with client_of(trusted_app) as client:
        assert (await post(client, contributor, {"documentId": sha256(VIEWER)})).json() == viewer
        assert (
            await post(client, contributor, {"documentId": f"sha256:{sha256(VIEWER)}"})
        ).json() == viewer
        assert (await post(client, contributor, {"extensions": apq(VIEWER)})).json() == viewer
        assert (await post(client, contributor, {"query": VIEWER})).json() == viewer
        score = await get(client, contributor, {"documentId": f"sha1:{sha1}"})
        assert score.status_code == 200, score.text
        assert "etag" in score.headers
        by_hash = await get(client, contributor, {"extensions": apq(SCORE)})
        assert by_hash.json() == score.json()

        unknown = await post(client, contributor, {"documentId": sha256("{ __typename }")})
        assert code_of(unknown) == "PERSISTED_QUERY_NOT_FOUND"
        for bad in (5, ""):
            refused = await post(client, contributor, {"documentId": bad})
            assert refused.status_code == 400
            assert code_of(refused) == "BAD_REQUEST"


async def test_other_documents_are_refused_except_for_owners(
    trusted_app: Any, db: Database, token_for
) -> None:
    contributor = await token_for("contributor@apq.test", OrgRole.CONTRIBUTOR)
    owner = await token_for("owner@apq.test", OrgRole.OWNER)
    other = "{ viewer { role } }"  # the trusted one, spelt differently
    async with client_of(trusted_app) as client:
        for request in (
            {"query": other},
            {"query": other, "extensions": apq(other)},
        ):
            refused = await post(client, contributor, request)
            assert refused.status_code == 400, refused.text
            assert refused.headers["content-type"] == JSON
            assert code_of(refused) == "PERSISTED_QUERY_NOT_ALLOWED"
        refused = await get(client, contributor, {"query": other}, Accept=GRAPHQL_RESPONSE)
        assert refused.status_code == 400, refused.text
        assert refused.headers["content-type"] == GRAPHQL_RESPONSE
        assert code_of(refused) == "PERSISTED_QUERY_NOT_ALLOWED"
        assert await stored(db) == 0

        # An owner (the IDE, an ad-hoc report) runs anything, APQ included...
        assert (await post(client, owner, {"query": other})).json() == {
            "data": {"viewer": {"role": "OWNER"}}
        }
        await post(client, owner, {"query": other, "extensions": apq(other)})
        assert await stored(db) == 1
        assert (await post(client, owner, {"extensions": apq(other)})).status_code == 200
        # ...but what an owner registered is no trusted document for anyone else.
        missing = await post(client, contributor, {"extensions": apq(other)})
        assert code_of(missing) == "PERSISTED_QUERY_NOT_FOUND"


async def test_an_upload_is_held_to_the_trusted_documents(trusted_app: Any, token_for) -> None:
    """A multipart /graphql request (an upload) carries its document like any other."""
    contributor = await token_for("contributor@apq.test", OrgRole.CONTRIBUTOR)
    upload = "mutation($f: Upload!) { importImprovementActions(input: {file: $f}) { applied } }"
    async with client_of(trusted_app) as client:
        refused = await client.post(
            "/graphql",
            data={
                "operations": json.dumps({"query": upload, "variables": {"f": None}}),
                "map": json.dumps({"0": ["variables.f"]}),
            },
            files={"0": ("actions.xlsx", b"PK\x03\x04", "application/octet-stream")},
            headers=bearer(contributor, **{"X-CMGraph-CSRF": "1"}),
        )
    assert refused.status_code == 400, refused.text
    assert refused.headers["content-type"] == JSON
    assert code_of(refused) == "PERSISTED_QUERY_NOT_ALLOWED"


async def test_subscriptions_are_held_to_the_trusted_documents(trusted_app: Any, token_for) -> None:
    contributor = await token_for("contributor@apq.test", OrgRole.CONTRIBUTOR)
    async with uvicorn_server(trusted_app) as base, WsClient.signed_in(base, contributor) as ws:
        refused = await ws.subscribe("subscription { scoreChanged { score { percent } } }")
        message = await ws.receive()
        assert message["id"] == refused and message["type"] == "error", message
        assert message["payload"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_ALLOWED"
        await ws.subscribe(SUBSCRIPTION)
        await ws.nothing_within(0.3)  # accepted: nothing to report until a score changes


async def test_what_cannot_be_checked_does_not_run(
    db: Database, settings: Settings, token_for, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The documents check fails closed: over HTTP without a signed-in context (a 500, as
    for any bug), over WebSocket without the view's documents (an ``error`` message)."""
    owner = await token_for("owner@apq.test", OrgRole.OWNER)
    app = create_app(settings, db.engine)
    view_context = GraphQLApp.get_context

    async def no_caller(self: GraphQLApp, request: Any, response: Any) -> Any:
        context = await view_context(self, request, response)
        return None if request.scope["type"] == "http" else context

    monkeypatch.setattr(GraphQLApp, "get_context", no_caller)
    async with client_of(app) as client:
        failed = await post(client, owner, {"query": VIEWER})
    assert failed.status_code == 500, failed.text
    assert code_of(failed) == "INTERNAL_SERVER_ERROR"
    monkeypatch.undo()

    # A data descriptor on the class hides what ``__init__`` stored on the instance.
    monkeypatch.setattr(
        GraphQLApp,
        "documents",
        property(lambda self: None, lambda self, value: None),
        raising=False,
    )
    app = create_app(settings, db.engine)
    async with uvicorn_server(app) as base, WsClient.signed_in(base, owner) as ws:
        refused = await ws.subscribe(SUBSCRIPTION)
        message = await ws.receive()
        assert message["id"] == refused and message["type"] == "error", message
        assert message["payload"][0]["extensions"]["code"] == "INTERNAL_SERVER_ERROR"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (json.dumps({sha256(VIEWER): SCORE}), "is not the sha256 of its document"),
        (json.dumps({"viewer": VIEWER}), "is not a hex SHA-256 or SHA-1 digest"),
        (json.dumps({sha256(VIEWER): 5}), "is not a string"),
        (json.dumps([VIEWER]), "must be a JSON object"),
        ("{nope", "is not JSON"),
    ],
)
async def test_a_bad_manifest_stops_the_server_from_starting(
    db: Database, settings: Settings, tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "manifest.json"
    path.write_text(content)
    with pytest.raises(TrustedDocumentsError, match=message):
        create_app(dataclasses.replace(settings, trusted_documents=str(path)), db.engine)


async def test_cmgraph_serve_refuses_a_bad_manifest_with_a_clear_error(
    db: Database, tmp_path: Path
) -> None:
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps({sha256(VIEWER): SCORE}))
    missing = tmp_path / "absent.json"
    for manifest, message in ((path, b"is not the sha256"), (missing, b"cannot be read")):
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "cmgraph",
            "serve",
            env=environment(db, tmp_path / "data", CMGRAPH_TRUSTED_DOCUMENTS=str(manifest)),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        _, err = await asyncio.wait_for(process.communicate(), 60)
        assert process.returncode == 1, err.decode()
        assert b"CMGRAPH_TRUSTED_DOCUMENTS" in err and message in err, err.decode()
        assert b"Traceback" not in err
