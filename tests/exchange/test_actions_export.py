"""The improvement actions export, as a user gets it: a link from GraphQL, a file over HTTP."""

from __future__ import annotations

import io
import time
from datetime import date, datetime
from typing import Any
from urllib.parse import urlsplit

import pytest
from openpyxl import load_workbook
from strawberry.relay import to_base64

from cmgraph.adapters.storage import link_key
from cmgraph.domain.enums import OrgRole
from cmgraph.exchange import actions_sheet
from cmgraph.exchange.downloads import XLSX, sign_ticket
from tests.builders import DAY, WorkedExample, worked_example

LINK = """query($filter: ImprovementActionFilter, $orderBy: ImprovementActionOrder) {
    improvementActionsExport(filter: $filter, orderBy: $orderBy) { url expiresAt } }"""
LIST = """query($filter: ImprovementActionFilter, $orderBy: ImprovementActionOrder) {
    improvementActions(filter: $filter, orderBy: $orderBy, first: 100) { nodes { id key } } }"""


async def download(
    api: Any, token: str, filter: dict[str, Any] | None = None, order: dict[str, Any] | None = None
) -> bytes:
    """The export of the list ``filter`` and ``order`` select, fetched as a browser would."""
    data = await api.query(LINK, {"filter": filter, "orderBy": order}, token=token)
    url = urlsplit(data["improvementActionsExport"]["url"])
    response = await api.client.get(f"{url.path}?{url.query}")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == XLSX
    return response.content


def table(data: bytes) -> list[dict[str, Any]]:
    """The sheet's rows as dicts by header."""
    sheet = load_workbook(io.BytesIO(data))[actions_sheet.SHEET]
    rows = list(sheet.iter_rows(values_only=True))
    return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]


@pytest.fixture
async def example(uow, owner) -> WorkedExample:
    async with uow() as u:
        return await worked_example(u, owner)


async def test_the_link_downloads_a_workbook_that_opens_cleanly(api, token_for, example) -> None:
    token = await token_for("reader@example.test", OrgRole.READER)
    data = await api.query(LINK, {}, token=token)
    url = urlsplit(data["improvementActionsExport"]["url"])
    response = await api.client.get(f"{url.path}?{url.query}")
    assert response.status_code == 200
    assert (
        f'filename="improvement-actions-{date.today().isoformat()}.xlsx"'
        in (response.headers["content-disposition"])
    )
    workbook = load_workbook(io.BytesIO(response.content))
    assert workbook.sheetnames == ["Improvement actions"]
    sheet = workbook["Improvement actions"]
    header = [c.value for c in sheet[1]]
    assert header == [
        "Action ID",
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
        "Assigned to",
        "Due date",
        "Implementation status",
        "Implementation date",
        "Implementation notes",
        "Test status",
        "Test date",
        "Testing notes",
        "Additional notes",
        "Testing source",
        "Parent action ID",
        "Version",
        "Updated at",
    ]
    assert all(c.font.bold for c in sheet[1])
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == "A1:Y1"
    assert sheet.column_dimensions["C"].width == 48  # Title
    assert sheet.column_dimensions["A"].width == 34  # Action ID

    listed = await api.query(LIST, {}, token=token)
    api_ids = [n["id"] for n in listed["improvementActions"]["nodes"]]
    assert [row[0].value for row in sheet.iter_rows(min_row=2)] == api_ids  # same ids, same order
    rows = {r["Key"] + (f"@{r['Group']}" if r["Group"] else ""): r for r in table(response.content)}
    assert set(rows) == {"we:t1", "we:t2", "we:n1@G1", "we:n1@G2", "we:p1"}  # provider included

    t1 = rows["we:t1"]
    assert t1["Action ID"] == to_base64("ImprovementAction", example.actions["T1"].id)
    assert (t1["Title"], t1["Owner"], t1["Implementation type"]) == ("T1", "CUSTOMER", "TECHNICAL")
    assert (t1["Points"], t1["Points earned"]) == (27, 27)
    assert t1["Assessments"] == "A1; A3"
    assert t1["Group"] is None  # technical: one instance for the organisation
    assert (t1["Implementation status"], t1["Test status"]) == ("IMPLEMENTED", "PASSED")
    assert t1["Implementation date"] == datetime.combine(DAY, datetime.min.time())  # a real date
    assert t1["Testing source"] == "MANUAL" and t1["Parent action ID"] is None
    assert t1["Version"] == example.actions["T1"].version
    assert isinstance(t1["Updated at"], datetime)
    assert rows["we:n1@G2"]["Assessments"] == "A3"
    assert rows["we:p1"]["Owner"] == "PROVIDER"

    cells = {c.column_letter: c for c in sheet[2]}
    assert cells["P"].is_date and cells["P"].number_format == "yyyy-mm-dd"  # implementation
    assert cells["Y"].is_date and cells["Y"].number_format == "yyyy-mm-dd hh:mm:ss"
    assert cells["H"].data_type == "n"


@pytest.mark.parametrize(
    "filter,order",
    [
        ({"implementationStatuses": ["IMPLEMENTED"]}, None),
        ({"search": "N1"}, {"field": "TITLE", "direction": "DESC"}),
        (None, {"field": "POINTS", "direction": "ASC"}),  # ties: N1 twice, broken by id
        (None, {"field": "UPDATED_AT", "direction": "DESC"}),
        ({"owner": "CUSTOMER", "testStatuses": ["NONE"]}, {"field": "IMPLEMENTATION_STATUS"}),
    ],
)
async def test_the_export_holds_what_the_list_shows(
    api, token_for, example, monkeypatch, filter, order
) -> None:
    monkeypatch.setattr(actions_sheet, "PAGE", 2)  # several keyset pages on five actions
    token = await token_for("reader@example.test", OrgRole.READER)
    listed = await api.query(LIST, {"filter": filter, "orderBy": order}, token=token)
    expected = [n["id"] for n in listed["improvementActions"]["nodes"]]
    exported = [r["Action ID"] for r in table(await download(api, token, filter, order))]
    assert exported == expected
    assert exported  # every case selects something


async def test_a_scoped_user_sees_only_what_they_may_read(api, token_for, example) -> None:
    auditor = await token_for("auditor@example.test", None, assessment_id=example.a2.id)
    rows = table(await download(api, auditor))
    assert {r["Action ID"] for r in rows} == {
        to_base64("ImprovementAction", example.actions[name].id) for name in ("T2", "N1@G1")
    }
    assert {r["Assessments"] for r in rows} == {"A2"}  # A1 holds N1@G1 too, but is not readable


async def test_expired_and_tampered_links_are_refused(api, token_for, settings, example) -> None:
    token = await token_for("reader@example.test", OrgRole.READER)
    data = await api.query(LINK, {}, token=token)
    url = urlsplit(data["improvementActionsExport"]["url"])
    tampered = await api.client.get(f"{url.path}?{url.query[:-4]}AAAA")
    assert tampered.status_code == 403
    expired = sign_ticket(link_key(settings), "improvement-actions", {}, 1, int(time.time()) - 5)
    response = await api.client.get(f"/exports/improvement-actions?token={expired}")
    assert response.status_code == 410
    assert response.json()["errors"][0]["extensions"]["code"] == "LINK_EXPIRED"
