"""Bulk update by re-upload: export, edit cells as a person would, upload, dry run or apply."""

from __future__ import annotations

import asyncio
import io
import json
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook
from openpyxl.utils.datetime import CALENDAR_MAC_1904, CALENDAR_WINDOWS_1900
from sqlalchemy import select
from strawberry.relay import to_base64
from typer.testing import CliRunner

from cmgraph.adapters import statistics
from cmgraph.alerts.evaluator import evaluate_pending
from cmgraph.cli import app
from cmgraph.domain import alert_policies, clock
from cmgraph.domain.alert_policies import ConditionSpec, PolicySettings
from cmgraph.domain.enums import (
    ChangeSource,
    EventType,
    NotificationKind,
    OrgRole,
    TestingSource,
)
from cmgraph.domain.models import (
    Alert,
    Assessment,
    Event,
    HistoryEntry,
    ImprovementAction,
    Notification,
)
from cmgraph.exchange.downloads import XLSX
from tests.builders import WorkedExample, worked_example
from tests.exchange.test_actions_export import download
from tests.test_bad_input import snapshot

IMPORT = """mutation($input: ImportImprovementActionsInput!) {
  importImprovementActions(input: $input) {
    applied
    rowErrors { sheet row column code message }
    summary {
      rowsRead actionsChanged overallDelta
      overallBefore { earned possible } overallAfter { earned possible }
      assessmentsAffected {
        assessment { name } before { earned possible } after { earned possible } delta
      }
    }
    userErrors { field code message }
  }
}"""
SHEET = "Improvement actions"
EARLIER = date(2026, 1, 10)


class Sheet:
    """An exported sheet as header + rows, edited by action name, then saved again."""

    def __init__(self, data: bytes, example: WorkedExample) -> None:
        rows = list(load_workbook(io.BytesIO(data))[SHEET].iter_rows(values_only=True))
        self.header: list[Any] = list(rows[0])
        self.rows: list[list[Any]] = [list(r) for r in rows[1:]]
        self.ids = {to_base64("ImprovementAction", a.id): n for n, a in example.actions.items()}

    def row(self, name: str) -> list[Any]:
        [found] = [r for r in self.rows if self.ids.get(r[0]) == name]
        return found

    def number(self, name: str) -> int:
        """The spreadsheet row number of an action (the header is row 1)."""
        return self.rows.index(self.row(name)) + 2

    def set(self, name: str, **cells: Any) -> Sheet:
        row = self.row(name)
        for header, value in cells.items():
            row[self.header.index(header.replace("_", " "))] = value
        return self

    def save(
        self, title: str = SHEET, extra_rows: int = 0, epoch: datetime = CALENDAR_WINDOWS_1900
    ) -> bytes:
        workbook = Workbook()
        workbook.epoch = epoch  # the date system: 1900 (Excel for Windows) or 1904 (old Macs)
        sheet = workbook.active
        sheet.title = title
        sheet.append(self.header)
        for row in self.rows:
            sheet.append(row)
        for _ in range(extra_rows):
            sheet.append([None, "", "  "])
        buffer = io.BytesIO()
        workbook.save(buffer)
        return buffer.getvalue()


async def upload(
    api: Any,
    token: str,
    data: bytes,
    *,
    dry_run: bool = True,
    name: str = "actions.xlsx",
    csrf: bool = True,
    notify: bool = True,
) -> Any:
    variables = {"input": {"file": None, "dryRun": dry_run, "notifyAssignees": notify}}
    operations = {"query": IMPORT, "variables": variables}
    headers = {"Authorization": f"Bearer {token}"}
    if csrf:
        headers["X-CMGraph-CSRF"] = "1"
    return await api.client.post(
        "/graphql",
        files={
            "operations": (None, json.dumps(operations)),
            "map": (None, json.dumps({"0": ["variables.input.file"]})),
            "0": (name, data, XLSX),
        },
        headers=headers,
    )


async def imported(api: Any, token: str, data: bytes, **options: Any) -> dict[str, Any]:
    response = await upload(api, token, data, **options)
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    return body["data"]["importImprovementActions"]


