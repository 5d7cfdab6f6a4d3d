"""The migrations build exactly the schema the models describe, on this backend."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import select

from cmgraph.adapters.migrate import current_revision, head_revision
from cmgraph.domain.models import Base, Organisation, declared_in_models


async def test_migrated_database_matches_the_models(db) -> None:
    def diff(connection):  # type: ignore[no-untyped-def]
        opts = {"compare_type": True, "include_object": declared_in_models}
        context = MigrationContext.configure(connection, opts=opts)
        return compare_metadata(context, Base.metadata)

    async with db.engine.connect() as connection:
        assert await connection.run_sync(diff) == []
    assert await current_revision(db.engine) == head_revision()


async def test_the_organisation_exists_after_migration(db) -> None:
    async with db.sessions() as session:
        organisation = (await session.scalars(select(Organisation))).one()
    assert organisation.automatic_testing.value == "ON_FOR_ALL"  # a new installation's default


async def test_sqlite_enforces_foreign_keys_and_uses_wal(db) -> None:
    if db.engine.dialect.name != "sqlite":
        return
    from sqlalchemy import text

    async with db.engine.connect() as connection:
        assert (await connection.execute(text("PRAGMA foreign_keys"))).scalar() == 1
        assert (await connection.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
