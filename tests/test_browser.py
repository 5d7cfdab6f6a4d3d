"""A web app on another origin, in headless Chromium, signed in by the session cookie.

``cmgraph serve`` runs as a subprocess on the test's database with ``CMGRAPH_CORS_ORIGINS``
naming the app's origin; the app (``tests/browser/``) is served by a small static server
on another port of the same host, so the two are different origins of one site and the
SameSite=Lax cookie flows. A second static server is an origin that is not listed. The
browser is the system's Chromium, driven by Playwright; no browser build is downloaded.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import shutil
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from threading import Thread
from typing import Any

import httpx
import pytest
from strawberry.relay import to_base64

from cmgraph.domain.models import User
from cmgraph.domain.permissions import Principal
from cmgraph.domain.sign_in import set_password
from tests.builders import worked_example
from tests.databases import Database
from tests.graphql_ws import free_port, wait_until

PAGES = Path(__file__).parent / "browser"
EMAIL = "owner@example.test"
PASSWORD = "correct horse battery"
EVIDENCE_TEXT = "Access policy, version 3.\nReviewed every year.\n"

ACTION = """query($id: ID!) { node(id: $id) { ... on ImprovementAction {
  id title version implementationStatus evidence { name size downloadUrl } } } }"""
UPDATE = """mutation($input: UpdateImplementationInput!) { updateImplementation(input: $input) {
  improvementAction { id version implementationStatus } userErrors { field code message } } }"""
CHANGES = """subscription($ids: [ID!]) { improvementActionChanged(filter: {actionIds: $ids}) {
  id version implementationStatus evidence { name } } }"""


def chromium_binary() -> str:
    """The system's Chromium (Debian: ``apt-get install chromium``), or a skip saying so."""
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    if Path("/usr/bin/chromium").exists():
        return "/usr/bin/chromium"
    pytest.skip("no chromium binary on PATH (apt-get install chromium): the browser test needs it")


@contextmanager
def static_site() -> Iterator[str]:
    """``tests/browser/`` over HTTP on a free loopback port, in a thread; yields its origin."""

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Quiet, directory=str(PAGES)))
    thread = Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@asynccontextmanager
async def cmgraph_server(db: Database, folder: Path, cors_origins: str) -> AsyncIterator[str]:
    """``cmgraph serve`` on the test's database; yields its base URL once ``/healthz`` is 200."""
    port = free_port()
    env = {
        **os.environ,
        "CMGRAPH_DATABASE_URL": db.url,
        "CMGRAPH_DATA_DIR": str(folder),
        "CMGRAPH_HOST": "127.0.0.1",
        "CMGRAPH_PORT": str(port),
        "CMGRAPH_BACKGROUND_WORK": "false",
        "CMGRAPH_LOG_LEVEL": "warning",
        "CMGRAPH_CORS_ORIGINS": cors_origins,
    }
    env.pop("CMGRAPH_TEST_DATABASE_URL", None)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "cmgraph", "serve", env=env
    )
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient() as client:

            async def healthy() -> bool:
                assert process.returncode is None, "the server exited"
                try:
                    return (await client.get(f"{base}/healthz")).status_code == 200
                except httpx.TransportError:
                    return False

            await wait_until(healthy, "the server answering /healthz", within=120)
        yield base
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 30)
            except TimeoutError:
                process.kill()
                await process.wait()


