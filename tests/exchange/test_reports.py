"""Report exports as a user gets them: a link from GraphQL, a GET, a workbook to open.

The assessment report, an action's testing history and a user's history, checked against
what the API says about the same data (DOMAIN.md sections 4.7, 7, 9 and 13).
"""

from __future__ import annotations

import asyncio
import io
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import openpyxl
import pytest
from openpyxl.worksheet.worksheet import Worksheet
from strawberry.relay import to_base64
from typer.testing import CliRunner

from cmgraph.cli import app
from cmgraph.config import Settings
from cmgraph.domain import accounts
from cmgraph.domain.assessments import archive_assessment
from cmgraph.domain.assignment import assign_actions
from cmgraph.domain.enums import OrgRole, TestStatus
from cmgraph.domain.evidence import add_evidence_link
from cmgraph.domain.models import User
from cmgraph.domain.permissions import Principal
from cmgraph.domain.workflow import change_action
from cmgraph.exchange.downloads import export_link
from tests.builders import DAY, WorkedExample, worked_example
from tests.conftest import Api, oscal_file
from tests.databases import Database
from tests.report_data import build_report_assessment, count_statements

CSRF = {"X-CMGraph-CSRF": "1"}
LINK_URL = "https://evidence.example.test/mfa-policy"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings.from_env({}, data_dir=tmp_path / "data", public_url="http://cmgraph.test")


@dataclass
class World:
    example: WorkedExample
    owner_token: str
    rita_id: int  # contributor on A2 only
    rita_token: str
    sam_token: str  # organisation reader


@pytest.fixture
async def world(uow, owner: Principal, token_for) -> World:
    async with uow() as u:
        example = await worked_example(u, owner)
        owner_user = await u.session.get(User, owner.user_id)
        owner_token = (await accounts.create_token(u, owner_user, "test")).secret
    rita_token = await token_for(
        "rita@example.test", None, assessment_id=example.a2.id, grant_role=OrgRole.CONTRIBUTOR
    )
    sam_token = await token_for("sam@example.test", OrgRole.READER)
    async with uow() as u:
        rita = await accounts.user_by_email(u, "rita@example.test")
        rita_principal = await accounts.principal_for(u, rita)
        n1 = example.actions["N1@G1"].id
        await assign_actions(u, owner, [n1], rita.id, notes="Write it down", notify=False)
        await add_evidence_link(u, rita_principal, n1, "Policy", LINK_URL)
        await add_evidence_link(u, owner, example.actions["T1"].id, "MFA policy", LINK_URL)
        return World(example, owner_token, rita.id, rita_token, sam_token)


async def download(api: Api, url: str) -> openpyxl.Workbook:
    response = await fetch(api, url)
    assert response.status_code == 200, response.text
    assert response.headers["content-disposition"].startswith("attachment;")
    return openpyxl.load_workbook(io.BytesIO(response.content))


async def fetch(api: Api, url: str) -> Any:
    """Follow a link as a browser would: no Authorization header, just the signed URL."""
    parts = urlsplit(url)
    return await api.client.get(f"{parts.path}?{parts.query}")


def rows(sheet: Worksheet) -> list[dict[str, Any]]:
    """The data rows of a sheet, by header."""
    values = list(sheet.iter_rows(values_only=True))
    return [dict(zip(values[0], row, strict=True)) for row in values[1:]]


def fields(sheet: Worksheet) -> dict[str, Any]:
    return {row["Field"]: row["Value"] for row in rows(sheet)}


def assert_opens_cleanly(sheet: Worksheet) -> None:
    """Bold header, frozen below it, every column given a width."""
    header = next(sheet.iter_rows(max_row=1))
    assert all(cell.font.bold for cell in header)
    assert sheet.freeze_panes == "A2"
    for cell in header:
        assert sheet.column_dimensions[cell.column_letter].customWidth


def gid(kind: str, row_id: int) -> str:
    return to_base64(kind, row_id)


