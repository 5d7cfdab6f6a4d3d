"""Due dates on improvement actions (DOMAIN.md sections 11 and 15), through the API.

The clock is moved, never waited for: freeze a day, set a due date, advance, read again.
"""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlsplit

import openpyxl
import pytest
from sqlalchemy import func, select
from strawberry.relay import to_base64

from cmgraph.domain import clock
from cmgraph.domain.calendar import MAX_DAYS_AHEAD
from cmgraph.domain.enums import EventType
from cmgraph.domain.models import Event, HistoryEntry

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
TODAY = NOW.date()

UPDATE = """
mutation($input: UpdateImprovementActionInput!) {
  updateImprovementAction(input: $input) {
    improvementAction { id version dueDate dueState }
    userErrors { field code message }
  }
}"""

ASSIGN = """
mutation($input: AssignImprovementActionsInput!) {
  assignImprovementActions(input: $input) {
    improvementActions { id dueDate dueState assignee { email } }
    userErrors { field code message }
  }
}"""

ACTION = """
query($id: ID!) {
  node(id: $id) { ... on ImprovementAction { version dueDate dueState implementationStatus } }
}"""

LIST = """
query($filter: ImprovementActionFilter) {
  improvementActions(filter: $filter, first: 50) { totalCount nodes { title dueState } }
}"""


@pytest.fixture(autouse=True)
def frozen_clock():
    clock.freeze(NOW)
    yield
    clock.reset()


def gid(action) -> str:
    return to_base64("ImprovementAction", action.id)


async def read(api, action, token: str) -> dict:
    return (await api.query(ACTION, {"id": gid(action)}, token=token))["node"]


async def set_due(api, action, token: str, due: str | None, **more) -> dict:
    version = (await read(api, action, token))["version"]
    data = await api.query(
        UPDATE,
        {"input": {"actionId": gid(action), "version": version, "dueDate": due, **more}},
        token=token,
    )
    return data["updateImprovementAction"]


async def test_a_due_date_moves_from_on_track_to_due_soon_to_overdue(api, example, tokens) -> None:
    t2 = example.actions["T2"]
    contributor = tokens["CONTRIBUTOR"]
    due = TODAY + timedelta(days=10)
    payload = await set_due(api, t2, contributor, due.isoformat())
    assert payload["userErrors"] == []
    assert payload["improvementAction"]["dueDate"] == due.isoformat()
    assert payload["improvementAction"]["dueState"] == "ON_TRACK"

    clock.advance(timedelta(days=3))  # 7 days left: the default dueSoonDays
    assert (await read(api, t2, contributor))["dueState"] == "DUE_SOON"
    clock.advance(timedelta(days=7))  # the day itself is still due soon
    assert (await read(api, t2, contributor))["dueState"] == "DUE_SOON"
    clock.advance(timedelta(days=1))
    assert (await read(api, t2, contributor))["dueState"] == "OVERDUE"

    # Implemented work has no due date to miss.
    version = (await read(api, t2, contributor))["version"]
    data = await api.query(
        """mutation($input: UpdateImplementationInput!) {
          updateImplementation(input: $input) {
            improvementAction { dueDate dueState } userErrors { code } } }""",
        {
            "input": {
                "actionId": gid(t2),
                "version": version,
                "implementationStatus": "IMPLEMENTED",
            }
        },
        token=contributor,
    )
    assert data["updateImplementation"]["improvementAction"] == {
        "dueDate": due.isoformat(),
        "dueState": "NONE",
    }


