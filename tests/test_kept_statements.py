"""The action list's statement, built once per shape and run with each request's values.

``matching_actions`` knows its statement by a shape key; ``resolvers.pages`` keeps the page's
statement per shape for the process. Two things must hold: filters with one key build the
same SQL (else a kept statement would answer another shape's question), and every value the
SQL compares with is supplied again at each run (else one reader's grants or filter would
answer for the next). The whole suite also runs with ``CHECK_KEPT_STATEMENTS`` on
(``conftest.py``), comparing each reuse with a statement built anew.
"""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from strawberry.relay import to_base64

from cmgraph.domain import clock
from cmgraph.domain.action_filter import ActionFilter, matching_actions
from cmgraph.domain.calendar import DueState
from cmgraph.domain.clause_shapes import unnamed_values
from cmgraph.domain.enums import (
    ImplementationStatus,
    ImplementationType,
    OrgRole,
    Owner,
    TestStatus,
)
from cmgraph.domain.models import ActionDefinition, Control, ControlAction, ImprovementAction
from cmgraph.domain.permissions import Principal, readable_action_clauses
from cmgraph.resolvers import pages
from tests.builders import WorkedExample
from tests.test_due_dates import set_due

DIALECTS = [sqlite.dialect(), postgresql.asyncpg.dialect()]  # type: ignore[attr-defined]

# Filters that differ in their values only, and filters that differ in their SQL.
FILTERS: list[dict[str, Any]] = [
    {},
    {"assessment_ids": [1]},
    {"assessment_ids": [2, 3, 4]},
    {"assessment_ids": []},
    {"group_ids": [7]},
    {"regulation_ids": [1, 2]},
    {"solutions": ["Audit", "Policies"]},
    {"categories": ["Control access"]},
    {"implementation_types": [ImplementationType.DOCUMENTATION]},
    {"implementation_statuses": [ImplementationStatus.IMPLEMENTED]},
    {
        "implementation_statuses": [
            ImplementationStatus.PLANNED,
            ImplementationStatus.ALTERNATIVE_IMPLEMENTATION,
        ]
    },
    {"test_statuses": [TestStatus.PASSED]},
    {"exclude_test_statuses": [TestStatus.FAILED_HIGH_RISK]},
    {"exclude_test_statuses": []},
    {"owner": Owner.PROVIDER},
    {"owner": Owner.CUSTOMER},
    {"assignee_ids": [3]},
    {"unassigned": True},
    {"unassigned": False},
    {"pending_update": True},
    {"pending_update": False},
    {"search": "we"},
    {"search": "audit"},
    {"search": "t1 OR p"},
    {"due_states": [DueState.OVERDUE]},
    {"due_states": [DueState.DUE_SOON]},
    {"due_states": [DueState.ON_TRACK, DueState.NONE]},
    {"due_states": [DueState.NONE, DueState.ON_TRACK]},
    {"due_before": date(2027, 1, 31)},
    {"retest_due": True},
    {"retest_due": False},
    {"unassigned": True, "solutions": ["Identity"], "search": "acc"},
]
READERS = [
    Principal(1, OrgRole.OWNER),
    Principal(2, None, assessment_grants={1: OrgRole.READER}),
    Principal(3, None, assessment_grants={4: OrgRole.READER, 5: OrgRole.CONTRIBUTOR}),
    Principal(4, None, regulation_grants={2: OrgRole.READER}),
    Principal(
        5, None, assessment_grants={1: OrgRole.READER}, regulation_grants={2: OrgRole.READER}
    ),
]


def _shaped(filter_: dict[str, Any], reader: Principal) -> Any:
    return matching_actions(ActionFilter(**filter_), readable_action_clauses(reader), 14)


@pytest.mark.parametrize("dialect", DIALECTS, ids=lambda d: d.name)
def test_one_key_one_sql_and_every_value_named(dialect: Any) -> None:
    """Over every pair of filters and readers: equal keys build equal SQL, and each
    statement binds its values under the names it gives, nothing else."""
    built: dict[Any, str] = {}
    for filter_, reader in itertools.product(FILTERS, READERS):
        shaped = _shaped(filter_, reader)
        statement = shaped.build()
        compiled = statement.compile(dialect=dialect)
        assert unnamed_values(statement, shaped.values) == [], filter_
        assert {k: compiled.params[k] for k in shaped.values if k in compiled.params} == {
            k: list(v) if isinstance(v, tuple) else v
            for k, v in shaped.values.items()
            if k in compiled.params
        }
        sql = str(compiled)
        assert built.setdefault(shaped.key, sql) == sql, (filter_, reader)
    # The corpus spans many shapes (and filters that differ in their values only).
    assert len(built) >= 25