def score(earned: float, possible: int) -> dict[str, Any]:
    return {"earned": earned, "possible": possible}


@pytest.fixture
async def example(uow, owner) -> WorkedExample:
    async with uow() as u:
        return await worked_example(u, owner)


@pytest.fixture
async def assessor(token_for) -> str:
    return await token_for("assessor@example.test", OrgRole.ASSESSOR)


async def edited_t2(api: Any, token: str, example: WorkedExample) -> tuple[Sheet, bytes]:
    """T2 implemented and passed, N1 in G2 gets notes: A2 3/4 -> 4/4, overall 39/43 -> 40/43."""
    sheet = Sheet(await download(api, token), example)
    sheet.set(
        "T2",
        Implementation_status="IMPLEMENTED",
        Implementation_date=EARLIER,
        Test_status="PASSED",
        Test_date=EARLIER,
        Testing_notes="Checked the audit log settings.",
    )
    sheet.set("N1@G2", Implementation_notes="Drafted the policy.")
    return sheet, sheet.save()


async def test_a_dry_run_reports_the_impact_and_changes_nothing(api, db, assessor, example) -> None:
    _, data = await edited_t2(api, assessor, example)
    before = await snapshot(db)
    result = await imported(api, assessor, data)
    assert result["applied"] is False
    assert result["rowErrors"] == [] and result["userErrors"] == []
    summary = result["summary"]
    assert (summary["rowsRead"], summary["actionsChanged"]) == (5, 2)
    assert summary["overallBefore"] == score(39, 43)
    assert summary["overallAfter"] == score(40, 43)
    assert summary["overallDelta"] == 1
    assert summary["assessmentsAffected"] == [
        {"assessment": {"name": "A2"}, "before": score(3, 4), "after": score(4, 4), "delta": 1},
        {"assessment": {"name": "A3"}, "before": score(27, 30), "after": score(27, 30), "delta": 0},
    ]
    assert await snapshot(db) == before


async def test_applying_goes_through_the_rules_with_history_events_and_alerts(
    api, db, uow, owner, assessor, example
) -> None:
    async with uow() as u:
        policy = await alert_policies.create_alert_policy(
            u,
            owner,
            "Passed tests",
            PolicySettings(
                conditions=(ConditionSpec(EventType.TEST_STATUS_CHANGE, to_statuses=["PASSED"]),)
            ),
        )
    _, data = await edited_t2(api, assessor, example)
    result = await imported(api, assessor, data, dry_run=False)
    assert result["applied"] is True and result["rowErrors"] == []
    assert result["summary"]["actionsChanged"] == 2

    t2 = example.actions["T2"].id
    async with db.sessions() as session:
        history = (
            await session.execute(
                select(HistoryEntry.field, HistoryEntry.new_value, HistoryEntry.source)
                .where(HistoryEntry.action_id == t2)
                .order_by(HistoryEntry.id)
            )
        ).all()
        events = list(
            await session.scalars(
                select(Event.type).where(Event.action_id == t2).order_by(Event.id)
            )
        )
        a2 = await session.get(Assessment, example.a2.id)
    assert {(f, v) for f, v, s in history if s is ChangeSource.IMPORT} >= {
        ("implementation_status", "IMPLEMENTED"),
        ("implementation_date", EARLIER.isoformat()),
        ("test_status", "PASSED"),
        ("test_date", EARLIER.isoformat()),
        ("testing_notes", "Checked the audit log settings."),
    }
    assert events[-3:] == ["IMPLEMENTATION_STATUS_CHANGE", "TEST_STATUS_CHANGE", "SCORE_CHANGE"]
    assert (a2.earned, a2.possible) == (4, 4)

    await evaluate_pending(db.sessions)
    async with db.sessions() as session:
        alerts = list(await session.scalars(select(Alert).where(Alert.policy_id == policy.id)))
    assert len(alerts) == 1

    query = "query($id: ID!) { node(id: $id) { ... on ImprovementAction { testStatus } } }"
    data = await api.query(query, {"id": to_base64("ImprovementAction", t2)}, token=assessor)
    assert data["node"]["testStatus"] == "PASSED"