async def test_a_due_date_is_a_change_with_history_an_event_and_a_new_version(
    api, db, example, tokens
) -> None:
    t2 = example.actions["T2"]
    before = (await read(api, t2, tokens["CONTRIBUTOR"]))["version"]
    payload = await set_due(api, t2, tokens["CONTRIBUTOR"], "2026-04-01")
    assert payload["improvementAction"]["version"] == before + 1
    cleared = await set_due(api, t2, tokens["CONTRIBUTOR"], None)
    assert cleared["improvementAction"]["dueDate"] is None
    assert cleared["improvementAction"]["dueState"] == "NONE"
    async with db.sessions() as session:
        history = (
            await session.execute(
                select(HistoryEntry.old_value, HistoryEntry.new_value)
                .where(HistoryEntry.action_id == t2.id, HistoryEntry.field == "due_date")
                .order_by(HistoryEntry.id)
            )
        ).all()
        events = list(
            await session.scalars(
                select(Event)
                .where(Event.action_id == t2.id, Event.type == EventType.ASSIGNMENT_CHANGE)
                .order_by(Event.id)
            )
        )
    assert [tuple(h) for h in history] == [(None, "2026-04-01"), ("2026-04-01", None)]
    assert [(e.payload["dueDate"], e.payload["changed"], e.payload["notify"]) for e in events] == [
        ("2026-04-01", ["dueDate"], False),
        (None, ["dueDate"], False),
    ]
    # Sending the same date again changes nothing.
    again = await set_due(api, t2, tokens["CONTRIBUTOR"], None)
    assert again["improvementAction"]["version"] == cleared["improvementAction"]["version"]


async def test_past_due_dates_are_allowed_far_ones_are_not(api, db, example, tokens) -> None:
    t2 = example.actions["T2"]
    backlog = await set_due(api, t2, tokens["CONTRIBUTOR"], "2025-12-01")
    assert backlog["userErrors"] == []
    assert backlog["improvementAction"]["dueState"] == "OVERDUE"
    too_far = (TODAY + timedelta(days=MAX_DAYS_AHEAD + 1)).isoformat()
    refused = await set_due(api, t2, tokens["CONTRIBUTOR"], too_far)
    assert [(e["field"], e["code"]) for e in refused["userErrors"]] == [
        (["input", "dueDate"], "INVALID")
    ]
    assert (await read(api, t2, tokens["CONTRIBUTOR"]))["dueDate"] == "2025-12-01"
    furthest = (TODAY + timedelta(days=MAX_DAYS_AHEAD)).isoformat()
    assert (await set_due(api, t2, tokens["CONTRIBUTOR"], furthest))["userErrors"] == []


async def test_readers_may_not_set_due_dates(api, example, tokens) -> None:
    payload = await set_due(api, example.actions["T2"], tokens["READER"], "2026-04-01")
    assert [e["code"] for e in payload["userErrors"]] == ["FORBIDDEN"]


async def test_assigning_with_a_due_date_sets_it_on_every_action_in_one_event(
    api, db, owner, example, tokens
) -> None:
    t2, n1 = example.actions["T2"], example.actions["N1@G2"]
    async with db.sessions() as session:
        first_event = await session.scalar(select(func.max(Event.id))) or 0
    data = await api.query(
        ASSIGN,
        {
            "input": {
                "actionIds": [gid(t2), gid(n1)],
                "assigneeId": to_base64("User", owner.user_id),
                "dueDate": "2026-03-05",
                "notify": False,
            }
        },
        token=tokens["CONTRIBUTOR"],
    )
    payload = data["assignImprovementActions"]
    assert payload["userErrors"] == []
    assert [(a["dueDate"], a["dueState"]) for a in payload["improvementActions"]] == [
        ("2026-03-05", "DUE_SOON"),
        ("2026-03-05", "DUE_SOON"),
    ]
    async with db.sessions() as session:
        events = list(
            await session.scalars(
                select(Event).where(
                    Event.id > first_event, Event.type == EventType.ASSIGNMENT_CHANGE
                )
            )
        )
        history = set(
            await session.scalars(select(HistoryEntry.field).where(HistoryEntry.action_id == t2.id))
        )
    assert sorted((e.action_id, e.payload["dueDate"]) for e in events) == sorted(
        [(t2.id, "2026-03-05"), (n1.id, "2026-03-05")]
    )
    assert {"assignee", "due_date"} <= history

    # Left out (null), the due dates stay; a new date alone is still an assignment change.
    data = await api.query(
        ASSIGN,
        {"input": {"actionIds": [gid(t2)], "assigneeId": to_base64("User", owner.user_id)}},
        token=tokens["CONTRIBUTOR"],
    )
    assert data["assignImprovementActions"]["improvementActions"][0]["dueDate"] == "2026-03-05"
    data = await api.query(
        ASSIGN,
        {
            "input": {
                "actionIds": [gid(t2)],
                "assigneeId": to_base64("User", owner.user_id),
                "dueDate": "2026-02-01",
            }
        },
        token=tokens["CONTRIBUTOR"],
    )
    assert data["assignImprovementActions"]["improvementActions"][0]["dueState"] == "OVERDUE"
    async with db.sessions() as session:
        last = await session.scalar(
            select(Event).where(Event.action_id == t2.id).order_by(Event.id.desc()).limit(1)
        )
    assert last is not None and last.type == EventType.ASSIGNMENT_CHANGE
    assert (last.payload["dueDate"], last.payload["notify"]) == ("2026-02-01", False)