def test_a_value_bound_without_a_name_is_refused() -> None:
    """A clause that would carry its value into the kept statement fails at its first use."""
    statement = select(ImprovementAction.id).where(ImprovementAction.points > 3)
    with pytest.raises(TypeError, match="without a name"):
        pages._kept(("test: unnamed value",), lambda: statement, {}, reader=None)


async def _visible(db: Any, assessment_id: int, status: ImplementationStatus) -> list[str]:
    """Global ids of the actions of one assessment in one status, in the list's order."""
    statement = (
        select(ImprovementAction.id)
        .join(ActionDefinition, ActionDefinition.id == ImprovementAction.definition_id)
        .where(
            ImprovementAction.implementation_status == status,
            ImprovementAction.id.in_(
                select(ControlAction.action_id)
                .join(Control, Control.id == ControlAction.control_id)
                .where(Control.assessment_id == assessment_id)
            ),
        )
        .order_by(ActionDefinition.key, ImprovementAction.id)
    )
    async with db.sessions() as session:
        return [to_base64("ImprovementAction", i) for i in await session.scalars(statement)]


LIST = """query ($filter: ImprovementActionFilter, $first: Int) {
  improvementActions(filter: $filter, first: $first) { totalCount nodes { id } }
}"""


async def test_readers_of_one_shape_each_see_their_own_actions(
    api, db, example: WorkedExample, token_for, monkeypatch
) -> None:
    """Readers granted different assessments, with different filter values, share one kept
    statement (checked without the suite's comparison, so that the kept one answers), and
    each sees exactly their own actions."""
    monkeypatch.setattr(pages, "CHECK_KEPT_STATEMENTS", False)
    monkeypatch.setattr(pages, "_KEPT", {})
    readers = {
        example.a1.id: await token_for("one@kept.test", None, assessment_id=example.a1.id),
        example.a3.id: await token_for("three@kept.test", None, assessment_id=example.a3.id),
    }
    seen = 0
    for status in (ImplementationStatus.NOT_IMPLEMENTED, ImplementationStatus.IMPLEMENTED):
        for assessment_id, token in readers.items():
            filter_ = {"implementationStatuses": [status.value]}
            data = await pages_of(api, token, filter_, first=len(example.actions))
            expected = await _visible(db, assessment_id, status)
            assert [n["id"] for n in data["nodes"]] == expected
            assert data["totalCount"] == len(expected)
            seen += len(expected)
    assert seen > 0
    assert len(pages._KEPT) == 1  # one shape, four readings
    # Another shape adds one: each way of asking unassigned is a shape, and so is each page
    # size (written into the SQL, so that PostgreSQL plans for it); asking again is not.
    token = readers[example.a1.id]
    await pages_of(api, token, {"unassigned": True}, first=2)
    await pages_of(api, token, {"unassigned": True}, first=2)
    assert len(pages._KEPT) == 2
    await pages_of(api, token, {"unassigned": True}, first=3)
    await pages_of(api, token, {"unassigned": False}, first=3)
    assert len(pages._KEPT) == 4


async def test_due_states_read_today_at_each_run(api, example, tokens, monkeypatch) -> None:
    """The day the due rules compare with is a value: the kept statement, read again days
    later, answers for that day."""
    monkeypatch.setattr(pages, "CHECK_KEPT_STATEMENTS", False)
    clock.freeze(datetime(2026, 3, 2, 10, 0, tzinfo=UTC))
    t2 = example.actions["T2"]
    assert (await set_due(api, t2, tokens["CONTRIBUTOR"], "2026-03-12"))["userErrors"] == []
    overdue = {"dueStates": ["OVERDUE"]}
    assert (await pages_of(api, tokens["OWNER"], overdue, first=50))["totalCount"] == 0
    clock.advance(timedelta(days=20))
    later = await pages_of(api, tokens["OWNER"], overdue, first=50)
    assert later["nodes"] == [{"id": to_base64("ImprovementAction", t2.id)}]


async def pages_of(api: Any, token: str, filter_: dict[str, Any], *, first: int) -> Any:
    data = await api.query(LIST, {"filter": filter_, "first": first}, token=token)
    return data["improvementActions"]