async def test_an_unchanged_export_changes_nothing(api, db, assessor, example) -> None:
    data = await download(api, assessor)
    before = await snapshot(db)
    result = await imported(api, assessor, data, dry_run=False)
    assert result["applied"] is True and result["rowErrors"] == []
    assert result["summary"]["actionsChanged"] == 0
    assert result["summary"]["assessmentsAffected"] == []
    assert await snapshot(db) == before


async def test_line_endings_changed_by_a_spreadsheet_program_are_no_change(
    api, db, uow, owner, assessor, example
) -> None:
    from cmgraph.domain.workflow import change_action

    async with uow() as u:
        await change_action(
            u, owner, example.actions["T2"].id, {"additional_notes": "First line\r\nSecond line"}
        )
    sheet = Sheet(await download(api, assessor), example)
    sheet.set("T2", Additional_notes="First line\nSecond line")  # as the program saved it
    before = await snapshot(db)
    result = await imported(api, assessor, sheet.save(), dry_run=False)
    assert result["rowErrors"] == [] and result["summary"]["actionsChanged"] == 0
    assert await snapshot(db) == before


async def test_assignees_that_exist_but_may_not_read_look_like_unknown_ones(
    api, db, token_for, assessor, example
) -> None:
    """An upload must not tell which emails have accounts."""
    await token_for("outsider@example.test", None, assessment_id=example.a3.id)
    sheet = Sheet(await download(api, assessor), example)
    sheet.set("T2", Assigned_to="outsider@example.test")
    sheet.set("N1@G1", Assigned_to="nobody@example.test")
    result = await imported(api, assessor, sheet.save())
    errors = {e["row"]: e for e in result["rowErrors"]}
    outsider, nobody = errors[sheet.number("T2")], errors[sheet.number("N1@G1")]
    assert (outsider["column"], outsider["code"]) == ("Assigned to", "UNKNOWN_ID")
    assert (nobody["column"], nobody["code"]) == ("Assigned to", "UNKNOWN_ID")
    assert outsider["message"].replace("outsider", "x") == nobody["message"].replace("nobody", "x")


async def test_assignment_and_testing_source_columns(api, db, uow, assessor, example) -> None:
    sheet = Sheet(await download(api, assessor), example)
    t1_id = to_base64("ImprovementAction", example.actions["T1"].id)
    sheet.set("T2", Assigned_to=" Assessor@Example.test ")
    sheet.set("N1@G2", Testing_source="PARENT", Parent_action_ID=t1_id)
    result = await imported(api, assessor, sheet.save(), dry_run=False)
    assert result["applied"] is True, result["rowErrors"]
    async with db.sessions() as session:
        t2 = await session.get(ImprovementAction, example.actions["T2"].id)
        n1 = await session.get(ImprovementAction, example.actions["N1@G2"].id)
        sources = set(
            await session.scalars(
                select(HistoryEntry.source).where(
                    HistoryEntry.action_id == n1.id, HistoryEntry.field == "testing_source"
                )
            )
        )
    assert t2.assignee_id is not None
    assert n1.testing_source is TestingSource.PARENT and n1.parent_id == example.actions["T1"].id
    assert n1.test_status.value == "PASSED"  # inherited from T1
    assert sources == {ChangeSource.IMPORT}

    # Back to MANUAL, with an own note in the same row: the switch comes first.
    sheet = Sheet(await download(api, assessor), example)
    sheet.set("N1@G2", Testing_source="MANUAL", Parent_action_ID=None, Testing_notes="Own test.")
    result = await imported(api, assessor, sheet.save(), dry_run=False)
    assert result["applied"] is True, result["rowErrors"]
    async with db.sessions() as session:
        n1 = await session.get(ImprovementAction, example.actions["N1@G2"].id)
    assert (n1.testing_source, n1.parent_id, n1.testing_notes) == (
        TestingSource.MANUAL,
        None,
        "Own test.",
    )