ASSESSMENT = """
query ($id: ID!) { node(id: $id) { ... on Assessment {
  name archived status progress score { earned possible percent } templateVersion
  group { name } template { title } regulation { name }
  controls { key family title status score { earned possible } actions { key } }
  reportExport { url expiresAt }
} } }
"""


async def assessment(api: Api, assessment_id: int, token: str) -> dict[str, Any]:
    data = await api.query(ASSESSMENT, {"id": gid("Assessment", assessment_id)}, token=token)
    return data["node"]


# -- assessment report ------------------------------------------------------------------------


async def test_the_report_matches_the_api(api: Api, world: World) -> None:
    a1 = await assessment(api, world.example.a1.id, world.owner_token)
    book = await download(api, a1["reportExport"]["url"])

    assert book.sheetnames == [
        "Summary",
        "Controls",
        "Customer actions",
        "Provider actions",
        "Evidence",
    ]
    for sheet in book.worksheets:
        assert_opens_cleanly(sheet)

    summary = fields(book["Summary"])
    assert summary["Assessment"] == "A1" == a1["name"]
    assert summary["Template"] == a1["template"]["title"]
    assert summary["Template version"] == a1["templateVersion"] == 1
    assert summary["Regulation"] == a1["regulation"]["name"] == "Regulation X"
    assert summary["Group"] == a1["group"]["name"] == "G1"
    assert summary["Status"] == a1["status"] == "COMPLETE"
    assert summary["Progress"] == a1["progress"] == 1
    score = a1["score"]
    assert (summary["Points earned"], summary["Points possible"]) == (39, 39)
    assert (score["earned"], score["possible"]) == (39, 39)
    assert summary["Score"] == pytest.approx(score["percent"] / 100)
    # T1 (27) and N1 (3) are the customer's, P1 (9) the provider's.
    assert (summary["Customer points earned"], summary["Customer points possible"]) == (30, 30)
    assert (summary["Provider points earned"], summary["Provider points possible"]) == (9, 9)
    assert (summary["Controls"], summary["Controls PASSED"], summary["Controls FAILED"]) == (
        2,
        2,
        0,
    )
    assert summary["Pending update"] == "no"
    assert summary["Archived at (UTC)"] is None
    assert summary["Exported by"] == "Olivia Owner <owner@example.test>"
    assert isinstance(summary["Exported at (UTC)"], datetime)
    assert book["Summary"]["B8"].number_format.endswith("%")  # progress reads as a percentage

    controls = rows(book["Controls"])
    assert [
        (
            c["Control"],
            c["Family"],
            c["Title"],
            c["Status"],
            c["Points earned"],
            c["Points possible"],
        )
        for c in controls
    ] == [
        (
            c["key"],
            c["family"],
            c["title"],
            c["status"],
            c["score"]["earned"],
            c["score"]["possible"],
        )
        for c in a1["controls"]
    ]
    assert [c["Actions"] for c in controls] == [len(c["actions"]) for c in a1["controls"]]

    customer = rows(book["Customer actions"])
    # T1 satisfies C1 and C2 and is one row: it counts once.
    assert [(a["Action key"], a["Controls"]) for a in customer] == [
        ("we:n1", "C1"),
        ("we:t1", "C1, C2"),
    ]
    t1 = customer[1]
    assert (t1["Points"], t1["Earned"], t1["Possible"]) == (27, 27, 27)
    assert (t1["Implementation status"], t1["Test status"]) == ("IMPLEMENTED", "PASSED")
    assert (
        t1["Implementation date"] == t1["Test date"] == datetime.combine(DAY, datetime.min.time())
    )
    assert book["Customer actions"]["K3"].is_date  # implementation date of T1
    assert (t1["Category"], t1["Solution"], t1["Evidence"]) == ("Control access", "Identity", 1)
    assert rows(book["Customer actions"])[0]["Assigned to"] == "rita@example.test"
    assert sum(a["Earned"] for a in customer) == summary["Customer points earned"]
    provider = rows(book["Provider actions"])
    assert [(a["Action key"], a["Earned"], a["Testing source"]) for a in provider] == [
        ("we:p1", 9, "MANUAL")
    ]

    evidence = rows(book["Evidence"])
    assert [(e["Action key"], e["Kind"], e["Name"], e["URL"]) for e in evidence] == [
        ("we:n1", "LINK", "Policy", LINK_URL),
        ("we:t1", "LINK", "MFA policy", LINK_URL),
    ]
    assert evidence[0]["Uploaded by"] == "rita <rita@example.test>"
    assert isinstance(evidence[0]["Uploaded at (UTC)"], datetime)


