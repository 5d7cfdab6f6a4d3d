"""the compliance score kept as sums per span (score_reach, score_cell, score_total)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 12:00:00

``domain.score_cells`` keeps, for the organisation and each active assessment, group and
regulation, the sums of its distinct instances by category, solution, owner, type and
statuses, and each span's total; ``score_reach`` says which of those spans hold each
instance, and through how many active assessments. All are filled here from the controls of
the active assessments.
"""

from __future__ import annotations

from enum import StrEnum

import sqlalchemy as sa
from alembic import op

from cmgraph.domain.enums import (
    ImplementationStatus,
    ImplementationType,
    Owner,
    ScoreSpan,
    TestStatus,
)

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

# Each active assessment's distinct instances, with the spans it belongs to.
HELD = (
    "SELECT DISTINCT ca.action_id, a.id AS assessment_id, a.group_id, t.regulation_id"
    " FROM control_action ca JOIN control c ON c.id = ca.control_id"
    " JOIN assessment a ON a.id = c.assessment_id JOIN template t ON t.id = a.template_id"
    " WHERE a.archived_at IS NULL"
)
SPAN_IDS = {
    ScoreSpan.ALL: "0",
    ScoreSpan.ASSESSMENT: "assessment_id",
    ScoreSpan.GROUP: "group_id",
    ScoreSpan.REGULATION: "regulation_id",
}


def _enum(values: type[StrEnum]) -> sa.Enum:
    return sa.Enum(
        *[v.value for v in values], name=values.__name__.lower(), native_enum=False, length=32
    )


def upgrade() -> None:
    op.create_table(
        "score_reach",
        sa.Column("action_id", sa.Integer(), nullable=False),
        sa.Column("span", _enum(ScoreSpan), nullable=False),
        sa.Column("span_id", sa.Integer(), nullable=False),
        sa.Column("assessments", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["action_id"],
            ["improvement_action.id"],
            name=op.f("fk_score_reach_action_id_improvement_action"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("action_id", "span", "span_id", name=op.f("pk_score_reach")),
    )
    op.create_table(
        "score_cell",
        sa.Column("span", _enum(ScoreSpan), nullable=False),
        sa.Column("span_id", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(length=200), nullable=False),
        sa.Column("solution", sa.String(length=200), nullable=False),
        sa.Column("owner", _enum(Owner), nullable=False),
        sa.Column("implementation_type", _enum(ImplementationType), nullable=False),
        sa.Column("implementation_status", _enum(ImplementationStatus), nullable=False),
        sa.Column("test_status", _enum(TestStatus), nullable=False),
        sa.Column("actions", sa.Integer(), nullable=False),
        sa.Column("scored", sa.Integer(), nullable=False),
        sa.Column("earned", sa.Float(), nullable=False),
        sa.Column("possible", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "span",
            "span_id",
            "category",
            "solution",
            "owner",
            "implementation_type",
            "implementation_status",
            "test_status",
            name=op.f("pk_score_cell"),
        ),
    )
    op.create_table(
        "score_total",
        sa.Column("span", _enum(ScoreSpan), nullable=False),
        sa.Column("span_id", sa.Integer(), nullable=False),
        sa.Column("actions", sa.Integer(), nullable=False),
        sa.Column("scored", sa.Integer(), nullable=False),
        sa.Column("earned", sa.Float(), nullable=False),
        sa.Column("possible", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("span", "span_id", name=op.f("pk_score_total")),
    )
    for span, span_id in SPAN_IDS.items():
        # (A constant in GROUP BY would be read as a column position.)
        grouped = "action_id" if span is ScoreSpan.ALL else f"action_id, {span_id}"
        op.execute(
            "INSERT INTO score_reach (action_id, span, span_id, assessments)"
            f" SELECT action_id, '{span.value}', {span_id}, count(*) FROM ({HELD}) held"
            f" GROUP BY {grouped}"
        )
    op.execute(
        "INSERT INTO score_cell (span, span_id, category, solution, owner, implementation_type,"
        " implementation_status, test_status, actions, scored, earned, possible)"
        " SELECT r.span, r.span_id, v.category, v.solution, d.owner, d.implementation_type,"
        " i.implementation_status, i.test_status, count(*),"
        " sum(CASE WHEN i.possible > 0 THEN 1 ELSE 0 END), sum(i.earned), sum(i.possible)"
        " FROM score_reach r JOIN improvement_action i ON i.id = r.action_id"
        " JOIN action_definition d ON d.id = i.definition_id"
        " JOIN action_definition_version v ON v.id = i.definition_version_id"
        " GROUP BY r.span, r.span_id, v.category, v.solution, d.owner, d.implementation_type,"
        " i.implementation_status, i.test_status"
    )
    op.execute(
        "INSERT INTO score_total (span, span_id, actions, scored, earned, possible)"
        " SELECT span, span_id, sum(actions), sum(scored), sum(earned), sum(possible)"
        " FROM score_cell GROUP BY span, span_id"
    )


def downgrade() -> None:
    op.drop_table("score_total")
    op.drop_table("score_cell")
    op.drop_table("score_reach")