async def test_assigning_refuses_a_far_due_date_for_all_actions(
    api, owner, example, tokens
) -> None:
    t2 = example.actions["T2"]
    data = await api.query(
        ASSIGN,
        {
            "input": {
                "actionIds": [gid(t2)],
                "assigneeId": to_base64("User", owner.user_id),
                "dueDate": "2099-01-01",
            }
        },
        token=tokens["CONTRIBUTOR"],
    )
    errors = data["assignImprovementActions"]["userErrors"]
    assert [(e["field"], e["code"]) for e in errors] == [(["input", "dueDate"], "INVALID")]
    assert (await read(api, t2, tokens["CONTRIBUTOR"]))["dueDate"] is None


async def test_due_dates_are_planning_fields_even_on_inheriting_actions(
    api, uow, example, tokens
) -> None:
    """A PARENT action's due date is its own: set by contributors, never propagated."""
    t2, t1 = example.actions["T2"], example.actions["T1"]
    data = await api.query(
        """mutation($input: SetTestingSourceInput!) {
          setTestingSource(input: $input) { userErrors { code } } }""",
        {
            "input": {
                "actionId": gid(t2),
                "version": (await read(api, t2, tokens["ASSESSOR"]))["version"],
                "testingSource": "PARENT",
                "parentId": gid(t1),
            }
        },
        token=tokens["ASSESSOR"],
    )
    assert data["setTestingSource"]["userErrors"] == []
    assert (await set_due(api, t2, tokens["CONTRIBUTOR"], "2026-03-20"))["userErrors"] == []
    assert (await set_due(api, t1, tokens["CONTRIBUTOR"], "2026-05-20"))["userErrors"] == []
    assert (await read(api, t2, tokens["CONTRIBUTOR"]))["dueDate"] == "2026-03-20"


async def test_due_state_filters_and_due_before(api, example, tokens) -> None:
    token = tokens["CONTRIBUTOR"]
    t2, n1g1, n1g2 = example.actions["T2"], example.actions["N1@G1"], example.actions["N1@G2"]
    await set_due(api, t2, token, "2026-02-20")  # overdue
    await set_due(api, n1g2, token, "2026-03-04")  # due soon, not implemented
    await set_due(api, n1g1, token, "2026-02-01")  # passed in G1: implemented, so NONE

    async def titles(**filter) -> list[tuple[str, str]]:
        data = await api.query(LIST, {"filter": filter}, token=token)
        return sorted((n["title"], n["dueState"]) for n in data["improvementActions"]["nodes"])

    assert await titles(dueStates=["OVERDUE"]) == [("T2", "OVERDUE")]
    assert await titles(dueStates=["DUE_SOON"]) == [("N1", "DUE_SOON")]
    assert await titles(dueStates=["OVERDUE", "DUE_SOON"]) == [
        ("N1", "DUE_SOON"),
        ("T2", "OVERDUE"),
    ]
    assert await titles(dueStates=["ON_TRACK"]) == []
    assert [t for t in await titles(dueStates=["NONE"]) if t[0] in ("N1", "T2")] == [("N1", "NONE")]
    assert await titles(dueBefore="2026-03-01") == [("T2", "OVERDUE")]
    assert await titles(dueBefore="2026-03-05") == [("N1", "DUE_SOON"), ("T2", "OVERDUE")]

    # The organisation's dueSoonDays decides what is due soon, in lists and filters alike.
    owner = tokens["OWNER"]
    data = await api.query(
        """mutation { updateOrganisationSettings(input: {dueSoonDays: 1}) {
            organisation { dueSoonDays } userErrors { code } } }""",
        token=owner,
    )
    assert data["updateOrganisationSettings"]["organisation"] == {"dueSoonDays": 1}
    assert await titles(dueStates=["DUE_SOON"]) == []
    assert await titles(dueStates=["ON_TRACK"]) == [("N1", "ON_TRACK")]