async def test_assignments_email_the_assignee_unless_told_not_to(
    api, db, assessor, example
) -> None:
    sheet = Sheet(await download(api, assessor), example)
    sheet.set("T2", Assigned_to="assessor@example.test")
    assert (await imported(api, assessor, sheet.save(), dry_run=False))["applied"]
    sheet = Sheet(await download(api, assessor), example)
    sheet.set("T1", Assigned_to="assessor@example.test")
    assert (await imported(api, assessor, sheet.save(), dry_run=False, notify=False))["applied"]
    await evaluate_pending(db.sessions)
    async with db.sessions() as session:
        mails = (
            await session.execute(
                select(Notification.recipient_email, Event.action_id)
                .join(Event, Event.id == Notification.subject_id)
                .where(Notification.kind == NotificationKind.ASSIGNMENT)
            )
        ).all()
    assert mails == [("assessor@example.test", example.actions["T2"].id)]


# -- refusals -------------------------------------------------------------------------------------


def _future() -> date:
    return date.today() + timedelta(days=3)


def _drop_column(sheet: Sheet, header: str) -> None:
    index = sheet.header.index(header)
    del sheet.header[index]
    for row in sheet.rows:
        del row[index]


def _add_column(sheet: Sheet, header: str) -> None:
    sheet.header.append(header)
    for row in sheet.rows:
        row.append("blue")


def _duplicate(sheet: Sheet, name: str) -> None:
    sheet.rows.append(list(sheet.row(name)))


REFUSALS = [
    # (edit, expected (row or action name, column, code))
    (lambda s: _add_column(s, "Colour"), (1, "Colour", "UNKNOWN_COLUMN")),
    (lambda s: _drop_column(s, "Test date"), (1, "Test date", "MISSING_COLUMN")),
    (lambda s: _drop_column(s, "Action ID"), (1, "Action ID", "MISSING_COLUMN")),
    (
        lambda s: s.set("T2", Implementation_status="DONE"),
        ("T2", "Implementation status", "UNKNOWN_VALUE"),
    ),
    (lambda s: s.set("T2", Test_status=""), ("T2", "Test status", "REQUIRED")),
    (lambda s: s.set("T1", Test_date="31/02/2026"), ("T1", "Test date", "BAD_DATE")),
    (
        lambda s: s.set("T2", Action_ID=to_base64("ImprovementAction", 987_654)),
        ("T2", "Action ID", "UNKNOWN_ID"),
    ),
    (lambda s: s.set("T2", Action_ID="not an id"), ("T2", "Action ID", "UNKNOWN_ID")),
    (
        lambda s: s.set("T2", Action_ID=to_base64("Assessment", 1)),
        ("T2", "Action ID", "UNKNOWN_ID"),
    ),
    (lambda s: s.set("T2", Action_ID=None), ("T2", "Action ID", "REQUIRED")),
    (
        lambda s: s.set("T2", Assigned_to="nobody@example.test"),
        ("T2", "Assigned to", "UNKNOWN_ID"),
    ),
    (
        lambda s: s.set("T2", Testing_source="PARENT", Parent_action_ID="xyz"),
        ("T2", "Parent action ID", "UNKNOWN_ID"),
    ),
    (
        lambda s: s.set(
            "T2",
            Testing_source="PARENT",
            Parent_action_ID=to_base64("ImprovementAction", 987_654),
        ),
        ("T2", "Parent action ID", "UNKNOWN_ID"),
    ),
    (lambda s: s.set("T2", Testing_source="PARENT"), ("T2", "Parent action ID", "INVALID")),
    (lambda s: s.set("P1", Additional_notes="Ours now"), ("P1", "Additional notes", "READ_ONLY")),
    (lambda s: s.set("T1", Test_date=_future()), ("T1", "Test date", "INVALID")),
    (
        lambda s: s.set("T2", Implementation_status="PARTIALLY_IMPLEMENTED"),
        ("T2", "Implementation status", "INVALID"),
    ),
    (  # T2 is at version 1: the sheet says it was exported before a change
        lambda s: s.set("T2", Version=0, Additional_notes="x"),
        ("T2", "Version", "CONFLICT"),
    ),
    (lambda s: _duplicate(s, "T1"), (7, "Action ID", "DUPLICATE_ROW")),
]


