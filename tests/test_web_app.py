"""The web app is served from ``/``: its files, the fallback for its routes, and the hint
shown when it has not been built."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx

from cmgraph.config import Settings
from cmgraph.http.app import create_app
from tests.databases import Database

PAGE = "text/html,application/xhtml+xml,*/*;q=0.8"  # what a browser's navigation accepts
INDEX = '<!doctype html><div id="root"></div><script src="/assets/app-1a2b.js"></script>'
IDE = '<!doctype html><div id="graphiql"></div><script src="/assets/graphiql-3c4d.js"></script>'


@asynccontextmanager
async def browser(db: Database, web_dir: Path) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(Settings.from_env({}, web_dir=web_dir, background_work=False), db.engine)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://cmgraph.test") as client:
        yield client


def built_app(folder: Path) -> Path:
    (folder / "assets").mkdir(parents=True)
    (folder / "index.html").write_text(INDEX)
    (folder / "graphiql.html").write_text(IDE)
    (folder / "assets" / "app-1a2b.js").write_text("console.log('cmgraph');")
    return folder


async def test_every_route_of_the_app_opens_its_page(db: Database, tmp_path: Path) -> None:
    async with browser(db, built_app(tmp_path / "dist")) as client:
        for path in ("/", "/actions/QWN0aW9uOjE%3D", "/sign-in?next=/alerts", "/set-password"):
            page = await client.get(path, headers={"Accept": PAGE})
            assert page.status_code == 200, path
            assert page.text == INDEX
            assert page.headers["content-type"].startswith("text/html")
            assert page.headers["cache-control"] == "no-cache"
        script = await client.get("/assets/app-1a2b.js")
        assert script.text == "console.log('cmgraph');"
        assert "immutable" in script.headers["cache-control"]


async def test_browsers_opening_graphql_get_the_bundled_ide(db: Database, tmp_path: Path) -> None:
    async with browser(db, built_app(tmp_path / "dist")) as client:
        ide = await client.get("/graphql", headers={"Accept": PAGE})
        assert ide.status_code == 200 and ide.text == IDE  # its scripts come from this server
        query = await client.get("/graphql?query={__typename}", headers={"Accept": PAGE})
        assert query.status_code == 401  # a GET with a document is a request, not the IDE


async def test_what_is_not_the_app_stays_json(db: Database, tmp_path: Path) -> None:
    async with browser(db, built_app(tmp_path / "dist")) as client:
        missing = await client.get("/assets/gone.js")
        assert missing.status_code == 404
        assert missing.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"
        api_client = await client.get("/no/such/thing", headers={"Accept": "application/json"})
        assert api_client.status_code == 404
        assert api_client.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"
        health = await client.get("/healthz", headers={"Accept": PAGE})
        assert health.json()["status"] == "ok"


async def test_without_a_build_the_root_says_how_to_make_one(db: Database, tmp_path: Path) -> None:
    async with browser(db, tmp_path / "not-built") as client:
        hint = await client.get("/", headers={"Accept": PAGE})
        assert hint.status_code == 200
        assert "npm run build" in hint.text and "/graphql" in hint.text
        ide = await client.get("/graphql", headers={"Accept": PAGE})
        assert ide.status_code == 200 and "npm run build" in ide.text
        answer = await client.post(
            "/graphql", json={"query": "{ __typename }"}, headers={"Accept": "application/json"}
        )
        assert answer.status_code == 401  # the API is there, asking for a sign-in
