"""index improvement actions by parent; template services

Every change to an action looks for the actions that inherit from it; without an index
that is a scan of all actions, which a bulk import pays once per row. Templates keep the
services their workbook names.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 09:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("improvement_action", schema=None) as batch_op:
        batch_op.create_index("ix_improvement_action_parent_id", ["parent_id"], unique=False)
    with op.batch_alter_table("template", schema=None) as batch_op:
        batch_op.add_column(sa.Column("services", sa.Text(), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("template", schema=None) as batch_op:
        batch_op.drop_column("services")
    with op.batch_alter_table("improvement_action", schema=None) as batch_op:
        batch_op.drop_index("ix_improvement_action_parent_id")