class Page:
    """A browser tab on one origin, with ``tests/browser/client.js`` loaded."""

    def __init__(self, page: Any) -> None:
        self.page = page

    async def run(self, script: str, arg: Any = None) -> Any:
        """Evaluate an async JS function in the page (with a hang guard)."""
        return await asyncio.wait_for(self.page.evaluate(script, arg), 60)

    async def call(self, name: str, *args: Any) -> Any:
        """``cmgraph.<name>(...args)``; fails if the browser kept the answer from the page."""
        outcome = await self.attempt(name, *args)
        assert outcome["ok"], f"{name} failed in the page: {outcome['error']}"
        return outcome["value"]

    async def attempt(self, name: str, *args: Any) -> dict[str, Any]:
        """``{ok, value}`` or ``{ok: false, error}`` when the call rejected."""
        return await self.run(
            "([name, args]) => cmgraph.attempt(name, ...args)", [name, list(args)]
        )

    async def data(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """The ``data`` of a query or mutation POSTed by the page, which must succeed."""
        answer = await self.call("graphql", query, variables or {})
        assert answer["status"] == 200, answer
        assert "errors" not in answer["body"], answer["body"]
        return answer["body"]["data"]

    async def received(self, subscription: str) -> list[dict[str, Any]]:
        return await self.run("(id) => cmgraph.received[id]", subscription)


@pytest.fixture
async def owner_with_password(uow, owner: Principal) -> Principal:
    async with uow() as u:
        user = await u.session.get(User, owner.user_id)
        assert user is not None
        await set_password(u, user, PASSWORD)
    return owner


async def test_a_page_on_another_origin_signs_in_by_cookie_and_uses_the_api(
    db: Database, uow, owner_with_password: Principal, tmp_path: Path
) -> None:
    executable = chromium_binary()
    async_api = pytest.importorskip("playwright.async_api")
    async with uow() as u:
        world = await worked_example(u, owner_with_password)
    t2 = to_base64("ImprovementAction", world.actions["T2"].id)

    with static_site() as app, static_site() as elsewhere:
        async with (
            cmgraph_server(db, tmp_path / "server", cors_origins=app) as api,
            async_api.async_playwright() as playwright,
        ):
            browser = await playwright.chromium.launch(executable_path=executable, headless=True)
            try:
                context = await browser.new_context()
                tab = Page(await context.new_page())
                await tab.page.goto(f"{app}/index.html?api={api}")

                # Sign in: the answer sets the cookie; from then on it signs every call in.
                signed_in = await tab.call("login", EMAIL, PASSWORD)
                assert signed_in["status"] == 200, signed_in
                assert signed_in["body"]["user"]["email"] == EMAIL

                # A query, as a GET (no CSRF header needed) and as a POST with the header.
                read = await tab.call("read", "{ viewer { role user { email } } }")
                assert read["status"] == 200, read
                assert read["body"]["data"]["viewer"] == {
                    "role": "OWNER",
                    "user": {"email": EMAIL},
                }
                listed = await tab.data("{ assessments { nodes { name } } }")
                names = {a["name"] for a in listed["assessments"]["nodes"]}
                assert names == {"A1", "A2", "A3"}
                action = (await tab.data(ACTION, {"id": t2}))["node"]
                assert action["title"] == "T2" and action["evidence"] == []

                # A POST signed in by the cookie without the CSRF header is refused, readably.
                bare = await tab.call("graphql", "{ viewer { role } }", {}, {})
                assert bare["status"] == 403, bare
                assert bare["body"]["errors"][0]["extensions"]["code"] == "CSRF_HEADER_MISSING"

                # A subscription over the WebSocket, signed in by the upgrade's cookie.
                connected = await tab.run("() => cmgraph.connect()")
                assert connected == {"acknowledged": True, "opened": True}, connected
                changes = await tab.run(
                    "([q, v]) => cmgraph.subscribe(q, v)", [CHANGES, {"ids": [t2]}]
                )

                # Mutations: the server registers the subscription in its own time, which
                # the page cannot see, so change T2 until the subscriber hears of a change.
                version = action["version"]
                statuses = ["PLANNED", "PARTIALLY_IMPLEMENTED"]
                deadline = time.monotonic() + 60
                for turn in itertools.count():
                    status = statuses[turn % 2]
                    payload = (
                        await tab.data(
                            UPDATE,
                            {
                                "input": {
                                    "actionId": t2,
                                    "version": version,
                                    "implementationStatus": status,
                                }
                            },
                        )
                    )["updateImplementation"]
                    assert payload["userErrors"] == [], payload
                    changed = payload["improvementAction"]
                    assert changed["id"] == t2 and changed["implementationStatus"] == status
                    assert changed["version"] > version
                    version = changed["version"]

                    async def heard(version: int = version) -> bool:
                        return any(
                            m["improvementActionChanged"]["version"] == version
                            for m in await tab.received(changes)
                        )

                    try:
                        await wait_until(heard, "the change reaching the page", within=1)
                        break
                    except AssertionError:
                        assert time.monotonic() < deadline, (
                            "the page's subscription never heard of a change: "
                            f"{await tab.run('() => cmgraph.problems')}"
                        )
                heard_change = (await tab.received(changes))[-1]["improvementActionChanged"]
                assert heard_change == {
                    "id": t2,
                    "version": version,
                    "implementationStatus": status,
                    "evidence": [],
                }

                # An evidence file: uploaded from the page, then on the action, announced to
                # the subscriber, and downloadable from the page by its signed link.
                uploaded = await tab.call("upload", t2, "policy.txt", EVIDENCE_TEXT)
                assert uploaded["status"] == 201, uploaded
                assert uploaded["body"]["evidence"]["name"] == "policy.txt"

                async def announced() -> bool:
                    return any(
                        m["improvementActionChanged"]["evidence"] == [{"name": "policy.txt"}]
                        for m in await tab.received(changes)
                    )

                await wait_until(announced, "the upload reaching the subscriber", within=60)
                evidence = (await tab.data(ACTION, {"id": t2}))["node"]["evidence"]
                assert [(e["name"], e["size"]) for e in evidence] == [
                    ("policy.txt", len(EVIDENCE_TEXT.encode()))
                ]
                assert evidence[0]["downloadUrl"].startswith(f"{api}/evidence/")
                downloaded = await tab.call("download", evidence[0]["downloadUrl"])
                assert downloaded == {"status": 200, "text": EVIDENCE_TEXT}
                assert await tab.run("() => cmgraph.problems") == []

                # A page on an origin that is not listed, in the same browser (so with the
                # cookie): the browser keeps every answer from it, and its socket is refused.
                other = Page(await context.new_page())
                await other.page.goto(f"{elsewhere}/index.html?api={api}")
                assert (await other.attempt("read", "{ viewer { role } }"))["ok"] is False
                assert (await other.attempt("graphql", "{ viewer { role } }"))["ok"] is False
                assert (await other.attempt("login", EMAIL, PASSWORD))["ok"] is False
                upload = await other.attempt("upload", t2, "other.txt", "not from the app\n")
                assert upload["ok"] is False, upload
                refused = await other.run("() => cmgraph.connect()")
                assert refused["acknowledged"] is False and refused["opened"] is False, refused

                # Nothing it tried landed: the app still sees one evidence file.
                evidence = (await tab.data(ACTION, {"id": t2}))["node"]["evidence"]
                assert [e["name"] for e in evidence] == ["policy.txt"]
            finally:
                await browser.close()
