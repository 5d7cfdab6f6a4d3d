"""The migrations build exactly the schema the models describe, on this backend."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import literal, select, text

from cmgraph.adapters.migrate import current_revision, head_revision
from cmgraph.domain.models import Base, Organisation, UTCDateTime, declared_in_models


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


async def test_utc_columns_read_back_as_utc_datetimes(db) -> None:
    """``UTCDateTime`` leaves asyncpg's values as they come: so every such column must be a
    ``timestamptz``, which asyncpg reads in UTC; on either database a time written in
    another zone reads back as the same instant, in UTC."""
    columns = {
        (table.name, column.name)
        for table in Base.metadata.sorted_tables
        for column in table.columns
        if isinstance(column.type, UTCDateTime)
    }
    assert len(columns) > 20
    written = datetime(2026, 3, 2, 9, 30, tzinfo=timezone(timedelta(hours=5)))
    async with db.engine.connect() as connection:
        read = await connection.scalar(select(literal(written, UTCDateTime())))
        if db.engine.dialect.name == "postgresql":
            types = await connection.execute(
                text(
                    "SELECT table_name, column_name, data_type FROM information_schema.columns"
                    " WHERE table_schema = current_schema()"
                )
            )
            kinds = {(t, c): kind for t, c, kind in types}
            assert {kinds[key] for key in columns} == {"timestamp with time zone"}
    assert read == written and read.tzinfo is not None and read.utcoffset() == timedelta(0)
