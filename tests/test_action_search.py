"""``improvementActions(filter: {search})``: a case-insensitive substring of the title, the
guidance or the key, of the version an action has accepted, with LIKE's wildcards taken
literally; found among the definition versions first (issue 15)."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from sqlalchemy import select, text
from strawberry.relay import to_base64

from cmgraph.domain.action_filter import versions_matching
from cmgraph.domain.models import ActionDefinition, ActionDefinitionVersion, ImprovementAction
from cmgraph.domain.templates import import_template
from tests.builders import N1, T1, WorkedExample, _template
from tests.report_data import count_statements

SEARCH = """query ($search: String) {
  improvementActions(first: 100, filter: {search: $search}) { totalCount nodes { id } }
}"""
RENAMED = "Rotate 100% of the keys_now"  # the pending version's title: not searched


@pytest.fixture
async def pending(example: WorkedExample, uow) -> WorkedExample:
    """T1 gets a new definition version (new title and guidance) that its instances have not
    accepted yet; searches keep to the accepted version."""
    t1 = dataclasses.replace(T1, title=RENAMED, guidance="Fresh guidance about rotation.")
    async with uow() as u:
        result = await import_template(
            u, _template("x", "Regulation X", {"C1": (t1, N1), "C2": (t1,)}), source="test"
        )
    assert result.updated_definition_ids
    return example


async def _expected(db: Any, term: str) -> set[str]:
    """The actions whose accepted version's title or guidance, or whose key, holds ``term``
    in any case, worked out in Python."""
    statement = (
        select(
            ImprovementAction.id,
            ActionDefinition.key,
            ActionDefinitionVersion.title,
            ActionDefinitionVersion.guidance,
        )
        .join(ActionDefinition, ActionDefinition.id == ImprovementAction.definition_id)
        .join(
            ActionDefinitionVersion,
            ActionDefinitionVersion.id == ImprovementAction.definition_version_id,
        )
    )
    async with db.sessions() as session:
        rows = (await session.execute(statement)).all()
    needle = term.lower()
    return {
        to_base64("ImprovementAction", action_id)
        for action_id, *texts in rows
        if any(needle in text.lower() for text in texts)
    }


@pytest.mark.parametrize(
    "term",
    ["t1", "T1", "WE:N", "n1", "p", "1", "%", "_", "rotate", "Fresh", "keys_now", "nothing"],
)
async def test_search_matches_the_accepted_versions_text(
    api, db, tokens, pending: WorkedExample, term: str
) -> None:
    expected = await _expected(db, term)
    with count_statements(db.engine) as statements:
        data = await api.query(SEARCH, {"search": term}, token=tokens["OWNER"])
    found = data["improvementActions"]
    assert {n["id"] for n in found["nodes"]} == expected
    assert found["totalCount"] == len(expected)
    if term in ("rotate", "Fresh", "keys_now", "%"):
        assert expected == set()  # only T1's pending version holds these
    if term in ("t1", "T1", "p"):
        assert expected  # by the accepted title, or the key
    [page] = [s for s in statements if "improvement_action" in s and "LIMIT" in s.upper()]
    assert "improvement_action.definition_version_id IN (SELECT" in " ".join(page.split()), page


async def test_postgresql_searches_through_trigram_indexes(db: Any) -> None:
    """Migration 0008's indexes exist and serve the search's definition look-up."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only: SQLite reads the definitions in full")
    lookup = versions_matching("audit").compile(
        dialect=db.engine.dialect, compile_kwargs={"literal_binds": True}
    )
    async with db.engine.connect() as connection:
        names = await connection.scalars(
            text("SELECT indexname FROM pg_indexes WHERE indexname LIKE '%\\_trgm'")
        )
        assert set(names) == {
            "ix_action_definition_key_trgm",
            "ix_action_definition_version_title_trgm",
            "ix_action_definition_version_guidance_trgm",
        }
        await connection.execute(text("SET enable_seqscan = off"))  # the tables are tiny here
        plan = "\n".join(await connection.scalars(text(f"EXPLAIN {lookup}")))
    assert "ix_action_definition_version_title_trgm" in plan, plan
    assert "ix_action_definition_key_trgm" in plan, plan