async def test_the_dashboard_counts_overdue_and_due_soon_actions_per_row(
    api, example, tokens
) -> None:
    token = tokens["CONTRIBUTOR"]
    await set_due(api, example.actions["T2"], token, "2026-02-20")  # overdue, in A2
    await set_due(api, example.actions["N1@G2"], token, "2026-03-04")  # due soon, in A3
    data = await api.query(
        """{ complianceScore {
            overdueCount dueSoonCount retestDueCount
            byAssessment { label overdueCount dueSoonCount retestDueCount }
            byGroup { label overdueCount dueSoonCount } } }""",
        token=token,
    )
    score = data["complianceScore"]
    assert (score["overdueCount"], score["dueSoonCount"], score["retestDueCount"]) == (1, 1, 0)
    rows = {r["label"]: (r["overdueCount"], r["dueSoonCount"]) for r in score["byAssessment"]}
    assert rows == {"A1": (0, 0), "A2": (1, 0), "A3": (0, 1)}
    groups = {r["label"]: (r["overdueCount"], r["dueSoonCount"]) for r in score["byGroup"]}
    assert groups == {"G1": (1, 0), "G2": (0, 1)}


async def test_past_dates_read_against_the_moved_clock(api, example, tokens) -> None:
    """The same stored date reads differently as days pass: nothing is written by the day."""
    t2 = example.actions["T2"]
    await set_due(api, t2, tokens["CONTRIBUTOR"], (TODAY + timedelta(days=1)).isoformat())
    state = await read(api, t2, tokens["READER"])
    assert state["dueState"] == "DUE_SOON"
    clock.advance(timedelta(days=2))
    later = await read(api, t2, tokens["READER"])
    assert later["dueState"] == "OVERDUE"
    assert later["version"] == state["version"]
    assert date.fromisoformat(later["dueDate"]) < clock.today()


def test_a_plan_change_reads_as_such_in_alerts() -> None:
    from cmgraph.alerts.messages import event_details

    def details(payload: dict) -> str:
        return event_details(Event(type=EventType.ASSIGNMENT_CHANGE.value, payload=payload), {}, {})

    assert details({"changed": ["dueDate"], "dueDate": "2026-04-01"}) == "due date 2026-04-01"
    assert details({"changed": ["dueDate"], "dueDate": None}) == "due date cleared"
    assert details({"changed": ["retestIntervalDays"], "retestIntervalDays": 30}) == (
        "retest every 30 days"
    )
    assert details({"toUserId": None}) == "unassigned"


async def test_the_actions_export_keeps_the_due_filters(api, example, tokens) -> None:
    token = tokens["CONTRIBUTOR"]
    await set_due(api, example.actions["T2"], token, "2026-02-20")  # overdue
    await set_due(api, example.actions["N1@G2"], token, "2026-03-04")  # due soon
    data = await api.query(
        """query($filter: ImprovementActionFilter) {
            improvementActionsExport(filter: $filter) { url } }""",
        {"filter": {"dueStates": ["DUE_SOON", "OVERDUE"], "dueBefore": "2026-03-01"}},
        token=token,
    )
    parts = urlsplit(data["improvementActionsExport"]["url"])
    response = await api.client.get(f"{parts.path}?{parts.query}")
    assert response.status_code == 200, response.text
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).worksheets[0]
    values = list(sheet.iter_rows(values_only=True))
    titles = [dict(zip(values[0], row, strict=True))["Title"] for row in values[1:]]
    assert titles == ["T2"]
