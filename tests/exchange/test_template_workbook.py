"""Template workbooks as an administrator meets them: upload, re-upload, download, refusals."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select
from strawberry.relay import to_base64
from typer.testing import CliRunner

from cmgraph.cli import app
from cmgraph.domain import accounts
from cmgraph.domain.enums import OrgRole
from cmgraph.domain.models import ActionDefinitionVersion, Template, TemplateVersion
from cmgraph.domain.starter import starter_template
from cmgraph.domain.templates import import_template
from cmgraph.exchange import template_workbook
from cmgraph.exchange.downloads import XLSX, export_link
from cmgraph.exchange.oscal_catalog import import_catalog
from tests.conftest import oscal_file

IMPORT = """mutation($input: ImportTemplateWorkbookInput!) {
  importTemplateWorkbook(input: $input) {
    template { id key title product certification services description version regulation { name } }
    templateCreated versionCreated version actionsPendingUpdate assessmentsPendingUpdate
    rowErrors { sheet row column code message }
    userErrors { field code message }
  }
}"""

CREATE_ASSESSMENT = """mutation($input: CreateAssessmentInput!) {
  createAssessment(input: $input) { assessment { id } userErrors { code message } }
}"""

ASSESSMENT = """query($id: ID!) {
  node(id: $id) { ... on Assessment {
    templateVersion pendingUpdate
    controls { key family title description actions {
      key title implementationType points guidance purpose enforcement owner category solution
      testingLogic automaticTestingAvailable pendingUpdate
    } }
  } }
}"""

TEMPLATE_HEADER = ["Title", "Product", "Certification", "Services", "Regulation", "Description"]
CONTROL_HEADER = ["Control name", "Family", "Title", "Description", "Action titles"]
ACTION_HEADER = [
    "Title",
    "Implementation type",
    "Points",
    "Description title",
    "Description",
    "Action purpose",
    "Enforcement",
    "Owner",
    "Category",
    "Solution",
    "Testing logic",
    "Automatic testing",
]

Sheets = dict[str, list[list[Any]]]


def sheets() -> Sheets:
    """A small template as a person would type it (header rows first)."""
    return {
        "Template": [
            [*TEMPLATE_HEADER],
            ["Cloud Security Rules", "Cloud platform", "CSR 2026", "Storage; Mail", None, "Ours."],
        ],
        "ControlFamily": [
            [*CONTROL_HEADER],
            ["CSR-1", "Access", "Admins use MFA", "Admin accounts.", "Enforce MFA;;Review admins"],
            ["CSR-2", "Logging", "Logs are kept", None, "Keep logs ;; Enforce MFA"],
        ],
        "Actions": [
            [*ACTION_HEADER],
            [
                "Enforce MFA",
                "Technical",
                None,
                "Why",
                "Turn on MFA for admins.",
                "Preventative",
                "Mandatory",
                "Customer",
                "Control access",
                "Identity",
                "Check the policy.",
                "yes",
            ],
            [
                "Review admins",
                "operational",
                12,
                None,
                "Quarterly review.",
                "Detective",
                "Discretionary",
                None,
                "Control access",
                None,
                None,
                None,
            ],
            [
                "Keep logs",
                "DOCUMENTATION",
                None,
                None,
                "Keep logs a year.",
                None,
                None,
                "Provider",
                "Discover and respond",
                "Audit",
                None,
                "no",
            ],
        ],
        "Dimensions": [
            ["Dimension", "Value"],
            ["Category", "Control access"],
            ["Category", "Discover and respond"],
            ["Action purpose", "Preventative"],
            ["Action purpose", "Detective"],
        ],
    }


def xlsx(data: Sheets) -> bytes:
    workbook = Workbook()
    workbook.remove(workbook.active)
    for name, rows in data.items():
        worksheet = workbook.create_sheet(name)
        for row in rows:
            worksheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


async def upload(api, token: str, data: bytes, name: str = "rules.xlsx") -> dict[str, Any]:
    operations = {"query": IMPORT, "variables": {"input": {"file": None}}}
    response = await api.client.post(
        "/graphql",
        files={
            "operations": (None, json.dumps(operations)),
            "map": (None, json.dumps({"0": ["variables.input.file"]})),
            "0": (name, data, XLSX),
        },
        headers={"Authorization": f"Bearer {token}", "X-CMGraph-CSRF": "1"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body["errors"]
    return body["data"]["importTemplateWorkbook"]


@pytest.fixture
async def admin(token_for) -> str:
    return await token_for("admin@example.test", OrgRole.ADMINISTRATOR)


async def create_assessment(api, token: str, template_id: str, name: str) -> str:
    data = await api.query(
        CREATE_ASSESSMENT,
        {"input": {"templateId": template_id, "name": name, "newGroupName": name}},
        token=token,
    )
    assert data["createAssessment"]["userErrors"] == []
    return data["createAssessment"]["assessment"]["id"]


async def assessment(api, token: str, assessment_id: str) -> dict[str, Any]:
    return (await api.query(ASSESSMENT, {"id": assessment_id}, token=token))["node"]


async def download(api, link: dict[str, Any]) -> bytes:
    url = urlsplit(link["url"])
    response = await api.client.get(f"{url.path}?{url.query}")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(XLSX)
    return response.content


async def export_of(api, token: str, template_id: str) -> bytes:
    data = await api.query(
        "query($id: ID!) { node(id: $id) { ... on Template { workbookExport { url } } } }",
        {"id": template_id},
        token=token,
    )
    return await download(api, data["node"]["workbookExport"])


async def count(db, model: type) -> int:
    async with db.sessions() as session:
        return await session.scalar(select(func.count()).select_from(model))


# --- importing ---------------------------------------------------------------------------------


async def test_a_workbook_becomes_a_template_with_its_controls_and_actions(api, admin) -> None:
    result = await upload(api, admin, xlsx(sheets()))
    assert result["userErrors"] == [] and result["rowErrors"] == []
    assert (result["templateCreated"], result["versionCreated"], result["version"]) == (
        True,
        True,
        1,
    )
    template = result["template"]
    assert template["key"] == "cloud-security-rules"
    assert (template["title"], template["product"], template["certification"]) == (
        "Cloud Security Rules",
        "Cloud platform",
        "CSR 2026",
    )
    assert (template["description"], template["services"]) == ("Ours.", "Storage; Mail")
    assert template["regulation"]["name"] == "CSR 2026"  # no Regulation cell: the certification

    found = await assessment(api, admin, await create_assessment(api, admin, template["id"], "C"))
    controls = {c["key"]: c for c in found["controls"]}
    assert [c["key"] for c in found["controls"]] == ["CSR-1", "CSR-2"]
    assert (controls["CSR-1"]["family"], controls["CSR-1"]["title"]) == ("Access", "Admins use MFA")
    assert controls["CSR-1"]["description"] == "Admin accounts."
    assert controls["CSR-2"]["description"] == ""
    assert sorted(a["title"] for a in controls["CSR-1"]["actions"]) == [
        "Enforce MFA",
        "Review admins",
    ]
    assert sorted(a["title"] for a in controls["CSR-2"]["actions"]) == ["Enforce MFA", "Keep logs"]
    actions = {a["title"]: a for c in found["controls"] for a in c["actions"]}
    mfa, review, logs = actions["Enforce MFA"], actions["Review admins"], actions["Keep logs"]
    assert mfa == {
        **mfa,
        "key": "cloud-security-rules:enforce-mfa",
        "implementationType": "TECHNICAL",
        "points": 27,  # default table: technical preventative mandatory
        "guidance": "Why\n\nTurn on MFA for admins.",
        "purpose": "PREVENTATIVE",
        "enforcement": "MANDATORY",
        "owner": "CUSTOMER",
        "category": "Control access",
        "solution": "Identity",
        "testingLogic": "Check the policy.",
        "automaticTestingAvailable": True,
    }
    assert (review["implementationType"], review["points"], review["purpose"]) == (
        "OPERATIONAL",
        12,
        "DETECTIVE",
    )
    assert (review["enforcement"], review["owner"], review["solution"]) == (
        "DISCRETIONARY",
        "CUSTOMER",
        "",
    )
    assert (logs["owner"], logs["purpose"], logs["enforcement"]) == (
        "PROVIDER",
        "PREVENTATIVE",
        "MANDATORY",
    )
    assert logs["automaticTestingAvailable"] is False


async def test_reimporting_a_title_makes_a_new_version_and_pending_updates(api, admin) -> None:
    first = await upload(api, admin, xlsx(sheets()))
    template_id = first["template"]["id"]
    assessment_id = await create_assessment(api, admin, template_id, "Cloud")

    edited = sheets()
    edited["Template"][1][4] = "Cloud Rules"  # a named regulation now
    edited["Actions"][2][4] = "Monthly review."  # Review admins: new description
    edited["ControlFamily"].append(["CSR-3", "Logging", "Logs are read", None, "Keep logs"])
    second = await upload(api, admin, xlsx(edited), "rules-v2.xlsx")
    assert second["rowErrors"] == [] and second["userErrors"] == []
    assert second["template"]["id"] == template_id
    assert (second["templateCreated"], second["versionCreated"], second["version"]) == (
        False,
        True,
        2,
    )
    assert (second["actionsPendingUpdate"], second["assessmentsPendingUpdate"]) == (1, 1)
    assert second["template"]["regulation"]["name"] == "Cloud Rules"

    found = await assessment(api, admin, assessment_id)
    assert (found["templateVersion"], found["pendingUpdate"]) == (1, True)
    pending = {a["title"]: a["pendingUpdate"] for c in found["controls"] for a in c["actions"]}
    assert pending == {"Enforce MFA": False, "Review admins": True, "Keep logs": False}

    again = await upload(api, admin, xlsx(edited), "rules-v2.xlsx")
    assert (again["templateCreated"], again["versionCreated"], again["version"]) == (
        False,
        False,
        2,
    )
    assert (again["actionsPendingUpdate"], again["assessmentsPendingUpdate"]) == (0, 0)


# --- exporting and importing back --------------------------------------------------------------


async def test_the_export_opens_in_a_spreadsheet_and_imports_back_unchanged(api, admin) -> None:
    data = sheets()
    data["Template"][0].append("Key")
    data["Template"][1].append("csr")
    imported = await upload(api, admin, xlsx(data))
    template_id = imported["template"]["id"]

    content = await export_of(api, admin, template_id)
    workbook = load_workbook(io.BytesIO(content))
    assert workbook.sheetnames == ["Template", "ControlFamily", "Actions", "Dimensions"]
    for worksheet in workbook.worksheets:
        assert worksheet.freeze_panes == "A2"
        assert all(c.font.bold for c in worksheet[1])
    rows = {ws.title: [list(r) for r in ws.iter_rows(values_only=True)] for ws in workbook}
    assert rows["Template"] == [
        [*TEMPLATE_HEADER, "Key"],
        [
            "Cloud Security Rules",
            "Cloud platform",
            "CSR 2026",
            "Storage; Mail",
            "CSR 2026",
            "Ours.",
            "csr",
        ],
    ]
    assert rows["ControlFamily"] == [
        CONTROL_HEADER,
        ["CSR-1", "Access", "Admins use MFA", "Admin accounts.", "Enforce MFA;;Review admins"],
        ["CSR-2", "Logging", "Logs are kept", None, "Enforce MFA;;Keep logs"],
    ]
    assert rows["Actions"][0] == [
        *ACTION_HEADER,
        "Key",
        "Retest every (days)",
        "Provider implementation status",
        "Provider implementation date",
        "Provider implementation notes",
        "Provider test status",
        "Provider test date",
        "Provider testing notes",
    ]
    assert rows["Actions"][1] == [
        "Enforce MFA",
        "TECHNICAL",
        None,
        None,
        "Why\n\nTurn on MFA for admins.",
        "PREVENTATIVE",
        "MANDATORY",
        "CUSTOMER",
        "Control access",
        "Identity",
        "Check the policy.",
        "yes",
        "csr:enforce-mfa",
        *[None] * 7,  # no cadence; a customer action states no provider result
    ]
    assert [r[2] for r in rows["Actions"][1:]] == [None, 12, None]  # only custom points
    assert rows["Dimensions"] == [
        ["Dimension", "Value"],
        ["Action purpose", "DETECTIVE"],
        ["Action purpose", "PREVENTATIVE"],
        ["Enforcement", "DISCRETIONARY"],
        ["Enforcement", "MANDATORY"],
        ["Owner", "CUSTOMER"],
        ["Owner", "PROVIDER"],
        ["Category", "Control access"],
        ["Category", "Discover and respond"],
        ["Solution", "Audit"],
        ["Solution", "Identity"],
    ]

    back = await upload(api, admin, content, "csr-v1.xlsx")
    assert back["rowErrors"] == [] and back["userErrors"] == []
    assert (back["templateCreated"], back["versionCreated"], back["version"]) == (False, False, 1)


async def _round_trip(api, db, admin: str, key: str) -> None:
    """Export the template ``key`` and import the file back: nothing may change."""
    async with db.sessions() as session:
        template_id = await session.scalar(select(Template.id).where(Template.key == key))
    content = await export_of(api, admin, to_base64("Template", template_id))
    definitions = await count(db, ActionDefinitionVersion)
    back = await upload(api, admin, content, f"{key}.xlsx")
    assert back["rowErrors"] == [] and back["userErrors"] == [], back
    assert (back["templateCreated"], back["versionCreated"], back["version"]) == (False, False, 1)
    assert (back["actionsPendingUpdate"], back["assessmentsPendingUpdate"]) == (0, 0)
    assert await count(db, ActionDefinitionVersion) == definitions
    assert await count(db, TemplateVersion) == 1


async def test_the_starter_template_round_trips(api, db, uow, admin) -> None:
    async with uow() as u:
        await import_template(u, starter_template(), source="starter")
    await _round_trip(api, db, admin, starter_template().key)


async def test_an_oscal_baseline_round_trips(api, db, uow, admin) -> None:
    path = oscal_file("NIST_SP-800-53_rev5_LOW-baseline-resolved-profile_catalog-min.json")
    async with uow() as u:
        imported = await import_catalog(u, path)
    await _round_trip(api, db, admin, imported.template.key)


async def test_a_template_is_exported_only_to_those_who_may_read_it(
    api, uow, settings, token_for
) -> None:
    async with uow() as u:
        imported = await import_template(u, starter_template(), source="starter")
        outsider = await accounts.create_user(u, "outsider@example.test", "Out", None)
    params = {"template_id": imported.template.id}
    link = export_link(settings, "template-workbook", params, outsider.id)
    url = urlsplit(link.url)
    refused = await api.client.get(f"{url.path}?{url.query}")
    assert refused.status_code == 404

    reader = await token_for("reader@example.test", OrgRole.READER)
    content = await export_of(api, reader, to_base64("Template", imported.template.id))
    assert load_workbook(io.BytesIO(content)).sheetnames[0] == "Template"


# --- refusals ----------------------------------------------------------------------------------

Change = Callable[[Sheets], None]


def _set(sheet: str, row: int, column: str, value: Any) -> Change:
    """Set one cell, addressed as the spreadsheet shows it (row 1 is the header)."""

    def change(data: Sheets) -> None:
        data[sheet][row - 1][data[sheet][0].index(column)] = value

    return change


def _drop(sheet: str) -> Change:
    return lambda data: data.pop(sheet)


def _add(sheet: str, row: list[Any]) -> Change:
    return lambda data: data[sheet].append(row)


def _rename(sheet: str, old: str, new: str) -> Change:
    return _set(sheet, 1, old, new)


Where = tuple[str, int, str | None, str]  # sheet, row, column, code

REFUSALS: list[tuple[str, Change, Where] | tuple[str, Change, Where, Where]] = [
    ("missing-sheet", _drop("Actions"), ("Actions", 0, None, "MISSING_SHEET")),
    (
        "missing-column",
        _rename("Template", "Certification", "Cert"),
        ("Template", 1, "Cert", "UNKNOWN_COLUMN"),
        ("Template", 1, "Certification", "MISSING_COLUMN"),
    ),
    ("no-title", _set("Template", 2, "Title", None), ("Template", 2, "Title", "REQUIRED")),
    (
        "two-templates",
        _add("Template", ["Other", "P", "C", None, None, None]),
        ("Template", 3, None, "INVALID"),
    ),
    (
        "unknown-type",
        _set("Actions", 3, "Implementation type", "Magic"),
        ("Actions", 3, "Implementation type", "UNKNOWN_VALUE"),
    ),
    ("points-range", _set("Actions", 3, "Points", 120), ("Actions", 3, "Points", "INVALID")),
    ("points-text", _set("Actions", 3, "Points", "many"), ("Actions", 3, "Points", "BAD_NUMBER")),
    (
        "points-superscript",
        _set("Actions", 3, "Points", "\u00b2"),  # "²".isdigit() is true; int("²") raises
        ("Actions", 3, "Points", "BAD_NUMBER"),
    ),
    (
        "yes-or-no",
        _set("Actions", 2, "Automatic testing", "maybe"),
        ("Actions", 2, "Automatic testing", "UNKNOWN_VALUE"),
    ),
    (
        "duplicate-title",
        _add("Actions", ["Enforce MFA", "Technical"] + [None] * 10),
        ("Actions", 5, "Title", "DUPLICATE_ROW"),
    ),
    (
        "unlisted-category",
        _set("Actions", 4, "Category", "Govern information"),
        ("Actions", 4, "Category", "UNKNOWN_VALUE"),
    ),
    (
        "unknown-dimension",
        _add("Dimensions", ["Colour", "Red"]),
        ("Dimensions", 6, "Dimension", "UNKNOWN_VALUE"),
    ),
    (
        "unknown-action",
        _set("ControlFamily", 3, "Action titles", "Keep logs;;Shred paper"),
        ("ControlFamily", 3, "Action titles", "UNKNOWN_VALUE"),
    ),
    (
        "duplicate-control",
        _set("ControlFamily", 3, "Control name", "CSR-1"),
        ("ControlFamily", 3, "Control name", "DUPLICATE_ROW"),
    ),
    (
        "unused-action",
        _add("Actions", ["Spare", "Technical", None, None, None] + [None] * 7),
        ("Actions", 5, "Title", "INVALID"),
    ),
    (
        "too-long",
        _set("ControlFamily", 2, "Control name", "C" * 101),
        ("ControlFamily", 2, "Control name", "INVALID"),
    ),
]


@pytest.mark.parametrize(
    ("change", "expected"), [(r[1], r[2:]) for r in REFUSALS], ids=[r[0] for r in REFUSALS]
)
async def test_each_problem_is_reported_where_it_is_and_nothing_is_written(
    api, db, admin, change: Change, expected: tuple[Where, ...]
) -> None:
    data = sheets()
    change(data)
    result = await upload(api, admin, xlsx(data))
    found = [(e["sheet"], e["row"], e["column"], e["code"]) for e in result["rowErrors"]]
    assert found == list(expected), result["rowErrors"]
    assert all(e["message"] for e in result["rowErrors"])
    assert [e["code"] for e in result["userErrors"]] == ["INVALID"]
    assert result["template"] is None and result["version"] is None
    assert await count(db, Template) == 0
    assert await count(db, ActionDefinitionVersion) == 0


async def test_every_problem_is_reported_at_once(api, db, admin) -> None:
    data = sheets()
    for change in (
        _set("Template", 2, "Title", None),
        _set("ControlFamily", 2, "Family", None),
        _set("Actions", 2, "Points", 0),
        _set("Actions", 3, "Action purpose", "Sideways"),
        _rename("Dimensions", "Value", "Values"),
    ):
        change(data)
    result = await upload(api, admin, xlsx(data))
    assert [(e["sheet"], e["row"], e["column"], e["code"]) for e in result["rowErrors"]] == [
        ("Template", 2, "Title", "REQUIRED"),
        ("ControlFamily", 2, "Family", "REQUIRED"),
        ("Actions", 2, "Points", "INVALID"),
        ("Actions", 3, "Action purpose", "UNKNOWN_VALUE"),
        ("Dimensions", 1, "Values", "UNKNOWN_COLUMN"),
        ("Dimensions", 1, "Value", "MISSING_COLUMN"),
    ]
    assert await count(db, Template) == 0


async def test_a_sheet_has_a_row_limit(api, db, admin, monkeypatch) -> None:
    monkeypatch.setattr(template_workbook, "MAX_ROWS", 2)
    result = await upload(api, admin, xlsx(sheets()))
    assert [(e["sheet"], e["row"], e["code"]) for e in result["rowErrors"]] == [
        ("Actions", 4, "TOO_MANY_ROWS"),
        ("Dimensions", 4, "TOO_MANY_ROWS"),
    ]
    assert await count(db, Template) == 0


async def test_an_action_keeps_its_implementation_type(api, db, admin) -> None:
    await upload(api, admin, xlsx(sheets()))
    changed = sheets()
    _set("Actions", 3, "Implementation type", "Technical")(changed)
    _set("Actions", 4, "Owner", "Customer")(changed)
    result = await upload(api, admin, xlsx(changed))
    assert [(e["sheet"], e["row"], e["column"], e["code"]) for e in result["rowErrors"]] == [
        ("Actions", 3, "Implementation type", "INVALID"),
        ("Actions", 4, "Owner", "INVALID"),
    ]
    assert await count(db, TemplateVersion) == 1


async def test_only_administrators_import(api, db, token_for) -> None:
    assessor = await token_for("assessor@example.test", OrgRole.ASSESSOR)
    result = await upload(api, assessor, xlsx(sheets()))
    assert [e["code"] for e in result["userErrors"]] == ["FORBIDDEN"]
    assert result["rowErrors"] == []
    assert await count(db, Template) == 0


async def test_a_file_that_is_not_a_workbook_is_refused(api, db, admin) -> None:
    result = await upload(api, admin, b"Title,Product\nx,y\n", "rules.csv")
    assert [(e["sheet"], e["row"], e["code"]) for e in result["rowErrors"]] == [("", 0, "NOT_XLSX")]
    assert [e["code"] for e in result["userErrors"]] == ["INVALID"]
    assert await count(db, Template) == 0


# --- the command line --------------------------------------------------------------------------


def test_the_cli_imports_and_exports_workbooks(tmp_path: Path) -> None:
    env = {"CMGRAPH_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"}

    def cli(*args: str, code: int = 0) -> str:
        result = CliRunner().invoke(app, list(args), env=env)
        assert result.exit_code == code, result.output
        return result.output

    cli("db", "upgrade")
    cli("users", "add", "ann@example.test", "--role", "READER")
    workbook = tmp_path / "rules.xlsx"
    workbook.write_bytes(xlsx(sheets()))
    created = cli("templates", "import-workbook", str(workbook))
    assert "'cloud-security-rules' created: version 1, 2 controls, 3 actions" in created
    assert "unchanged at version 1" in cli("templates", "import-workbook", str(workbook))

    out = tmp_path / "exported.xlsx"
    written = cli(
        "export", "template", "cloud-security-rules", "--as", "ann@example.test", "--out", str(out)
    )
    assert "wrote" in written
    assert load_workbook(out).sheetnames == ["Template", "ControlFamily", "Actions", "Dimensions"]
    assert "unchanged at version 1" in cli("templates", "import-workbook", str(out))
    missing = cli("export", "template", "nothing-here", "--as", "ann@example.test", code=1)
    assert "not found" in missing.lower()

    broken = sheets()
    _set("Actions", 3, "Points", 120)(broken)
    _set("ControlFamily", 3, "Action titles", "Shred paper")(broken)
    workbook.write_bytes(xlsx(broken))
    refused = cli("templates", "import-workbook", str(workbook), code=1)
    assert "ControlFamily row 3 Action titles: UNKNOWN_VALUE" in refused
    assert "Actions row 3 Points: INVALID" in refused
    assert "nothing was imported" in refused
