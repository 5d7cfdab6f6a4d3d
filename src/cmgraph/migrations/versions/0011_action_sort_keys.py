"""improvement actions carry their sort keys, with an index per sort of the action lists

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 12:30:00

A page deep in a list sorted by key, title or category had to join every instance to its
definition and version and sort them all. Each instance now carries its definition's key and
its accepted version's title and category, and every sort of the lists has an index on
``(column, id)``, so a page is read from the index in order, however deep.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

SORT_COLUMNS = {"sort_key": 200, "sort_title": 500, "sort_category": 200}
ORDERED = (*SORT_COLUMNS, "points", "implementation_status", "test_status", "updated_at")


def upgrade() -> None:
    with op.batch_alter_table("improvement_action", schema=None) as batch_op:
        for name, length in SORT_COLUMNS.items():
            batch_op.add_column(
                sa.Column(name, sa.String(length=length), nullable=False, server_default="")
            )
    op.execute(
        "UPDATE improvement_action SET"
        " sort_key = (SELECT d.key FROM action_definition d"
        " WHERE d.id = improvement_action.definition_id),"
        " sort_title = (SELECT v.title FROM action_definition_version v"
        " WHERE v.id = improvement_action.definition_version_id),"
        " sort_category = (SELECT v.category FROM action_definition_version v"
        " WHERE v.id = improvement_action.definition_version_id)"
    )
    with op.batch_alter_table("improvement_action", schema=None) as batch_op:
        for name in ORDERED:
            batch_op.create_index(f"ix_improvement_action_order_{name}", [name, "id"])


def downgrade() -> None:
    with op.batch_alter_table("improvement_action", schema=None) as batch_op:
        for name in ORDERED:
            batch_op.drop_index(f"ix_improvement_action_order_{name}")
    for name in SORT_COLUMNS:
        op.execute(f"ALTER TABLE improvement_action DROP COLUMN {name}")
