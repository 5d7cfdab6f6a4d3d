from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from cmgraph.db import UnitOfWork
from cmgraph.domain import accounts
from cmgraph.domain.enums import OrgRole
from cmgraph.domain.permissions import Principal
from tests.databases import Database, DatabaseFactory

SHARED_OSCAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "oscal"


def oscal_file(name: str) -> Path:
    """A file of the shared NIST data, or a skip that says why it is missing."""
    path = SHARED_OSCAL / name
    if not path.exists():
        pytest.skip(f"shared OSCAL data not found at ../shared/data/oscal/{name}")
    return path


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
