"""Evidence links in the assessment report (issue 13, point 7): absolute links under
CMGRAPH_PUBLIC_URL that a signed-in browser follows to the file, so an exported report still
leads to its evidence; without sign-in there is no file."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import openpyxl
import pytest
from strawberry.relay import to_base64

from cmgraph.config import Settings
from cmgraph.domain import accounts
from cmgraph.domain.enums import OrgRole
from cmgraph.domain.sign_in import set_password
from cmgraph.http.app import create_app
from tests.builders import WorkedExample, worked_example
from tests.databases import Database

PUBLIC_URL = "http://cmgraph.test"
PASSWORD = "correct horse battery"
CONTENT = b"Access reviews, signed off.\n"
BROWSER = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
CSRF = {"X-CMGraph-CSRF": "1"}


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings.from_env({}, data_dir=tmp_path / "data", public_url=PUBLIC_URL)


@pytest.fixture
async def client(db: Database, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """A browser: it keeps the cookies the server sets."""
    app = create_app(settings, db.engine)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL) as browser:
        yield browser


@pytest.fixture
async def example(uow, owner) -> WorkedExample:
    async with uow() as u:
        example = await worked_example(u, owner)
        # Ann reads everything; Rita may read A1 only (T2 is in A2 alone).
        ann = await accounts.create_user(u, "ann@example.test", "Ann", OrgRole.READER)
        await set_password(u, ann, PASSWORD)
        rita = await accounts.create_user(u, "rita@example.test", "Rita", None)
        await accounts.grant(u, rita, OrgRole.READER, assessment_id=example.a1.id)
        await set_password(u, rita, PASSWORD)
        return example


async def sign_in(client: httpx.AsyncClient, email: str) -> None:
    response = await client.post("/auth/login", json={"email": email, "password": PASSWORD})
    assert response.status_code == 200, response.text


async def report_link(client: httpx.AsyncClient, token: str, example: WorkedExample) -> str:
    """Upload a file to T2, export A2's report as Ann (signed in), read the file's link."""
    uploaded = await client.post(
        "/evidence/upload",
        data={"actionId": to_base64("ImprovementAction", example.actions["T2"].id)},
        files={"file": ("reviews.txt", CONTENT, "text/plain")},
        headers={**CSRF, "Authorization": f"Bearer {token}"},
    )
    assert uploaded.status_code == 201, uploaded.text
    await sign_in(client, "ann@example.test")
    asked = await client.post(
        "/graphql",
        json={
            "query": "query($id: ID!) { node(id: $id) { ... on Assessment { reportExport { url } } } }",
            "variables": {"id": to_base64("Assessment", example.a2.id)},
        },
        headers=CSRF,
    )
    assert asked.status_code == 200, asked.text
    report = await client.get(asked.json()["data"]["node"]["reportExport"]["url"])
    assert report.status_code == 200, report.text
    sheet = openpyxl.load_workbook(io.BytesIO(report.content))["Evidence"]
    rows = list(sheet.iter_rows(values_only=True))
    [row] = [dict(zip(rows[0], r, strict=True)) for r in rows[1:] if r[1] == "DOCUMENT"]
    return str(row["Download link"])


async def owner_token(uow, owner) -> str:
    async with uow() as u:
        user = await accounts.user_by_email(u, "owner@example.test")
        return (await accounts.create_token(u, user, "test")).secret


async def test_a_signed_in_browser_follows_the_reports_link_to_the_file(
    client, uow, owner, example
) -> None:
    link = await report_link(client, await owner_token(uow, owner), example)
    parts = urlsplit(link)
    assert f"{parts.scheme}://{parts.netloc}" == PUBLIC_URL  # absolute, under the public URL
    assert parts.path.startswith("/evidence/") and parts.path.endswith("/download")
    assert parts.query == ""  # no token that would expire in the saved file

    fetched = await client.get(link, headers=BROWSER)  # Ann's session cookie
    assert fetched.status_code == 200, fetched.text
    assert fetched.content == CONTENT
    assert fetched.headers["content-disposition"].startswith("attachment;")


async def test_without_sign_in_the_link_gives_no_file(
    client, db, settings, uow, owner, example
) -> None:
    link = await report_link(client, await owner_token(uow, owner), example)
    app = create_app(settings, db.engine)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL) as stranger:
        # A browser goes to the sign-in page, which comes back to the file afterwards.
        sent = await stranger.get(link, headers=BROWSER)
        assert sent.status_code == 303
        assert sent.content != CONTENT
        target = urlsplit(sent.headers["location"])
        assert f"{target.scheme}://{target.netloc}{target.path}" == f"{PUBLIC_URL}/sign-in"
        assert parse_qs(target.query) == {"next": [urlsplit(link).path]}

        # An API client gets the JSON 401, as everywhere.
        refused = await stranger.get(link, headers={"Accept": "application/json"})
        assert refused.status_code == 401
        assert refused.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"

        # A wrong bearer token is a script's mistake: 401, never a redirect.
        wrong = await stranger.get(link, headers={**BROWSER, "Authorization": "Bearer nope"})
        assert wrong.status_code == 401

        # Signed in as someone who may not read the action: nothing there.
        await sign_in(stranger, "rita@example.test")
        hidden = await stranger.get(link, headers=BROWSER)
        assert hidden.status_code == 404
        assert hidden.content != CONTENT

    # Ann signs out: her browser is sent to sign in again.
    signed_out = await client.post("/auth/logout", headers=CSRF)
    assert signed_out.status_code in (200, 204), signed_out.text
    again = await client.get(link, headers=BROWSER)
    assert again.status_code == 303
