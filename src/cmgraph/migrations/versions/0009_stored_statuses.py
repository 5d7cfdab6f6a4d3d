"""controls and assessments store their counts by status

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 11:30:00

Each control keeps its actions by standing and each assessment its controls by status
(``domain.scoring.Tally``, kept by ``domain.status_upkeep``), so an assessment's status and
progress are read from its own row. The counts of an existing database are filled in here,
one assessment at a time, by the same rules the server applies.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from cmgraph.domain.enums import ImplementationStatus, TestStatus
from cmgraph.domain.scoring import (
    Tally,
    control_status_of,
    control_tally,
    tally,
    tally_controls,
)

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

FIELDS = ("total", "failed", "out_of_scope", "passed", "untested")
COUNTED = {"control": "actions_", "assessment": "controls_"}


def upgrade() -> None:
    for table, prefix in COUNTED.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for name in FIELDS:
                batch_op.add_column(
                    sa.Column(prefix + name, sa.Integer(), nullable=False, server_default="0")
                )
    bind = op.get_bind()
    for (assessment_id,) in bind.execute(sa.text("SELECT id FROM assessment")).all():
        _fill(bind, assessment_id)


def _fill(bind: sa.Connection, assessment_id: int) -> None:
    rows = bind.execute(
        sa.text(
            "SELECT c.id, a.implementation_status, a.test_status FROM control c"
            " LEFT JOIN control_action ca ON ca.control_id = c.id"
            " LEFT JOIN improvement_action a ON a.id = ca.action_id"
            " WHERE c.assessment_id = :id"
        ),
        {"id": assessment_id},
    ).all()
    controls = tally_controls(
        (control_id, ImplementationStatus(i) if i else None, TestStatus(t) if t else None)
        for control_id, i, t in rows
    )
    if controls:
        bind.execute(
            sa.text(
                "UPDATE control SET "
                + ", ".join(f"actions_{name} = :{name}" for name in FIELDS)
                + " WHERE id = :id"
            ),
            [{"id": control_id, **_named(counted)} for control_id, counted in controls.items()],
        )
    statuses = tally(control_tally(control_status_of(c)) for c in controls.values())
    bind.execute(
        sa.text(
            "UPDATE assessment SET "
            + ", ".join(f"controls_{name} = :{name}" for name in FIELDS)
            + " WHERE id = :id"
        ),
        {"id": assessment_id, **_named(statuses)},
    )


def _named(counted: Tally) -> dict[str, int]:
    return dict(zip(FIELDS, counted.counts, strict=True))


def downgrade() -> None:
    # ALTER TABLE ... DROP COLUMN in place (SQLite 3.35+): a batch copy of ``control`` would
    # drop it, and with it, through the cascade, every control-action link.
    for table, prefix in COUNTED.items():
        for name in FIELDS:
            op.execute(f"ALTER TABLE {table} DROP COLUMN {prefix}{name}")