@pytest.mark.parametrize(
    "edit,expected", REFUSALS, ids=[e[1][2] + str(i) for i, e in enumerate(REFUSALS)]
)
async def test_bad_rows_are_refused_and_nothing_is_applied(
    api, db, assessor, example, edit, expected
) -> None:
    sheet = Sheet(await download(api, assessor), example)
    sheet.set("N1@G2", Implementation_notes="A good row, applied only if all are good.")
    row, column, code = expected
    number = row if isinstance(row, int) else sheet.number(row)
    edit(sheet)
    before = await snapshot(db)
    for dry_run in (True, False):
        result = await imported(api, assessor, sheet.save(), dry_run=dry_run)
        assert [(e["row"], e["column"], e["code"]) for e in result["rowErrors"]] == [
            (number, column, code)
        ], result["rowErrors"]
        assert result["rowErrors"][0]["sheet"] == SHEET and result["rowErrors"][0]["message"]
        assert result["applied"] is False
        whole_file = number == 1
        assert [e["code"] for e in result["userErrors"]] == (["INVALID"] if whole_file else [])
        assert (result["summary"] is None) is whole_file
    assert await snapshot(db) == before


@pytest.mark.parametrize(
    "name,content",
    [
        ("actions.xlsx", b"Action ID,Key\nabc,we:t1\n"),  # a CSV renamed
        ("actions.xlsx", b"%PDF-1.7\n1 0 obj << >> endobj\n%%EOF\n"),  # a PDF renamed
        ("actions.xlsx", b"PK\x03\x04 not really a zip"),
    ],
)
async def test_files_that_are_not_xlsx_are_refused(api, db, assessor, example, name, content):
    before = await snapshot(db)
    result = await imported(api, assessor, content, name=name, dry_run=False)
    assert [(e["row"], e["code"]) for e in result["rowErrors"]] == [(0, "NOT_XLSX")]
    assert result["userErrors"][0]["code"] == "INVALID"
    assert result["userErrors"][0]["field"] == ["input", "file"]
    assert result["applied"] is False and result["summary"] is None
    assert await snapshot(db) == before


async def test_uploads_need_the_csrf_header(api, db, assessor, example) -> None:
    _, data = await edited_t2(api, assessor, example)
    response = await upload(api, assessor, data, dry_run=False, csrf=False)
    assert response.status_code == 403
    assert response.json()["errors"][0]["extensions"]["code"] == "CSRF_HEADER_MISSING"


async def test_a_reader_gets_forbidden_rows(api, db, token_for, example) -> None:
    reader = await token_for("reader@example.test", OrgRole.READER)
    sheet, data = await edited_t2(api, reader, example)
    before = await snapshot(db)
    result = await imported(api, reader, data, dry_run=False)
    assert result["applied"] is False
    assert [(e["row"], e["code"]) for e in result["rowErrors"]] == sorted(
        [(sheet.number("T2"), "FORBIDDEN"), (sheet.number("N1@G2"), "FORBIDDEN")]
    )
    assert await snapshot(db) == before


async def test_a_contributor_may_not_change_test_fields(api, db, token_for, example) -> None:
    contributor = await token_for("contributor@example.test", OrgRole.CONTRIBUTOR)
    sheet, data = await edited_t2(api, contributor, example)
    result = await imported(api, contributor, data)
    assert [(e["row"], e["column"], e["code"]) for e in result["rowErrors"]] == [
        (sheet.number("T2"), "Implementation status", "FORBIDDEN")
    ]
    assert result["summary"]["actionsChanged"] == 1  # N1's notes are within their rights