async def test_a2_scores_three_of_four(api: Api, world: World) -> None:
    a2 = await assessment(api, world.example.a2.id, world.owner_token)
    summary = fields((await download(api, a2["reportExport"]["url"]))["Summary"])
    assert (summary["Points earned"], summary["Points possible"]) == (3, 4)
    assert summary["Score"] == pytest.approx(0.75)
    assert (summary["Customer points earned"], summary["Customer points possible"]) == (3, 4)
    assert (summary["Provider points earned"], summary["Provider points possible"]) == (0, 0)
    assert summary["Status"] == a2["status"] == "IN_PROGRESS"
    assert summary["Progress"] == a2["progress"] == 0


async def test_documents_are_listed_with_size_digest_and_download_path(
    api: Api, world: World
) -> None:
    content = b"Access reviews happen every quarter.\n"
    uploaded = await api.client.post(
        "/evidence/upload",
        data={"actionId": gid("ImprovementAction", world.example.actions["T2"].id)},
        files={"file": ("reviews.txt", content, "text/plain")},
        headers={**CSRF, "Authorization": f"Bearer {world.rita_token}"},
    )
    assert uploaded.status_code == 201, uploaded.text
    document = uploaded.json()["evidence"]

    a2 = await assessment(api, world.example.a2.id, world.rita_token)
    evidence = rows((await download(api, a2["reportExport"]["url"]))["Evidence"])
    row = next(e for e in evidence if e["Kind"] == "DOCUMENT")
    assert (row["Action key"], row["Name"], row["URL"]) == ("we:t2", "reviews.txt", None)
    assert (row["Size (bytes)"], row["SHA-256"]) == (document["size"], document["sha256"])
    path = f"/evidence/{quote(document['id'], safe='')}/download"
    assert row["Download link"] == f"http://cmgraph.test{path}"
    fetched = await api.client.get(path, headers={"Authorization": f"Bearer {world.owner_token}"})
    assert fetched.content == content


async def test_only_readers_of_the_assessment_get_its_report(
    api: Api, world: World, settings: Settings
) -> None:
    a2 = await assessment(api, world.example.a2.id, world.rita_token)
    assert (await fetch(api, a2["reportExport"]["url"])).status_code == 200
    # Rita cannot reach A1 through the API; a link made for her anyway is refused as unknown.
    hidden = await api.query(
        "query ($id: ID!) { node(id: $id) { id } }",
        {"id": gid("Assessment", world.example.a1.id)},
        token=world.rita_token,
    )
    assert hidden["node"] is None
    for assessment_id in (world.example.a1.id, 999_999):
        link = export_link(
            settings, "assessment-report", {"assessment_id": assessment_id}, world.rita_id
        )
        refused = await fetch(api, link.url)
        assert refused.status_code == 404
        assert refused.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"


