"""work on a calendar and provider attestations: due dates, re-testing cadence, evidence
review dates, scheduled checks, daily digests, built-in policies, provider results

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 01:30:00
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("organisation", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("due_soon_days", sa.Integer(), nullable=False, server_default="7")
        )
        batch_op.add_column(
            sa.Column(
                "retest_loses_points", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )
    with op.batch_alter_table("action_definition_version", schema=None) as batch_op:
        batch_op.add_column(sa.Column("retest_interval_days", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("provider_result", sa.JSON(), nullable=True))
    with op.batch_alter_table("assessment", schema=None) as batch_op:
        batch_op.add_column(sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE assessment SET updated_at = created_at")
    with op.batch_alter_table("assessment", schema=None) as batch_op:
        batch_op.alter_column(
            "updated_at", existing_type=sa.DateTime(timezone=True), nullable=False
        )
    with op.batch_alter_table("improvement_action", schema=None) as batch_op:
        batch_op.add_column(sa.Column("due_date", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("retest_interval_days", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("retest_due_on", sa.Date(), nullable=True))
        batch_op.add_column(
            sa.Column("retest_lapsed", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.create_index("ix_improvement_action_due_date", ["due_date"], unique=False)
        batch_op.create_index(
            "ix_improvement_action_retest_due_on", ["retest_due_on"], unique=False
        )
    with op.batch_alter_table("evidence", schema=None) as batch_op:
        batch_op.add_column(sa.Column("review_by", sa.Date(), nullable=True))
    with op.batch_alter_table("alert_policy", schema=None) as batch_op:
        batch_op.add_column(sa.Column("builtin", sa.String(length=40), nullable=True))
        batch_op.add_column(
            sa.Column("daily_digest", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(
            sa.Column("notify_assignee", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.create_unique_constraint(batch_op.f("uq_alert_policy_builtin"), ["builtin"])
    op.create_table(
        "scheduled_check",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scheduled_check")),
        sa.UniqueConstraint("kind", "subject_id", "day", name=op.f("uq_scheduled_check_kind")),
    )
    op.create_table(
        "digest_entry",
        sa.Column("notification_id", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["alert_id"],
            ["alert.id"],
            name=op.f("fk_digest_entry_alert_id_alert"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["notification_id"],
            ["notification.id"],
            name=op.f("fk_digest_entry_notification_id_notification"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("notification_id", "alert_id", name=op.f("pk_digest_entry")),
    )
    with op.batch_alter_table("digest_entry", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_digest_entry_alert_id"), ["alert_id"], unique=False)
    # A new installation starts with automatic testing on for all eligible actions (the
    # seeds' default); one that already holds actions keeps the setting it runs under.
    op.execute(
        "UPDATE organisation SET automatic_testing = 'ON_FOR_ALL' "
        "WHERE NOT EXISTS (SELECT 1 FROM improvement_action)"
    )
    _add_builtin_policies()


def _add_builtin_policies() -> None:
    policy = sa.table(
        "alert_policy",
        sa.column("name", sa.String),
        sa.column("description", sa.Text),
        sa.column("conditions", sa.JSON),
        sa.column("scope", sa.JSON),
        sa.column("severity", sa.String),
        sa.column("trigger", sa.String),
        sa.column("aggregation_seconds", sa.Integer),
        sa.column("recipient_ids", sa.JSON),
        sa.column("recipient_roles", sa.JSON),
        sa.column("enabled", sa.Boolean),
        sa.column("is_default", sa.Boolean),
        sa.column("builtin", sa.String),
        sa.column("daily_digest", sa.Boolean),
        sa.column("notify_assignee", sa.Boolean),
        sa.column("created_at", sa.DateTime(timezone=True)),
        sa.column("updated_at", sa.DateTime(timezone=True)),
    )
    now = datetime.now(UTC)
    taken = {
        name
        for (name,) in op.get_bind().execute(
            sa.text("SELECT name FROM alert_policy WHERE name = 'Assigned action failed testing'")
        )
    }
    name = "Assigned action failed testing"
    op.bulk_insert(
        policy,
        [
            {
                "name": name if name not in taken else f"{name} (built-in)",
                "description": "Tells the assignee when their action fails testing.",
                "conditions": [
                    {
                        "type": "TEST_STATUS_CHANGE",
                        "toStatuses": [
                            "FAILED_LOW_RISK",
                            "FAILED_MEDIUM_RISK",
                            "FAILED_HIGH_RISK",
                        ],
                    }
                ],
                "scope": {},
                "severity": "MEDIUM",
                "trigger": "EVERY_MATCH",
                "aggregation_seconds": 60,
                "recipient_ids": [],
                "recipient_roles": [],
                "enabled": True,
                "is_default": False,
                "builtin": "ASSIGNEE_TEST_FAILED",
                "daily_digest": False,
                "notify_assignee": True,
                "created_at": now,
                "updated_at": now,
            }
        ],
    )


def downgrade() -> None:
    op.execute("DELETE FROM alert_policy WHERE builtin IS NOT NULL")
    op.drop_table("digest_entry")
    op.drop_table("scheduled_check")
    with op.batch_alter_table("alert_policy", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_alert_policy_builtin"), type_="unique")
        batch_op.drop_column("notify_assignee")
        batch_op.drop_column("daily_digest")
        batch_op.drop_column("builtin")
    with op.batch_alter_table("evidence", schema=None) as batch_op:
        batch_op.drop_column("review_by")
    with op.batch_alter_table("improvement_action", schema=None) as batch_op:
        batch_op.drop_index("ix_improvement_action_retest_due_on")
        batch_op.drop_index("ix_improvement_action_due_date")
        batch_op.drop_column("retest_lapsed")
        batch_op.drop_column("retest_due_on")
        batch_op.drop_column("retest_interval_days")
        batch_op.drop_column("due_date")
    with op.batch_alter_table("assessment", schema=None) as batch_op:
        batch_op.drop_column("updated_at")
    with op.batch_alter_table("action_definition_version", schema=None) as batch_op:
        batch_op.drop_column("provider_result")
        batch_op.drop_column("retest_interval_days")
    with op.batch_alter_table("organisation", schema=None) as batch_op:
        batch_op.drop_column("retest_loses_points")
        batch_op.drop_column("due_soon_days")
