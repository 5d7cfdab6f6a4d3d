"""A change that committed is reported as done, even when reading after the commit fails.

Otherwise a client would see an error for a change that is in history, and its retry would
meet that change as a CONFLICT.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError
from strawberry.relay import to_base64

from cmgraph.adapters.db import UnitOfWork
from cmgraph.domain.models import Evidence, HistoryEntry
from cmgraph.resolvers.context import Context
from cmgraph.resolvers.reader import Reader
from tests.builders import worked_example
from tests.conftest import Api

UPDATE_IMPLEMENTATION = """
mutation($input: UpdateImplementationInput!) {
  updateImplementation(input: $input) {
    improvementAction { id version implementationStatus implementationDate
                        score { earned possible } }
    userErrors { field code message }
  }
}"""

UPDATE_WITH_CONTROLS = """
mutation($input: UpdateImplementationInput!) {
  updateImplementation(input: $input) {
    improvementAction { id version controls { key } }
    userErrors { field code message }
  }
}"""

ADD_LINK = """
mutation($input: AddEvidenceLinkInput!) {
  addEvidenceLink(input: $input) {
    evidence { id name url }
    improvementAction { id version }
    userErrors { field code message }
  }
}"""


@pytest.fixture
async def example(uow, owner):  # type: ignore[no-untyped-def]
    async with uow() as u:
        return await worked_example(u, owner)


@pytest.fixture
def reads_fail_after_commit(monkeypatch: pytest.MonkeyPatch) -> None:
    """The request's read session fails from the commit on (a mutation reads with it only
    after committing), and so does refreshing it."""

    async def fail(*args: Any, **kwargs: Any) -> Any:
        raise OperationalError("SELECT ...", {}, Exception("server closed the connection"))

    monkeypatch.setattr(Reader, "execute", fail)
    monkeypatch.setattr(Reader, "scalar", fail)
    monkeypatch.setattr(Context, "after_write", fail)


async def history_rows(db, action_id: int, field: str) -> int:  # type: ignore[no-untyped-def]
    async with db.sessions() as session:
        return int(
            await session.scalar(
                select(func.count())
                .select_from(HistoryEntry)
                .where(HistoryEntry.action_id == action_id, HistoryEntry.field == field)
            )
        )


def implement(action_id: int, version: int) -> dict[str, Any]:
    return {
        "input": {
            "actionId": to_base64("ImprovementAction", action_id),
            "version": version,
            "implementationStatus": "IMPLEMENTED",
            "implementationDate": "2026-01-15",
        }
    }


async def test_an_edit_is_reported_with_its_new_state_when_reads_after_commit_fail(
    api: Api, db, example, token_for, reads_fail_after_commit: None
) -> None:
    token = await token_for("carl@example.test", "CONTRIBUTOR")
    t2 = example.actions["T2"]
    response = await api.post(UPDATE_IMPLEMENTATION, implement(t2.id, t2.version), token)
    body = response.json()
    assert "errors" not in body, body
    assert body["data"]["updateImplementation"] == {
        "improvementAction": {
            "id": to_base64("ImprovementAction", t2.id),
            "version": t2.version + 1,
            "implementationStatus": "IMPLEMENTED",
            "implementationDate": "2026-01-15",
            "score": {"earned": 0.0, "possible": 1},
        },
        "userErrors": [],
    }
    assert await history_rows(db, t2.id, "implementation_status") == 1


@pytest.mark.parametrize(
    ("failure", "code"),
    [
        (RuntimeError("the read failed"), "INTERNAL_SERVER_ERROR"),
        # An outage now would make any other request a 503 "try again"; this change is
        # applied, so the reply goes out as a 200 that says so.
        (ConnectionRefusedError(111, "Connect call failed"), "APPLIED_BUT_UNREADABLE"),
    ],
)
async def test_a_nested_field_unreadable_after_commit_leaves_user_errors_empty(
    api: Api, db, example, token_for, monkeypatch: pytest.MonkeyPatch, failure, code
) -> None:
    """The reply's own fields come from the transaction; a nested list read afterwards
    fails as a field error, and empty userErrors still says the change was applied."""

    async def fail(*args: Any, **kwargs: Any) -> Any:
        raise failure

    monkeypatch.setattr(Reader, "execute", fail)
    token = await token_for("carl@example.test", "CONTRIBUTOR")
    t2 = example.actions["T2"]
    response = await api.post(UPDATE_WITH_CONTROLS, implement(t2.id, t2.version), token)
    body = response.json()
    assert response.status_code == 200
    assert "data" in body, (response.status_code, body)
    assert body["data"]["updateImplementation"]["userErrors"] == []
    [error] = body["errors"]
    assert error["path"][:3] == ["updateImplementation", "improvementAction", "controls"]
    assert error["extensions"]["code"] == code
    assert await history_rows(db, t2.id, "implementation_status") == 1


async def test_a_link_is_reported_added_when_reads_after_commit_fail(
    api: Api, db, example, token_for, reads_fail_after_commit: None
) -> None:
    token = await token_for("carl@example.test", "CONTRIBUTOR")
    t2 = example.actions["T2"]
    variables = {
        "input": {
            "actionId": to_base64("ImprovementAction", t2.id),
            "name": "Scan report",
            "url": "https://scanner.example.test/r/1",
        }
    }
    body = (await api.post(ADD_LINK, variables, token)).json()
    assert "errors" not in body, body
    payload = body["data"]["addEvidenceLink"]
    assert payload["userErrors"] == []
    assert payload["evidence"]["name"] == "Scan report"
    assert payload["improvementAction"] == {
        "id": to_base64("ImprovementAction", t2.id),
        "version": t2.version,
    }
    async with db.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Evidence)) == 1


async def test_an_outage_between_two_changes_reports_the_first_applied(
    api: Api, db, example, token_for, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 503 "try again" would make the client apply the first change twice."""
    token = await token_for("carl@example.test", "CONTRIBUTOR")
    t1, t2 = example.actions["T1"], example.actions["T2"]
    await api.query("{ viewer { role } }", token=token)  # signed in: the token's use noted
    enter = UnitOfWork.__aenter__
    entered: list[UnitOfWork] = []

    async def second_fails(self: UnitOfWork) -> UnitOfWork:
        entered.append(self)
        if len(entered) == 2:
            raise ConnectionRefusedError(111, "Connect call failed")
        return await enter(self)

    monkeypatch.setattr(UnitOfWork, "__aenter__", second_fails)
    document = """mutation($a: UpdateImplementationInput!, $b: UpdateImplementationInput!) {
      a: updateImplementation(input: $a) { improvementAction { version } userErrors { code } }
      b: updateImplementation(input: $b) { improvementAction { version } userErrors { code } }
    }"""
    variables = {
        "a": implement(t1.id, t1.version)["input"],
        "b": implement(t2.id, t2.version)["input"],
    }
    response = await api.post(document, variables, token)
    assert response.status_code == 200, response.text
    body = response.json()
    # ``b``'s payload is non-null, so its error nulls the reply; the error names ``a``.
    assert body["data"] is None
    [error] = body["errors"]
    assert error["path"] == ["b"]
    assert error["extensions"] == {"code": "NOT_APPLIED", "applied": ["a"]}
    assert await history_rows(db, t1.id, "implementation_status") == 1
    assert await history_rows(db, t2.id, "implementation_status") == 0
