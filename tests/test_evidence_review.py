"""Evidence that expires (DOMAIN.md section 15): review-by dates on links and documents,
flagged on the evidence, on its action and in the assessment report."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import openpyxl
import pytest
from sqlalchemy import event, func, select
from strawberry.relay import to_base64

from cmgraph.config import Settings
from cmgraph.domain import clock
from cmgraph.domain.enums import EventType
from cmgraph.domain.models import Event, Evidence, HistoryEntry
from cmgraph.http.app import create_app
from tests.graphql_ws import Http, WsClient, hub_of, subscribed, uvicorn_server

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
CSRF = {"X-CMGraph-CSRF": "1"}

ADD_LINK = """
mutation($input: AddEvidenceLinkInput!) {
  addEvidenceLink(input: $input) {
    evidence { id reviewBy isExpired }
    userErrors { field code message }
  }
}"""

UPDATE = """
mutation($input: UpdateEvidenceInput!) {
  updateEvidence(input: $input) {
    evidence { id reviewBy isExpired }
    improvementAction { hasExpiredEvidence }
    userErrors { field code message }
  }
}"""

ACTION = """
query($id: ID!) {
  node(id: $id) { ... on ImprovementAction {
    hasExpiredEvidence evidence { name reviewBy isExpired } } }
}"""


@pytest.fixture(autouse=True)
def frozen_clock():
    clock.freeze(NOW)
    yield
    clock.reset()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings.from_env({}, data_dir=tmp_path / "data", public_url="http://cmgraph.test")


def gid(action) -> str:
    return to_base64("ImprovementAction", action.id)


async def add_link(api, action, token: str, review_by: str | None) -> dict:
    data = await api.query(
        ADD_LINK,
        {
            "input": {
                "actionId": gid(action),
                "name": "Policy",
                "url": "https://docs.example.test/policy",
                "reviewBy": review_by,
            }
        },
        token=token,
    )
    return data["addEvidenceLink"]


async def test_a_link_expires_after_its_review_by_date(api, example, tokens) -> None:
    t2 = example.actions["T2"]
    token = tokens["CONTRIBUTOR"]
    added = await add_link(api, t2, token, "2026-03-10")
    assert added["userErrors"] == []
    assert added["evidence"]["reviewBy"] == "2026-03-10"
    assert added["evidence"]["isExpired"] is False
    await add_link(api, t2, token, None)  # no date: never expires

    clock.advance(timedelta(days=8))  # the day itself is still in date
    data = await api.query(ACTION, {"id": gid(t2)}, token=tokens["READER"])
    assert data["node"]["hasExpiredEvidence"] is False
    clock.advance(timedelta(days=1))
    data = await api.query(ACTION, {"id": gid(t2)}, token=tokens["READER"])
    assert data["node"]["hasExpiredEvidence"] is True
    assert [(e["reviewBy"], e["isExpired"]) for e in data["node"]["evidence"]] == [
        ("2026-03-10", True),
        (None, False),
    ]


async def test_update_evidence_moves_the_date_with_history_and_an_event(
    api, db, example, tokens
) -> None:
    t1 = example.actions["T1"]  # passed: its evidence is locked, its dates are not
    token = tokens["CONTRIBUTOR"]
    added = await add_link(api, example.actions["T2"], token, "2026-01-31")
    assert added["evidence"]["isExpired"] is True  # a past day is allowed
    data = await api.query(
        """mutation($input: AddEvidenceLinkInput!) { addEvidenceLink(input: $input) {
            evidence { id } userErrors { code } } }""",
        {"input": {"actionId": gid(t1), "name": "Proof", "url": "https://x.test/proof"}},
        token=tokens["OWNER"],
    )
    proof = data["addEvidenceLink"]["evidence"]["id"]
    assert data["addEvidenceLink"]["userErrors"] == []

    updated = (
        await api.query(
            UPDATE, {"input": {"evidenceId": proof, "reviewBy": "2026-02-01"}}, token=token
        )
    )["updateEvidence"]
    assert updated["userErrors"] == []
    assert updated["evidence"]["isExpired"] is True
    assert updated["improvementAction"]["hasExpiredEvidence"] is True
    renewed = (
        await api.query(
            UPDATE, {"input": {"evidenceId": proof, "reviewBy": "2027-02-01"}}, token=token
        )
    )["updateEvidence"]
    assert renewed["evidence"] == {"id": proof, "reviewBy": "2027-02-01", "isExpired": False}
    assert renewed["improvementAction"]["hasExpiredEvidence"] is False
    cleared = (
        await api.query(UPDATE, {"input": {"evidenceId": proof, "reviewBy": None}}, token=token)
    )["updateEvidence"]
    assert cleared["evidence"]["reviewBy"] is None

    async with db.sessions() as session:
        history = (
            await session.execute(
                select(HistoryEntry.old_value, HistoryEntry.new_value)
                .where(HistoryEntry.action_id == t1.id, HistoryEntry.field == "evidence_review_by")
                .order_by(HistoryEntry.id)
            )
        ).all()
        events = list(
            await session.scalars(
                select(Event.payload)
                .where(Event.action_id == t1.id, Event.type == EventType.EVIDENCE_CHANGE)
                .order_by(Event.id)
            )
        )
    assert [tuple(h) for h in history] == [
        ("link Proof: review by none", "link Proof: review by 2026-02-01"),
        ("link Proof: review by 2026-02-01", "link Proof: review by 2027-02-01"),
        ("link Proof: review by 2027-02-01", "link Proof: review by none"),
    ]
    assert [(p["change"], p["reviewBy"]) for p in events] == [
        ("ADDED", None),
        ("UPDATED", "2026-02-01"),
        ("UPDATED", "2027-02-01"),
        ("UPDATED", None),
    ]


async def test_review_by_dates_are_bounded_and_for_contributors(api, db, example, tokens) -> None:
    t2 = example.actions["T2"]
    refused = await add_link(api, t2, tokens["CONTRIBUTOR"], "2040-01-01")
    assert [(e["field"], e["code"]) for e in refused["userErrors"]] == [
        (["input", "reviewBy"], "INVALID")
    ]
    added = await add_link(api, t2, tokens["CONTRIBUTOR"], "2026-06-01")
    evidence_id = added["evidence"]["id"]
    for token, review_by, code in (
        (tokens["READER"], "2026-07-01", "FORBIDDEN"),
        (tokens["CONTRIBUTOR"], "1900-01-01", "INVALID"),
    ):
        data = await api.query(
            UPDATE, {"input": {"evidenceId": evidence_id, "reviewBy": review_by}}, token=token
        )
        assert [e["code"] for e in data["updateEvidence"]["userErrors"]] == [code]
    async with db.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Evidence)) == 1
        assert str(await session.scalar(select(Evidence.review_by))) == "2026-06-01"


async def upload(api, token: str, action, **fields) -> object:
    return await api.client.post(
        "/evidence/upload",
        data={"actionId": gid(action), **fields},
        files={"file": ("plan.txt", b"the plan\n", "text/plain")},
        headers={**CSRF, "Authorization": f"Bearer {token}"},
    )


async def test_uploads_take_a_review_by_date(api, db, example, tokens) -> None:
    t2 = example.actions["T2"]
    token = tokens["CONTRIBUTOR"]
    response = await upload(api, token, t2, reviewBy="2026-03-01")
    assert response.status_code == 201, response.text
    assert response.json()["evidence"]["reviewBy"] == "2026-03-01"
    data = await api.query(ACTION, {"id": gid(t2)}, token=token)
    assert data["node"]["hasExpiredEvidence"] is True

    for value, code in (
        ("next week", "INVALID"),
        ("2099-01-01", "INVALID"),
        ("20260301", "INVALID"),  # ISO 8601 too, but the form takes one spelling
        ("2026-W09-7", "INVALID"),
    ):
        refused = await upload(api, token, t2, reviewBy=value)
        assert refused.status_code == 400, refused.text
        assert [e["extensions"]["code"] for e in refused.json()["errors"]] == [code]
    async with db.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Evidence)) == 1


async def test_has_expired_evidence_is_read_in_one_statement_for_a_list(
    api, db, example, tokens
) -> None:
    for name in ("T1", "T2", "N1@G2"):
        await add_link(api, example.actions[name], tokens["OWNER"], "2026-02-01")
    statements: list[str] = []

    def count(conn, cursor, statement, *args) -> None:
        if "evidence" in statement.lower() and "review_by" in statement.lower():
            statements.append(statement)

    event.listen(db.engine.sync_engine, "before_cursor_execute", count)
    try:
        data = await api.query(
            "{ improvementActions { nodes { title hasExpiredEvidence } } }",
            token=tokens["READER"],
        )
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", count)
    flags = sorted(
        (n["title"], n["hasExpiredEvidence"]) for n in data["improvementActions"]["nodes"]
    )
    assert flags == [("N1", False), ("N1", True), ("P1", False), ("T1", True), ("T2", True)]
    assert len(statements) == 1


async def test_the_report_shows_review_by_dates_and_flags_expired_evidence(
    api, example, tokens
) -> None:
    t2 = example.actions["T2"]
    await add_link(api, t2, tokens["CONTRIBUTOR"], "2026-02-01")
    await add_link(api, t2, tokens["CONTRIBUTOR"], "2026-09-01")
    version = (
        await api.query(
            "query($id: ID!) { node(id: $id) { ... on ImprovementAction { version } } }",
            {"id": gid(t2)},
            token=tokens["CONTRIBUTOR"],
        )
    )["node"]["version"]
    await api.query(
        """mutation($input: UpdateImprovementActionInput!) {
            updateImprovementAction(input: $input) { userErrors { code } } }""",
        {"input": {"actionId": gid(t2), "version": version, "dueDate": "2026-02-20"}},
        token=tokens["CONTRIBUTOR"],
    )
    data = await api.query(
        "query($id: ID!) { node(id: $id) { ... on Assessment { reportExport { url } } } }",
        {"id": to_base64("Assessment", example.a2.id)},
        token=tokens["READER"],
    )
    parts = urlsplit(data["node"]["reportExport"]["url"])
    response = await api.client.get(f"{parts.path}?{parts.query}")
    assert response.status_code == 200, response.text
    book = openpyxl.load_workbook(io.BytesIO(response.content))

    def rows(sheet) -> list[dict]:
        values = list(sheet.iter_rows(values_only=True))
        return [dict(zip(values[0], row, strict=True)) for row in values[1:]]

    evidence = [(r["Review by"], r["Expired"]) for r in rows(book["Evidence"])]
    assert [(d.date().isoformat() if d else None, flag) for d, flag in evidence] == [
        ("2026-02-01", "yes"),
        ("2026-09-01", "no"),
    ]
    actions = {r["Action key"]: r for r in rows(book["Customer actions"])}
    t2_row = actions["we:t2"]
    assert (t2_row["Evidence"], t2_row["Expired evidence"], t2_row["Due state"]) == (
        2,
        1,
        "OVERDUE",
    )
    assert t2_row["Due date"].date().isoformat() == "2026-02-20"


# -- live: what a subscriber of the action sees ----------------------------------------------


@pytest.fixture
async def live(db, example, settings):
    app = create_app(replace(settings, background_work=False), db.engine)
    async with uvicorn_server(app) as base:
        client = Http(base)
        try:
            yield base, hub_of(app), client
        finally:
            await client.aclose()


async def test_a_new_review_by_date_or_due_date_reaches_subscribers(live, example, tokens) -> None:
    base, hub, http = live
    t2 = example.actions["T2"]
    token = tokens["CONTRIBUTOR"]
    async with WsClient.signed_in(base, token) as ws:
        await ws.subscribe(
            """subscription($filter: ImprovementActionChangeFilter) {
                improvementActionChanged(filter: $filter) {
                  dueDate hasExpiredEvidence evidence { reviewBy } } }""",
            {"filter": {"actionIds": [gid(t2)]}},
        )
        await subscribed(hub, 1)
        added = await http.query(
            ADD_LINK,
            {
                "input": {
                    "actionId": gid(t2),
                    "name": "P",
                    "url": "https://x.test",
                    "reviewBy": None,
                }
            },
            token=token,
        )
        evidence_id = added["addEvidenceLink"]["evidence"]["id"]
        first = (await ws.next_data())["improvementActionChanged"]
        assert first["evidence"] == [{"reviewBy": None}]

        await http.query(
            UPDATE, {"input": {"evidenceId": evidence_id, "reviewBy": "2026-02-01"}}, token=token
        )
        second = (await ws.next_data())["improvementActionChanged"]
        assert second["evidence"] == [{"reviewBy": "2026-02-01"}]
        assert second["hasExpiredEvidence"] is True

        version = (await http.query(ACTION_VERSION, {"id": gid(t2)}, token=token))["node"]
        await http.query(
            """mutation($input: UpdateImprovementActionInput!) {
                updateImprovementAction(input: $input) { userErrors { code } } }""",
            {
                "input": {
                    "actionId": gid(t2),
                    "version": version["version"],
                    "dueDate": "2026-04-01",
                }
            },
            token=token,
        )
        third = (await ws.next_data())["improvementActionChanged"]
        assert third["dueDate"] == "2026-04-01"


ACTION_VERSION = "query($id: ID!) { node(id: $id) { ... on ImprovementAction { version } } }"
