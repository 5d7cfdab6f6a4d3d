from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from cmgraph.adapters.db import UnitOfWork
from cmgraph.config import Settings
from cmgraph.domain import accounts, clock
from cmgraph.domain.enums import OrgRole
from cmgraph.domain.permissions import Principal
from cmgraph.http.app import create_app
from cmgraph.resolvers import pages
from tests.builders import WorkedExample, worked_example
from tests.databases import Database, DatabaseFactory

SHARED_OSCAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "oscal"


def oscal_file(name: str) -> Path:
    """A file of the shared NIST data, or a skip that says why it is missing."""
    path = SHARED_OSCAL / name
    if not path.exists():
        pytest.skip(f"shared OSCAL data not found at ../shared/data/oscal/{name}")
    return path


@pytest.fixture(autouse=True, scope="session")
def check_kept_statements() -> Iterator[None]:
    """Each list read with a statement kept by its shape also builds it anew and compares:
    a shape that leaves out what decides the SQL fails the test that reads it."""
    pages.CHECK_KEPT_STATEMENTS = True
    yield
    pages.CHECK_KEPT_STATEMENTS = False


@pytest.fixture(autouse=True)
def system_clock() -> Iterator[None]:
    """Every test starts on the system clock; one that froze or moved it cannot leak."""
    clock.reset()
    yield
    clock.reset()


@pytest.fixture(scope="session")
async def databases() -> AsyncIterator[DatabaseFactory]:
    factory = DatabaseFactory()
    await factory.start()
    yield factory
    await factory.close()


@pytest.fixture
async def db(databases: DatabaseFactory) -> AsyncIterator[Database]:
    async with databases.database() as database:
        yield database


@pytest.fixture
def uow(db: Database):
    """A factory of units of work on the test's own database: ``async with uow() as u``."""
    return lambda: UnitOfWork(db.sessions)


@pytest.fixture
async def owner(uow) -> Principal:
    async with uow() as u:
        user = await accounts.create_user(u, "owner@example.test", "Olivia Owner", OrgRole.OWNER)
        return await accounts.principal_for(u, user)


class Api:
    """A GraphQL client on the ASGI app, over httpx, with the test's database."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def post(
        self, query: str, variables: dict[str, Any] | None = None, token: str | None = None
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return await self.client.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )

    async def query(
        self, query: str, variables: dict[str, Any] | None = None, *, token: str
    ) -> dict[str, Any]:
        """The ``data`` of a query that must succeed without errors."""
        response = await self.post(query, variables, token)
        assert response.status_code == 200, response.text
        body = response.json()
        assert "errors" not in body, body["errors"]
        return body["data"]

    async def errors(
        self, query: str, variables: dict[str, Any] | None = None, *, token: str
    ) -> list[dict[str, Any]]:
        response = await self.post(query, variables, token)
        assert response.status_code in (200, 400), response.text
        body = response.json()
        assert body.get("errors"), body
        return body["errors"]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    # No web build: what the checkout's web/dist holds must not change the API's answers.
    return Settings.from_env({}, web_dir=tmp_path / "no-web-build")


@pytest.fixture
async def api(db: Database, settings: Settings) -> AsyncIterator[Api]:
    app = create_app(settings, db.engine)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://cmgraph.test") as client:
        yield Api(client)


@pytest.fixture
async def example(uow, owner) -> WorkedExample:
    """The worked example of DOMAIN.md section 7, built through the domain services."""
    async with uow() as u:
        return await worked_example(u, owner)


@pytest.fixture
async def tokens(token_for) -> dict[str, str]:
    """An API token per organisation role, by the role's name."""
    return {
        role.value: await token_for(f"{role.value.lower()}@roles.test", role) for role in OrgRole
    }


@pytest.fixture
def token_for(uow):
    """Create a user with ``role`` (and optional grants) and return an API token for it."""

    async def make(email: str, role: OrgRole | None, **grant: Any) -> str:
        async with uow() as u:
            user = await accounts.create_user(u, email, email.split("@")[0], role)
            grant_role = grant.pop("grant_role", OrgRole.READER)
            if grant:
                await accounts.grant(u, user, OrgRole(grant_role), **grant)
            return (await accounts.create_token(u, user, "test")).secret

    return make