async def test_an_archived_assessment_exports_with_its_frozen_score(
    api: Api, world: World, uow, owner: Principal
) -> None:
    async with uow() as u:
        await archive_assessment(u, owner, world.example.a1.id)
    async with uow() as u:  # after archiving, T1 fails; A1's stored score stays frozen
        await change_action(
            u, owner, world.example.actions["T1"].id, {"test_status": TestStatus.FAILED_LOW_RISK}
        )
    a1 = await assessment(api, world.example.a1.id, world.owner_token)
    assert a1["archived"] is True
    book = await download(api, a1["reportExport"]["url"])
    summary = fields(book["Summary"])
    assert (summary["Points earned"], summary["Points possible"]) == (39, 39)
    assert (a1["score"]["earned"], a1["score"]["possible"]) == (39, 39)
    assert summary["Status"] == a1["status"] == "INCOMPLETE"
    assert isinstance(summary["Archived at (UTC)"], datetime)
    assert "frozen" in summary["Note"]
    assert [c["Status"] for c in rows(book["Controls"])] == ["FAILED", "FAILED"]


async def test_a_large_report_takes_as_many_statements_as_a_small_one(
    api: Api, db: Database, owner: Principal, token_for
) -> None:
    baselines = [
        ("LOW", oscal_file("NIST_SP-800-53_rev5_LOW-baseline-resolved-profile_catalog-min.json")),
        ("HIGH", oscal_file("NIST_SP-800-53_rev5_HIGH-baseline-resolved-profile_catalog-min.json")),
    ]
    token = await token_for("reader@example.test", OrgRole.READER)
    counts = []
    for label, path in baselines:
        assessment_id = await build_report_assessment(
            db.sessions, owner, path, name=label, group=label, states_every=4, evidence_every=2
        )
        shown = await assessment(api, assessment_id, token)
        with count_statements(db.engine) as statements:
            book = await download(api, shown["reportExport"]["url"])
        counts.append(len(statements))

        summary = fields(book["Summary"])
        assert (summary["Points earned"], summary["Points possible"]) == (
            shown["score"]["earned"],
            shown["score"]["possible"],
        )
        assert summary["Status"] == shown["status"]
        assert summary["Progress"] == pytest.approx(shown["progress"])
        assert [(c["Control"], c["Status"]) for c in rows(book["Controls"])] == [
            (c["key"], c["status"]) for c in shown["controls"]
        ]
        actions = rows(book["Customer actions"]) + rows(book["Provider actions"])
        distinct = {a["key"] for c in shown["controls"] for a in c["actions"]}
        assert sorted(a["Action key"] for a in actions) == sorted(distinct)
        assert sum(a["Possible"] for a in actions) == summary["Points possible"]
        assert sum(a["Earned"] for a in actions) == pytest.approx(summary["Points earned"])
        assert len(rows(book["Evidence"])) == sum(a["Evidence"] for a in actions) > 0
    low, high = counts
    assert low == high, f"LOW took {low} statements, HIGH {high}"


# -- testing history --------------------------------------------------------------------------

ACTION = """
query ($id: ID!) { node(id: $id) { ... on ImprovementAction {
  key history { field oldValue newValue source createdAt actor { name email } }
  testingHistoryExport { url }
} } }
"""
LABELS = {"test_status": "Test status", "test_date": "Test date", "testing_notes": "Testing notes"}