async def test_a_scoped_user_cannot_reach_other_actions(api, db, token_for, example) -> None:
    """Rows for actions outside the user's grants read as unknown ids, not as forbidden."""
    owner_token = await token_for("boss@example.test", OrgRole.OWNER)
    sheet = Sheet(await download(api, owner_token), example)
    sheet.set("T1", Additional_notes="Seen from A1 only")
    auditor = await token_for(
        "auditor@example.test", None, assessment_id=example.a2.id, grant_role=OrgRole.ASSESSOR
    )
    result = await imported(api, auditor, sheet.save())
    assert [(e["row"], e["column"], e["code"]) for e in result["rowErrors"]] == sorted(
        (sheet.number(name), "Action ID", "UNKNOWN_ID") for name in ("T1", "N1@G2", "P1")
    )


# -- tolerances -----------------------------------------------------------------------------------


async def test_what_spreadsheet_programs_do_is_tolerated(api, db, assessor, example) -> None:
    sheet = Sheet(await download(api, assessor), example)
    sheet.set(
        "T2",
        Implementation_status=" implemented ",  # trailing spaces, any case
        Implementation_date="2026-01-10",  # a date typed as text
        Test_status="passed",
        Test_date=(EARLIER - date(1899, 12, 30)).days,  # an Excel serial number
    )
    sheet.set("N1@G2", Implementation_notes="Drafted.  ")
    keep = ["Action ID", *[h for h in sheet.header if h not in _READ_ONLY]]
    # Read-only columns left out, the rest reversed, headers in odd case and spacing.
    for header in list(sheet.header):
        if header not in keep:
            _drop_column(sheet, header)
    order = list(reversed(range(len(sheet.header))))
    sheet.header = [f"  {sheet.header[i].upper()} " for i in order]
    sheet.rows = [[row[i] for i in order] for row in sheet.rows]
    result = await imported(api, assessor, sheet.save(title="My copy", extra_rows=3))
    assert result["rowErrors"] == []
    assert result["summary"]["actionsChanged"] == 2
    assert result["summary"]["overallAfter"] == score(40, 43)
    result = await imported(api, assessor, sheet.save(title="My copy", extra_rows=3), dry_run=False)
    assert result["applied"] is True
    async with db.sessions() as session:
        t2 = await session.get(ImprovementAction, example.actions["T2"].id)
        n1 = await session.get(ImprovementAction, example.actions["N1@G2"].id)
    assert (t2.implementation_date, t2.test_date) == (EARLIER, EARLIER)
    assert n1.implementation_notes == "Drafted."


async def test_a_1904_dated_workbook_is_read_in_its_own_date_system(
    api, db, assessor, example
) -> None:
    sheet = Sheet(await download(api, assessor), example)
    sheet.set(
        "T2",
        Implementation_status="IMPLEMENTED",
        Implementation_date=EARLIER,  # a date cell, stored as a 1904 serial
        Test_status="PASSED",
        Test_date=(EARLIER - date(1904, 1, 1)).days,  # a bare serial, counted from 1904
    )
    data = sheet.save(epoch=CALENDAR_MAC_1904)
    result = await imported(api, assessor, data, dry_run=False)
    assert result["rowErrors"] == []
    assert result["applied"] is True
    async with db.sessions() as session:
        t2 = await session.get(ImprovementAction, example.actions["T2"].id)
    assert (t2.implementation_date, t2.test_date) == (EARLIER, EARLIER)


_READ_ONLY = {
    "Key",
    "Title",
    "Owner",
    "Implementation type",
    "Category",
    "Solution",
    "Points",
    "Points earned",
    "Assessments",
    "Regulation",
    "Group",
    "Version",
    "Updated at",
}


# -- the command line -----------------------------------------------------------------------------


