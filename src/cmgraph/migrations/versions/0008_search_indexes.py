"""indexes for the action search: instances by definition version, and trigram indexes of
the definitions' text on PostgreSQL

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 09:00:00

The action search (``domain.action_filter.versions_matching``) is a case-insensitive
substring match on the definitions' keys and their versions' titles and guidance;
``pg_trgm``'s GIN indexes serve ``ILIKE '%text%'`` for terms of three characters or more.
The extension is trusted (PostgreSQL 13+): anyone with CREATE on the database and on its
schema may add it. Where it cannot be added, the search reads the definitions in full, as it
does on SQLite, and a warning says so. These indexes are PostgreSQL's alone, so the models do
not declare them (``domain.models.declared_in_models``).
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

log = logging.getLogger("cmgraph.migrations")
TRIGRAM_INDEXES = {
    "ix_action_definition_key_trgm": ("action_definition", "key"),
    "ix_action_definition_version_title_trgm": ("action_definition_version", "title"),
    "ix_action_definition_version_guidance_trgm": ("action_definition_version", "guidance"),
}


def upgrade() -> None:
    # The search finds definition versions, then the instances that accepted them.
    with op.batch_alter_table("improvement_action", schema=None) as batch_op:
        batch_op.create_index(
            "ix_improvement_action_definition_version_id", ["definition_version_id"]
        )
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    usable = bind.execute(
        sa.text(
            "SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm') OR ("
            " EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm')"
            " AND has_database_privilege(current_database(), 'CREATE')"
            " AND has_schema_privilege(current_schema(), 'CREATE'))"
        )
    ).scalar()
    if not usable:
        log.warning(
            "pg_trgm is not installed and this user cannot add it: the action search reads "
            "the definitions without an index (README, Operating it: search indexes)"
        )
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, (table, column) in TRIGRAM_INDEXES.items():
        op.execute(f"CREATE INDEX {name} ON {table} USING gin ({column} gin_trgm_ops)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name in TRIGRAM_INDEXES:
            op.execute(f"DROP INDEX IF EXISTS {name}")
    with op.batch_alter_table("improvement_action", schema=None) as batch_op:
        batch_op.drop_index("ix_improvement_action_definition_version_id")