async def test_testing_history_lists_the_test_changes_of_the_api_history(
    api: Api, world: World, uow, owner: Principal, token_for
) -> None:
    t1 = world.example.actions["T1"].id
    await token_for("ada@example.test", OrgRole.ASSESSOR)
    async with uow() as u:
        ada = await accounts.principal_for(u, await accounts.user_by_email(u, "ada@example.test"))
        await change_action(
            u,
            ada,
            t1,
            {
                "test_status": TestStatus.FAILED_LOW_RISK,
                "test_date": DAY + timedelta(days=1),
                "testing_notes": "=1+1 is not a formula",
            },
        )
    data = await api.query(ACTION, {"id": gid("ImprovementAction", t1)}, token=world.sam_token)
    expected = [h for h in data["node"]["history"] if h["field"] in LABELS]
    assert {h["field"] for h in expected} == set(LABELS)

    book = await download(api, data["node"]["testingHistoryExport"]["url"])
    assert book.sheetnames == ["Testing history"]
    sheet = book["Testing history"]
    assert_opens_cleanly(sheet)
    got = rows(sheet)
    assert [(r["Field"], r["Old value"], r["New value"], r["Source"]) for r in got] == [
        (LABELS[h["field"]], h["oldValue"] or None, h["newValue"] or None, h["source"])
        for h in expected
    ]  # newest first, like the API; an empty value is an empty cell
    assert [r["Who"] for r in got] == [
        f"{h['actor']['name']} <{h['actor']['email']}>" for h in expected
    ]
    for row, entry in zip(got, expected, strict=True):
        when = datetime.fromisoformat(entry["createdAt"]).replace(tzinfo=None)
        assert abs(row["When (UTC)"] - when) < timedelta(seconds=1)
    assert sheet["A2"].is_date
    assert got[0]["New value"] == "=1+1 is not a formula"  # text, never a formula


async def test_testing_history_needs_a_readable_action(
    api: Api, world: World, settings: Settings
) -> None:
    t1 = world.example.actions["T1"].id  # in A1 and A3, which Rita cannot read
    for action_id in (t1, 999_999):
        link = export_link(settings, "testing-history", {"action_id": action_id}, world.rita_id)
        assert (await fetch(api, link.url)).status_code == 404
    n1 = world.example.actions["N1@G1"].id
    link = export_link(settings, "testing-history", {"action_id": n1}, world.rita_id)
    assert (await fetch(api, link.url)).status_code == 200


# -- user history -----------------------------------------------------------------------------

USER_LINK = "query ($id: ID!) { node(id: $id) { ... on User { historyExport { url } } } }"


async def test_user_history_for_an_owner_and_for_the_user(api: Api, world: World) -> None:
    as_owner = await api.query(
        USER_LINK, {"id": gid("User", world.rita_id)}, token=world.owner_token
    )
    owner_book = await download(api, as_owner["node"]["historyExport"]["url"])
    assert owner_book.sheetnames == ["Assigned actions", "Assignment history", "Uploaded evidence"]
    for sheet in owner_book.worksheets:
        assert_opens_cleanly(sheet)

    assigned = rows(owner_book["Assigned actions"])
    assert [(a["Action key"], a["Group"], a["Assessments"]) for a in assigned] == [
        ("we:n1", "G1", "A1, A2")
    ]
    assert (assigned[0]["Test status"], assigned[0]["Assignment notes"]) == (
        "PASSED",
        "Write it down",
    )
    assert owner_book["Assigned actions"]["H2"].is_date  # test date
    history = rows(owner_book["Assignment history"])
    assert [(h["Action key"], h["From"], h["To"], h["Source"]) for h in history] == [
        ("we:n1", None, "rita@example.test", "USER")
    ]
    assert history[0]["Changed by"] == "Olivia Owner <owner@example.test>"
    uploaded = rows(owner_book["Uploaded evidence"])
    assert [(e["Action key"], e["Kind"], e["Name"], e["URL"]) for e in uploaded] == [
        ("we:n1", "LINK", "Policy", LINK_URL)
    ]
    assert isinstance(uploaded[0]["Uploaded at (UTC)"], datetime)

    # Rita reads A2 only: her own export names only what she can read.
    as_self = await api.query(
        "{ viewer { user { historyExport { url } } } }", token=world.rita_token
    )
    own_book = await download(api, as_self["viewer"]["user"]["historyExport"]["url"])
    own = rows(own_book["Assigned actions"])
    assert [(a["Action key"], a["Assessments"]) for a in own] == [("we:n1", "A2")]
    assert len(rows(own_book["Uploaded evidence"])) == 1