async def test_export_and_import_from_the_command_line(db, uow, owner, example, tmp_path) -> None:
    async with uow() as u:
        from cmgraph.domain.accounts import create_user

        await create_user(u, "ann@example.test", "Ann", OrgRole.ASSESSOR)
    env = {"CMGRAPH_DATABASE_URL": db.url}

    def cli(*args: str) -> Any:
        return CliRunner().invoke(app, list(args), env=env)

    out = tmp_path / "actions.xlsx"
    exported = await asyncio.to_thread(
        cli,
        "export",
        "actions",
        "--as",
        "ann@example.test",
        "--out",
        str(out),
        "--assessment",
        "A2",
    )
    assert exported.exit_code == 0, exported.output
    sheet = Sheet(out.read_bytes(), example)
    assert {sheet.ids[r[0]] for r in sheet.rows} == {"T2", "N1@G1"}
    sheet.set("T2", Implementation_status="PLANNED")
    edited = tmp_path / "edited.xlsx"
    edited.write_bytes(sheet.save())

    dry = await asyncio.to_thread(cli, "import", "actions", str(edited), "--as", "ann@example.test")
    assert dry.exit_code == 0, dry.output
    assert "1 of 2 rows change their action (dry run, nothing applied)" in dry.output
    applied = await asyncio.to_thread(
        cli, "import", "actions", str(edited), "--as", "ann@example.test", "--apply"
    )
    assert applied.exit_code == 0, applied.output
    assert "(applied)" in applied.output
    async with db.sessions() as session:
        t2 = await session.get(ImprovementAction, example.actions["T2"].id)
    assert t2.implementation_status.value == "PLANNED"

    sheet.set("T2", Test_date="someday")
    edited.write_bytes(sheet.save())
    refused = await asyncio.to_thread(
        cli, "import", "actions", str(edited), "--as", "ann@example.test", "--apply"
    )
    assert refused.exit_code == 1
    assert f"row {sheet.number('T2')}, Test date: BAD_DATE:" in refused.output


async def test_due_dates_go_out_and_come_back_in(api, db, assessor, example) -> None:
    due = clock.today() + timedelta(days=10)
    sheet = Sheet(await download(api, assessor), example)
    assert sheet.row("T2")[sheet.header.index("Due date")] is None
    sheet.set("T2", Due_date=datetime(due.year, due.month, due.day))
    result = await imported(api, assessor, sheet.save(), dry_run=False)
    assert result["applied"] is True, result["rowErrors"]
    async with db.sessions() as session:
        t2 = await session.get(ImprovementAction, example.actions["T2"].id)
        history = list(
            await session.scalars(
                select(HistoryEntry).where(
                    HistoryEntry.action_id == t2.id, HistoryEntry.field == "due_date"
                )
            )
        )
    assert t2.due_date == due
    assert [(h.new_value, h.source) for h in history] == [(due.isoformat(), ChangeSource.IMPORT)]
    exported = Sheet(await download(api, assessor), example).row("T2")
    assert exported[sheet.header.index("Due date")].date() == due

    # A sheet from before the column existed leaves due dates alone.
    old = Sheet(await download(api, assessor), example)
    column = old.header.index("Due date")
    old.header.pop(column)
    for row in old.rows:
        row.pop(column)
    old.set("T2", Additional_notes="Still due.")
    result = await imported(api, assessor, old.save(), dry_run=False)
    assert result["applied"] is True, result["rowErrors"]
    async with db.sessions() as session:
        t2 = await session.get(ImprovementAction, example.actions["T2"].id)
    assert (t2.due_date, t2.additional_notes) == (due, "Still due.")

    # A typo of a year is a row error on the column, and nothing is applied.
    bad = Sheet(await download(api, assessor), example).set("T2", Due_date="2126-01-01")
    result = await imported(api, assessor, bad.save(), dry_run=False)
    assert result["applied"] is False
    assert [(e["column"], e["code"]) for e in result["rowErrors"]] == [("Due date", "INVALID")]


async def test_only_an_applied_sheet_refreshes_the_actions_statistics(
    api, assessor, example, monkeypatch
) -> None:
    """The planner's statistics of the actions and their history follow an applied bulk
    update (``adapters.statistics``); a dry run commits nothing and refreshes nothing."""
    refreshed: list[set[str]] = []

    async def record(engine: Any, tables: Any) -> None:
        refreshed.append(set(tables))

    monkeypatch.setattr(statistics, "refresh_statistics", record)
    _, data = await edited_t2(api, assessor, example)
    assert (await imported(api, assessor, data))["applied"] is False
    assert refreshed == []
    assert (await imported(api, assessor, data, dry_run=False))["applied"] is True
    assert refreshed == [{"improvement_action", "action_history"}]
