"""Alembic environment: always given a live connection by ``cmgraph.adapters.migrate``."""

from __future__ import annotations

from alembic import context

from cmgraph.domain.models import Base, declared_in_models

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("Run migrations through `cmgraph db upgrade`.")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
    include_object=declared_in_models,
)
with context.begin_transaction():
    context.run_migrations()
