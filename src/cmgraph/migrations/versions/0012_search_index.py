"""a full-text index of the definitions on SQLite; the search's and the status filters'
matches in key order

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 14:30:00

On SQLite, an FTS5 table with the trigram tokenizer holds each definition version's key,
title and guidance, kept in step by triggers on the two tables; the action search
(``domain.search_index``) asks it for candidates before matching them exactly. PostgreSQL has
its trigram indexes (0008) and gets no such table.

On both, the instances are indexed by definition version, by implementation status and by
test status, each with the sort key and id: the matches of a search or a status filter, in the
lists' default order, come from an index without a look-up of each row (and for one status,
already in order).
"""

from __future__ import annotations

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

FILTERED = ("definition_version_id", "implementation_status", "test_status")
SEARCH = "action_definition_search"
FILL = (
    f"INSERT INTO {SEARCH} (rowid, key, title, guidance)"
    " SELECT v.id, d.key, v.title, v.guidance FROM action_definition_version v"
    " JOIN action_definition d ON d.id = v.definition_id"
)
TRIGGERS = {
    f"{SEARCH}_insert": (
        "AFTER INSERT ON action_definition_version",
        f"{FILL} WHERE v.id = NEW.id;",
    ),
    f"{SEARCH}_update": (
        "AFTER UPDATE OF title, guidance, definition_id ON action_definition_version",
        f"DELETE FROM {SEARCH} WHERE rowid = OLD.id; {FILL} WHERE v.id = NEW.id;",
    ),
    f"{SEARCH}_delete": (
        "AFTER DELETE ON action_definition_version",
        f"DELETE FROM {SEARCH} WHERE rowid = OLD.id;",
    ),
    f"{SEARCH}_key": (
        "AFTER UPDATE OF key ON action_definition",
        f"UPDATE {SEARCH} SET key = NEW.key WHERE rowid IN"
        " (SELECT id FROM action_definition_version WHERE definition_id = NEW.id);",
    ),
}


def upgrade() -> None:
    op.drop_index("ix_improvement_action_definition_version_id", "improvement_action")
    for column in FILTERED:
        op.create_index(
            f"ix_improvement_action_{column}_sort_key",
            "improvement_action",
            [column, "sort_key", "id"],
        )
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute(f"CREATE VIRTUAL TABLE {SEARCH} USING fts5(key, title, guidance, tokenize=trigram)")
    for name, (event, body) in TRIGGERS.items():
        op.execute(f"CREATE TRIGGER {name} {event} BEGIN {body} END")
    op.execute(FILL)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in TRIGGERS:
            op.execute(f"DROP TRIGGER {name}")
        op.execute(f"DROP TABLE {SEARCH}")
    for column in FILTERED:
        op.drop_index(f"ix_improvement_action_{column}_sort_key", "improvement_action")
    op.create_index(
        "ix_improvement_action_definition_version_id",
        "improvement_action",
        ["definition_version_id"],
    )