async def test_other_users_get_no_user_history(
    api: Api, world: World, settings: Settings, owner: Principal
) -> None:
    # Sam, an organisation reader, may look Rita up, but her history is not his to export.
    as_sam = await api.query(USER_LINK, {"id": gid("User", world.rita_id)}, token=world.sam_token)
    refused = await fetch(api, as_sam["node"]["historyExport"]["url"])
    assert refused.status_code == 404
    assert refused.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    link = export_link(settings, "user-history", {"user_id": owner.user_id}, world.rita_id)
    assert (await fetch(api, link.url)).status_code == 404
    unknown = export_link(settings, "user-history", {"user_id": 999_999}, owner.user_id)
    assert (await fetch(api, unknown.url)).status_code == 404


# -- command line -----------------------------------------------------------------------------


async def test_the_cli_writes_a_report_and_a_testing_history(
    db: Database, world: World, tmp_path: Path
) -> None:
    def cli(*args: str) -> Any:
        return CliRunner().invoke(app, list(args), env={"CMGRAPH_DATABASE_URL": db.url})

    async def run(*args: str) -> Any:
        return await asyncio.to_thread(cli, *args)  # the CLI runs its own event loop

    report = tmp_path / "a1.xlsx"
    result = await run("export", "report", "A1", "--as", "owner@example.test", "--out", str(report))
    assert result.exit_code == 0, result.output
    assert f"wrote {report}" in result.output
    summary = fields(openpyxl.load_workbook(report)["Summary"])
    assert (summary["Points earned"], summary["Points possible"]) == (39, 39)

    refused = await run("export", "report", "A1", "--as", "rita@example.test", "--out", str(report))
    assert refused.exit_code == 1 and "not found" in refused.output

    # N1 is kept per group: its key alone is ambiguous, an assessment or group settles it.
    history = tmp_path / "n1.xlsx"
    ambiguous = await run("export", "testing-history", "we:n1", "--as", "owner@example.test")
    assert ambiguous.exit_code == 1 and "per group" in ambiguous.output
    for how in (["--assessment", "A3"], ["--group", "G2"]):
        args = ["export", "testing-history", "we:n1", *how, "--as", "owner@example.test"]
        done = await run(*args, "--out", str(history))
        assert done.exit_code == 0, done.output
        assert rows(openpyxl.load_workbook(history)["Testing history"]) == []  # untested in G2
    by_id = gid("ImprovementAction", world.example.actions["N1@G1"].id)
    done = await run(
        "export", "testing-history", by_id, "--as", "owner@example.test", "--out", str(history)
    )
    assert done.exit_code == 0, done.output
    written = rows(openpyxl.load_workbook(history)["Testing history"])
    assert sorted((r["Field"], r["New value"]) for r in written) == [
        ("Test date", DAY.isoformat()),
        ("Test status", "PASSED"),
    ]


async def test_an_inheriting_action_lists_its_parents_evidence(
    api: Api, world: World, uow, owner: Principal
) -> None:
    """DOMAIN.md 5: a PARENT action sees its parent's evidence; only readers of the parent do."""
    from cmgraph.domain.enums import TestingSource
    from cmgraph.domain.testing_sources import set_testing_source

    async with uow() as u:
        await set_testing_source(
            u,
            owner,
            world.example.actions["T2"].id,
            TestingSource.PARENT,
            parent_id=world.example.actions["T1"].id,
        )
    a2 = await assessment(api, world.example.a2.id, world.owner_token)
    evidence = rows((await download(api, a2["reportExport"]["url"]))["Evidence"])
    inherited = [e for e in evidence if e["Inherited from"]]
    assert [(e["Action key"], e["Inherited from"], e["Name"]) for e in inherited] == [
        ("we:t2", "we:t1", "MFA policy")
    ]
    # Rita reads A2 but not T1's assessments: the parent's evidence is not hers to see.
    a2 = await assessment(api, world.example.a2.id, world.rita_token)
    evidence = rows((await download(api, a2["reportExport"]["url"]))["Evidence"])
    assert [e for e in evidence if e["Inherited from"]] == []
