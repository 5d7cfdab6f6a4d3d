"""Evidence files over HTTP (DOMAIN.md section 6): upload, download, deletion and storage.

Every file here is a real one of its kind, built in the test, and travels through the ASGI
app as a client would send it.
"""

from __future__ import annotations

import hashlib
import io
import os
import struct
import time
import zipfile
import zlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import openpyxl
import pytest
from sqlalchemy import func, select, text
from strawberry import relay

import cmgraph.http.evidence as evidence_http
from cmgraph.adapters.storage import Storage, check_download, sign_download, signing_key
from cmgraph.config import Settings
from cmgraph.domain import accounts
from cmgraph.domain.assessments import NewAssessment, create_assessment
from cmgraph.domain.enums import (
    AutomaticTesting,
    EventType,
    ImplementationStatus,
    OrgRole,
    TestingSource,
    TestStatus,
)
from cmgraph.domain.evidence import settle_upload
from cmgraph.domain.models import (
    ActionDefinition,
    Event,
    Evidence,
    HistoryEntry,
    ImprovementAction,
    User,
)
from cmgraph.domain.organisation import organisation
from cmgraph.domain.permissions import Principal
from cmgraph.domain.templates import import_template
from cmgraph.domain.workflow import change_action
from cmgraph.http.app import create_app
from tests.builders import DAY
from tests.conftest import Api
from tests.databases import Database
from tests.test_evidence_links import SPEC

CSRF = {"X-CMGraph-CSRF": "1"}


# -- real files -----------------------------------------------------------------------------


def png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)  # 1x1, 8-bit RGB
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def jpeg() -> bytes:
    app0 = b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    return (
        b"\xff\xd8"
        + b"\xff\xe0"
        + struct.pack(">H", len(app0) + 2)
        + app0
        + b"\xff\xfe\x00\x0ccmgraph jpg"  # a comment segment
        + b"\xff\xd9"
    )


def pdf() -> bytes:
    return (
        b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
        b"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n"
        b"trailer << /Root 1 0 R >>\n%%EOF\n"
    )


def package(entries: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def docx() -> bytes:
    return package(
        {
            "[Content_Types].xml": "<Types/>",
            "_rels/.rels": "<Relationships/>",
            "word/document.xml": "<w:document><w:body><w:p>Policy</w:p></w:body></w:document>",
        }
    )


def pptx() -> bytes:
    return package(
        {
            "[Content_Types].xml": "<Types/>",
            "ppt/presentation.xml": "<p:presentation/>",
            "ppt/slides/slide1.xml": "<p:sld/>",
        }
    )


def xlsx() -> bytes:
    workbook = openpyxl.Workbook()
    workbook.active.append(["control", "status"])
    workbook.active.append(["AC-2", "passed"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def ole2(stream: str) -> bytes:
    """An OLE2 compound file header (as .doc, .xls and .ppt start), padded to one sector."""
    header = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 16 + b"\x3e\x00\x03\x00\xfe\xff"
    return (header + stream.encode("utf-16-le")).ljust(1024, b"\x00")


def mkv() -> bytes:
    doctype = b"\x42\x82\x88matroska"
    return b"\x1a\x45\xdf\xa3" + bytes([0x80 | len(doctype)]) + doctype + b"\x00" * 16


def rar() -> bytes:
    return b"Rar!\x1a\x07\x01\x00" + b"\x33\x92\xb5\xe5\x0a\x01\x05\x06\x00\x05\x01\x01\x80\x80"


ACCEPTED: dict[str, tuple[Callable[[], bytes], str]] = {
    "pdf": (pdf, "application/pdf"),
    "png": (png, "image/png"),
    "jpg": (jpeg, "image/jpeg"),
    "jpeg": (jpeg, "image/jpeg"),
    "docx": (
        docx,
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ),
    "xlsx": (xlsx, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    "pptx": (
        pptx,
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    ),
    "doc": (lambda: ole2("WordDocument"), "application/msword"),
    "xls": (lambda: ole2("Workbook"), "application/vnd.ms-excel"),
    "ppt": (lambda: ole2("PowerPoint Document"), "application/vnd.ms-powerpoint"),
    "txt": (lambda: "Zugriffsprüfung bestanden ✓\n".encode(), "text/plain; charset=utf-8"),
    "csv": (lambda: b"control,status\nAC-2,passed\n", "text/csv; charset=utf-8"),
    "mkv": (mkv, "video/x-matroska"),
    "zip": (lambda: package({"notes/readme.txt": "evidence"}), "application/zip"),
    "rar": (rar, "application/vnd.rar"),
}


# -- world ----------------------------------------------------------------------------------


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings.from_env({}, data_dir=tmp_path / "data", public_url="http://cmgraph.test")


@dataclass
class World:
    tokens: dict[str, str]
    owner: Principal
    assessment_id: int
    actions: dict[str, int]
    storage: Path

    def action(self, key: str) -> str:
        return relay.to_base64("ImprovementAction", self.actions[key])


@pytest.fixture
async def world(uow, owner: Principal, token_for, settings: Settings) -> World:
    async with uow() as u:
        # Every action starts MANUAL (made under OFF_FOR_ALL): the tests choose what is automatic.
        (await organisation(u)).automatic_testing = AutomaticTesting.OFF_FOR_ALL
        imported = await import_template(u, SPEC, source="test")
        assessment = await create_assessment(
            u, owner, NewAssessment(imported.template.id, "Evidence A", new_group_name="G")
        )
        (await organisation(u)).automatic_testing = AutomaticTesting.PER_ACTION
        rows = await u.session.execute(
            select(ActionDefinition.key, ImprovementAction.id).join(
                ImprovementAction, ImprovementAction.definition_id == ActionDefinition.id
            )
        )
        actions = {key: action_id for key, action_id in rows}
        owner_user = await u.session.get(User, owner.user_id)
        owner_token = (await accounts.create_token(u, owner_user, "test")).secret
    tokens = {
        "owner": owner_token,
        "contributor": await token_for("carl@example.test", OrgRole.CONTRIBUTOR),
        "reader": await token_for("rita@example.test", OrgRole.READER),
        "outsider": await token_for("otto@example.test", None),
        "auditor": await token_for(
            "audra@example.test", None, assessment_id=assessment.id, grant_role=OrgRole.READER
        ),
    }
    return World(tokens, owner, assessment.id, actions, settings.storage_dir)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def upload(
    client: httpx.AsyncClient,
    token: str | None,
    action: str,
    name: str,
    content: bytes,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    sent = {**CSRF, **(bearer(token) if token else {})} if headers is None else headers
    return await client.post(
        "/evidence/upload",
        data={"actionId": action},
        files={"file": (name, content, "application/octet-stream")},
        headers=sent,
    )


def stored_files(storage: Path) -> list[Path]:
    """Everything in storage but the lock, the link key and the owner mark: content files
    and leftovers."""
    if not storage.exists():
        return []
    kept = (".lock", ".download-key", ".database")
    return sorted(p for p in storage.rglob("*") if p.is_file() and p.name not in kept)


async def counts(uow) -> tuple[int, int, int]:
    async with uow() as u:
        return tuple(  # type: ignore[return-value]
            [
                await u.session.scalar(select(func.count()).select_from(model))
                for model in (Evidence, HistoryEntry, Event)
            ]
        )


DOWNLOAD_URL = """
query ($id: ID!) { node(id: $id) { ... on Evidence { name kind downloadUrl } } }
"""


# -- upload and download --------------------------------------------------------------------


@pytest.mark.parametrize("extension", list(ACCEPTED))
async def test_each_accepted_type_round_trips(api: Api, world: World, extension: str):
    build, content_type = ACCEPTED[extension]
    content = build()
    response = await upload(
        api.client,
        world.tokens["contributor"],
        world.action("ev:doc"),
        f"Evidence {extension}.{extension.upper()}",
        content,
    )
    assert response.status_code == 201, response.text
    evidence = response.json()["evidence"]
    digest = hashlib.sha256(content).hexdigest()
    assert evidence["name"] == f"Evidence {extension}.{extension.upper()}"
    assert (evidence["size"], evidence["sha256"]) == (len(content), digest)
    assert evidence["contentType"] == content_type
    assert stored_files(world.storage) == [world.storage / digest[:2] / digest]

    by_header = await api.client.get(
        f"/evidence/{evidence['id']}/download", headers=bearer(world.tokens["reader"])
    )
    assert by_header.status_code == 200, by_header.text
    assert by_header.content == content
    assert by_header.headers["content-type"] == content_type
    assert by_header.headers["content-length"] == str(len(content))
    assert by_header.headers["x-content-type-options"] == "nosniff"
    assert by_header.headers["content-disposition"].startswith("attachment;")

    data = await api.query(DOWNLOAD_URL, {"id": evidence["id"]}, token=world.tokens["reader"])
    url = urlsplit(data["node"]["downloadUrl"])
    assert (url.scheme, url.netloc) == ("http", "cmgraph.test")
    by_link = await api.client.get(f"{url.path}?{url.query}")  # no Authorization header
    assert by_link.status_code == 200, by_link.text
    assert by_link.content == content


async def test_upload_records_uploader_history_and_event(api: Api, world: World, uow):
    response = await upload(
        api.client, world.tokens["contributor"], world.action("ev:doc"), "policy.pdf", pdf()
    )
    assert response.status_code == 201, response.text
    async with uow() as u:
        row = (await u.session.scalars(select(Evidence))).one()
        assert row.uploaded_by_id is not None and row.uploaded_at is not None
        history = (await u.session.scalars(select(HistoryEntry))).all()
        assert [(h.field, h.new_value) for h in history] == [
            ("evidence", "added document policy.pdf")
        ]
        event = (await u.session.scalars(select(Event))).one()
        assert event.type == EventType.EVIDENCE_CHANGE.value
        assert event.payload["change"] == "ADDED"
        assert event.payload["kind"] == "DOCUMENT"
        assert event.payload["evidenceId"] == row.id
        assert event.payload["assessmentIds"] == [world.assessment_id]


async def test_a_document_on_an_automatic_action_switches_it_to_manual(api: Api, world: World, uow):
    async with uow() as u:
        action = await u.session.get(ImprovementAction, world.actions["ev:auto"])
        assert action is not None
        action.testing_source = TestingSource.AUTOMATIC
    response = await upload(
        api.client, world.tokens["contributor"], world.action("ev:auto"), "scan.pdf", pdf()
    )
    assert response.status_code == 201, response.text
    async with uow() as u:
        action = await u.session.get(ImprovementAction, world.actions["ev:auto"])
        assert action is not None and action.testing_source is TestingSource.MANUAL
        fields = await u.session.scalars(select(HistoryEntry.field).order_by(HistoryEntry.id))
        assert fields.all() == ["evidence", "testing_source"]


async def test_text_in_utf16_with_bom_is_accepted(api: Api, world: World):
    content = "Prüfung\r\n".encode("utf-16")
    response = await upload(
        api.client, world.tokens["contributor"], world.action("ev:doc"), "notes.txt", content
    )
    assert response.status_code == 201, response.text
    assert response.json()["evidence"]["contentType"] == "text/plain; charset=utf-16"


async def test_client_names_are_sanitised_and_encoded_for_download(api: Api, world: World):
    # Raw bytes: httpx would percent-encode the control character itself.
    name = "../../etc/Prüf\x07bericht «2026»\u202e.pdf".encode()
    body = (
        b'--b\r\nContent-Disposition: form-data; name="actionId"\r\n\r\n'
        + world.action("ev:doc").encode()
        + b'\r\n--b\r\nContent-Disposition: form-data; name="file"; filename="'
        + name
        + b'"\r\n\r\n'
        + pdf()
        + b"\r\n--b--\r\n"
    )
    response = await api.client.post(
        "/evidence/upload",
        content=body,
        headers={
            **CSRF,
            **bearer(world.tokens["contributor"]),
            "Content-Type": "multipart/form-data; boundary=b",
        },
    )
    assert response.status_code == 201, response.text
    evidence = response.json()["evidence"]
    assert evidence["name"] == "Prüfbericht «2026».pdf"
    download = await api.client.get(
        f"/evidence/{evidence['id']}/download", headers=bearer(world.tokens["owner"])
    )
    assert download.headers["content-disposition"] == (
        'attachment; filename="Pr_fbericht _2026_.pdf"; '
        "filename*=UTF-8''Pr%C3%BCfbericht%20%C2%AB2026%C2%BB.pdf"
    )


async def test_names_as_long_as_file_systems_allow_are_kept_whole(api: Api, world: World):
    # One more character is refused: tests/test_bad_input.py.
    name = "x" * 251 + ".csv"
    response = await upload(
        api.client, world.tokens["contributor"], world.action("ev:doc"), name, b"a"
    )
    assert response.status_code == 201, response.text
    assert response.json()["evidence"]["name"] == name


# -- refusals -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("setup.exe", b"MZ\x90\x00" + b"\x00" * 60),
        ("no-extension", pdf()),
        ("archive.tar.gz", b"\x1f\x8b\x08\x00"),
    ],
)
async def test_unaccepted_extensions_are_415(
    api: Api, world: World, uow, name: str, content: bytes
):
    before = await counts(uow)
    response = await upload(
        api.client, world.tokens["contributor"], world.action("ev:doc"), name, content
    )
    assert response.status_code == 415, response.text
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "UNSUPPORTED_MEDIA_TYPE"
    assert "not accepted" in error["message"]
    assert stored_files(world.storage) == []
    assert await counts(uow) == before


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("chart.png", pdf()),  # PDF bytes posing as an image
        ("photo.jpg", png()),
        ("report.pdf", b"<html><script>alert(1)</script></html>"),
        ("policy.docx", pptx()),  # a zip, but not a Word document
        ("sheet.xlsx", package({"readme.txt": "plain zip"})),
        ("old.doc", pdf()),
        ("notes.txt", b"text\x00with NUL"),
        ("data.csv", b"\xff\xfe\x00"),  # UTF-16 BOM, odd length
        ("data.csv", b"caf\xe9,latin-1\n"),  # not UTF-8
        ("film.mkv", b"RIFF....AVI "),
    ],
)
async def test_content_must_match_the_extension(
    api: Api, world: World, uow, name: str, content: bytes
):
    before = await counts(uow)
    response = await upload(
        api.client, world.tokens["contributor"], world.action("ev:doc"), name, content
    )
    assert response.status_code == 415, response.text
    assert "not a valid" in response.json()["errors"][0]["message"]
    assert stored_files(world.storage) == []
    assert await counts(uow) == before


async def test_empty_file_is_refused(api: Api, world: World):
    response = await upload(
        api.client, world.tokens["contributor"], world.action("ev:doc"), "empty.txt", b""
    )
    assert response.status_code == 400, response.text
    assert response.json()["errors"][0]["message"] == "The file is empty."
    assert stored_files(world.storage) == []


@pytest.fixture
async def small_api(db: Database, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The app with a 1000-byte upload limit."""
    limited = Settings.from_env({}, data_dir=settings.data_dir, max_upload_bytes=1000)
    transport = httpx.ASGITransport(app=create_app(limited, db.engine))
    async with httpx.AsyncClient(transport=transport, base_url="http://cmgraph.test") as client:
        yield client


@pytest.mark.parametrize("size", [1001, 5_000, 200_000])
async def test_oversized_uploads_are_413_and_leave_nothing(
    small_api: httpx.AsyncClient, world: World, uow, size: int
):
    before = await counts(uow)
    content = b"a" * size  # a valid text file, only too large
    response = await upload(
        small_api, world.tokens["contributor"], world.action("ev:doc"), "big.txt", content
    )
    assert response.status_code == 413, response.text
    assert response.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"
    assert stored_files(world.storage) == []
    assert await counts(uow) == before

    at_limit = await upload(
        small_api, world.tokens["contributor"], world.action("ev:doc"), "ok.txt", b"a" * 1000
    )
    assert at_limit.status_code == 201, at_limit.text


async def test_csrf_header_is_required(api: Api, world: World):
    response = await upload(
        api.client,
        None,
        world.action("ev:doc"),
        "policy.pdf",
        pdf(),
        headers=bearer(world.tokens["contributor"]),
    )
    assert response.status_code == 403
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "CSRF_HEADER_MISSING"
    assert "X-CMGraph-CSRF" in error["message"]
    assert stored_files(world.storage) == []


@pytest.mark.parametrize("token", [None, "cmg_not-a-real-token"])
async def test_uploads_need_a_valid_token(api: Api, world: World, token: str | None):
    headers = {**CSRF, **(bearer(token) if token else {})}
    response = await upload(
        api.client, None, world.action("ev:doc"), "policy.pdf", pdf(), headers=headers
    )
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert stored_files(world.storage) == []


@pytest.mark.parametrize(
    ("who", "key", "status", "code"),
    [
        ("reader", "ev:doc", 403, "FORBIDDEN"),
        ("auditor", "ev:doc", 403, "FORBIDDEN"),  # a READER grant on the assessment
        ("outsider", "ev:doc", 404, "NOT_FOUND"),  # may not even see the action
        ("owner", "ev:provider", 403, "FORBIDDEN"),
    ],
)
async def test_uploads_need_edit_rights(
    api: Api, world: World, uow, who: str, key: str, status: int, code: str
):
    before = await counts(uow)
    response = await upload(api.client, world.tokens[who], world.action(key), "p.pdf", pdf())
    assert response.status_code == status, response.text
    assert response.json()["errors"][0]["extensions"]["code"] == code
    assert stored_files(world.storage) == []
    assert await counts(uow) == before


@pytest.mark.parametrize(
    ("action", "status"),
    [
        (relay.to_base64("ImprovementAction", 987654), 404),
        (relay.to_base64("Assessment", 1), 404),
        ("not a global id", 404),
    ],
)
async def test_unknown_actions_are_404(api: Api, world: World, action: str, status: int):
    response = await upload(api.client, world.tokens["owner"], action, "p.pdf", pdf())
    assert response.status_code == status, response.text
    assert stored_files(world.storage) == []


async def test_malformed_forms_are_400(api: Api, world: World):
    headers = {**CSRF, **bearer(world.tokens["owner"])}
    # The file before the action: nothing can be checked before the bytes arrive.
    body = (
        b'--b\r\nContent-Disposition: form-data; name="file"; filename="p.pdf"\r\n\r\n'
        + pdf()
        + b'\r\n--b\r\nContent-Disposition: form-data; name="actionId"\r\n\r\n'
        + world.action("ev:doc").encode()
        + b"\r\n--b--\r\n"
    )
    multipart = {**headers, "Content-Type": "multipart/form-data; boundary=b"}
    wrong_order = await api.client.post("/evidence/upload", content=body, headers=multipart)
    assert wrong_order.status_code == 400
    assert "before the file" in wrong_order.json()["errors"][0]["message"]

    truncated = await api.client.post(
        "/evidence/upload", content=body[: body.index(b"%PDF") + 20], headers=multipart
    )
    assert truncated.status_code == 400

    no_file = await api.client.post(
        "/evidence/upload", data={"actionId": world.action("ev:doc")}, files={}, headers=headers
    )
    assert no_file.status_code in (400, 415)

    json_body = await api.client.post(
        "/evidence/upload", json={"actionId": world.action("ev:doc")}, headers=headers
    )
    assert json_body.status_code == 415
    assert stored_files(world.storage) == []


# -- download access ------------------------------------------------------------------------


@pytest.fixture
async def uploaded(api: Api, world: World) -> dict[str, Any]:
    response = await upload(
        api.client, world.tokens["contributor"], world.action("ev:doc"), "policy.pdf", pdf()
    )
    assert response.status_code == 201, response.text
    return response.json()["evidence"]


async def test_readers_and_grants_may_download_others_get_404(
    api: Api, world: World, uploaded: dict[str, Any]
):
    path = f"/evidence/{uploaded['id']}/download"
    for who in ("reader", "auditor", "contributor", "owner"):
        response = await api.client.get(path, headers=bearer(world.tokens[who]))
        assert response.status_code == 200, (who, response.text)
    hidden = await api.client.get(path, headers=bearer(world.tokens["outsider"]))
    missing = await api.client.get(
        f"/evidence/{relay.to_base64('Evidence', 987654)}/download",
        headers=bearer(world.tokens["owner"]),
    )
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json() == missing.json()
    assert (await api.client.get(path)).status_code == 401


async def test_download_links_are_bound_to_file_user_and_time(
    api: Api, world: World, uploaded: dict[str, Any], settings: Settings, uow
):
    data = await api.query(DOWNLOAD_URL, {"id": uploaded["id"]}, token=world.tokens["auditor"])
    url = urlsplit(data["node"]["downloadUrl"])
    token = url.query.removeprefix("token=")
    assert (await api.client.get(f"{url.path}?{url.query}")).status_code == 200

    # Another file with the same token, or a tampered token: nothing to see.
    other = relay.to_base64("Evidence", int(relay.GlobalID.from_id(uploaded["id"]).node_id) + 1)
    assert (await api.client.get(f"/evidence/{other}/download?{url.query}")).status_code == 404
    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    assert (await api.client.get(f"{url.path}?token={forged}")).status_code == 404

    # Expired: a genuine token whose time is up.
    evidence_id = int(relay.GlobalID.from_id(uploaded["id"]).node_id)
    user_id = check_download(signing_key(settings.storage_dir), token, evidence_id)
    past = sign_download(
        signing_key(settings.storage_dir), evidence_id, user_id, int(time.time()) - 1
    )
    gone = await api.client.get(f"{url.path}?token={past}")
    assert gone.status_code == 410
    assert gone.json()["errors"][0]["extensions"]["code"] == "LINK_EXPIRED"

    # A link stops working when its user loses read access.
    async with uow() as u:
        await u.session.execute(text("DELETE FROM access_grant WHERE user_id = :u"), {"u": user_id})
    assert (await api.client.get(f"{url.path}?{url.query}")).status_code == 404


async def test_a_disabled_persons_download_links_stop_working(
    api: Api, world: World, uploaded: dict[str, Any], settings: Settings, uow
):
    from cmgraph.domain.people import update_user

    data = await api.query(DOWNLOAD_URL, {"id": uploaded["id"]}, token=world.tokens["auditor"])
    url = urlsplit(data["node"]["downloadUrl"])
    assert (await api.client.get(f"{url.path}?{url.query}")).status_code == 200
    evidence_id = int(relay.GlobalID.from_id(uploaded["id"]).node_id)
    token = url.query.removeprefix("token=")
    user_id = check_download(signing_key(settings.storage_dir), token, evidence_id)
    async with uow() as u:
        await update_user(u, None, user_id, {"disabled": True})
    refused = await api.client.get(f"{url.path}?{url.query}")
    assert refused.status_code == 403
    assert refused.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert refused.json()["errors"][0]["message"] == "This account is disabled."
    async with uow() as u:
        await update_user(u, None, user_id, {"disabled": False})
    assert (await api.client.get(f"{url.path}?{url.query}")).status_code == 200


async def test_links_have_no_download_url(api: Api, world: World):
    data = await api.query(
        ADD_LINK,
        {"input": {"actionId": world.action("ev:doc"), "name": "Wiki", "url": "https://w.test/"}},
        token=world.tokens["contributor"],
    )
    evidence_id = data["addEvidenceLink"]["evidence"]["id"]
    node = await api.query(DOWNLOAD_URL, {"id": evidence_id}, token=world.tokens["reader"])
    assert node["node"] == {"name": "Wiki", "kind": "LINK", "downloadUrl": None}
    download = await api.client.get(
        f"/evidence/{evidence_id}/download", headers=bearer(world.tokens["owner"])
    )
    assert download.status_code == 404


# -- deletion and file lifetime -------------------------------------------------------------

ADD_LINK = """
mutation ($input: AddEvidenceLinkInput!) {
  addEvidenceLink(input: $input) {
    evidence { id kind name url }
    improvementAction { id testingSource }
    userErrors { field code message }
  }
}
"""

DELETE = """
mutation ($input: DeleteEvidenceInput!) {
  deleteEvidence(input: $input) {
    deletedEvidenceId
    improvementAction { id evidence { id } }
    userErrors { field code message }
  }
}
"""


async def delete(api: Api, token: str, evidence_id: str) -> dict[str, Any]:
    data = await api.query(DELETE, {"input": {"evidenceId": evidence_id}}, token=token)
    return data["deleteEvidence"]


@pytest.mark.parametrize(
    "test_status",
    [
        TestStatus.PASSED,
        TestStatus.FAILED_LOW_RISK,
        TestStatus.FAILED_MEDIUM_RISK,
        TestStatus.FAILED_HIGH_RISK,
        TestStatus.OUT_OF_SCOPE,
    ],
)
async def test_deletion_is_refused_once_a_result_is_recorded(
    api: Api, world: World, uploaded: dict[str, Any], uow, test_status: TestStatus
):
    async with uow() as u:
        await change_action(
            u,
            world.owner,
            world.actions["ev:doc"],
            {
                "implementation_status": ImplementationStatus.IMPLEMENTED,
                "implementation_date": DAY,
                "test_status": test_status,
                "test_date": DAY,
            },
        )
    before = await counts(uow)
    payload = await delete(api, world.tokens["contributor"], uploaded["id"])
    assert payload["deletedEvidenceId"] is None
    assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [
        ("INVALID", ["input", "evidenceId"])
    ]
    assert test_status.value in payload["userErrors"][0]["message"]
    assert await counts(uow) == before
    assert len(stored_files(world.storage)) == 1


async def test_readers_may_not_delete(api: Api, world: World, uploaded: dict[str, Any], uow):
    before = await counts(uow)
    for who, code in (("reader", "FORBIDDEN"), ("outsider", "NOT_FOUND")):
        payload = await delete(api, world.tokens[who], uploaded["id"])
        assert [e["code"] for e in payload["userErrors"]] == [code]
    assert await counts(uow) == before
    assert len(stored_files(world.storage)) == 1


async def test_shared_content_is_removed_with_its_last_reference(api: Api, world: World, uow):
    content = docx()
    first = await upload(
        api.client, world.tokens["contributor"], world.action("ev:doc"), "a.docx", content
    )
    second = await upload(
        api.client, world.tokens["contributor"], world.action("ev:tech"), "b.docx", content
    )
    assert first.status_code == second.status_code == 201
    digest = hashlib.sha256(content).hexdigest()
    assert first.json()["evidence"]["sha256"] == second.json()["evidence"]["sha256"] == digest
    assert stored_files(world.storage) == [world.storage / digest[:2] / digest]

    payload = await delete(api, world.tokens["contributor"], first.json()["evidence"]["id"])
    assert payload["userErrors"] == []
    assert payload["deletedEvidenceId"] == first.json()["evidence"]["id"]
    assert payload["improvementAction"] == {"id": world.action("ev:doc"), "evidence": []}
    assert stored_files(world.storage) == [world.storage / digest[:2] / digest]
    still = await api.client.get(
        f"/evidence/{second.json()['evidence']['id']}/download",
        headers=bearer(world.tokens["reader"]),
    )
    assert still.content == content

    payload = await delete(api, world.tokens["contributor"], second.json()["evidence"]["id"])
    assert payload["userErrors"] == []
    assert stored_files(world.storage) == []
    async with uow() as u:
        history = await u.session.scalars(select(HistoryEntry.new_value).order_by(HistoryEntry.id))
        assert history.all()[-1] == "removed document b.docx"
        event = await u.session.scalar(select(Event).order_by(Event.id.desc()).limit(1))
        assert event is not None and event.payload["change"] == "REMOVED"


async def test_deleting_an_assessment_releases_its_files(
    api: Api, world: World, uploaded: dict[str, Any]
):
    assert len(stored_files(world.storage)) == 1
    data = await api.query(
        """mutation ($input: DeleteAssessmentInput!) {
             deleteAssessment(input: $input) { actionsRemoved userErrors { code } } }""",
        {"input": {"assessmentId": relay.to_base64("Assessment", world.assessment_id)}},
        token=world.tokens["owner"],
    )
    assert data["deleteAssessment"]["userErrors"] == []
    assert stored_files(world.storage) == []


async def test_a_failed_transaction_leaves_no_file(
    api: Api, world: World, uow, monkeypatch: pytest.MonkeyPatch
):
    real = evidence_http.upload_evidence_document

    async def failing(u, *args: Any, **kwargs: Any) -> Evidence:
        row = await real(u, *args, **kwargs)
        await u.session.execute(text("SELECT * FROM no_such_table"))  # the database fails
        return row

    monkeypatch.setattr(evidence_http, "upload_evidence_document", failing)
    before = await counts(uow)
    response = await upload(
        api.client, world.tokens["contributor"], world.action("ev:doc"), "p.pdf", pdf()
    )
    assert response.status_code == 500
    assert "request id" in response.json()["errors"][0]["message"]
    assert await counts(uow) == before
    assert stored_files(world.storage) == []


async def test_a_failed_upload_keeps_content_that_other_rows_use(
    api: Api, world: World, uploaded: dict[str, Any], monkeypatch: pytest.MonkeyPatch
):
    async def failing(*args: Any, **kwargs: Any) -> Evidence:
        raise RuntimeError("boom")

    monkeypatch.setattr(evidence_http, "upload_evidence_document", failing)
    response = await upload(
        api.client, world.tokens["contributor"], world.action("ev:tech"), "again.pdf", pdf()
    )
    assert response.status_code == 500
    digest = uploaded["sha256"]
    assert stored_files(world.storage) == [world.storage / digest[:2] / digest]


async def test_a_pinned_upload_survives_a_concurrent_removal(db: Database, settings: Settings):
    """An upload whose digest's file was removed meanwhile restores it when it commits."""
    storage = Storage(settings.storage_dir)

    async def chunks() -> AsyncIterator[bytes]:
        yield b"same bytes"

    stored = await storage.put(chunks(), 100)
    async with storage.locked():
        await storage.delete(stored.sha256)  # a deletion of the last committed row
    assert not storage.exists(stored.sha256)
    await settle_upload(storage, db.sessions, stored, committed=True)
    assert storage.exists(stored.sha256)
    assert stored_files(settings.storage_dir) == [stored.path]


# -- links over GraphQL ---------------------------------------------------------------------


async def test_add_evidence_link_over_graphql(api: Api, world: World, uow):
    async with uow() as u:
        action = await u.session.get(ImprovementAction, world.actions["ev:auto"])
        assert action is not None
        action.testing_source = TestingSource.AUTOMATIC
    data = await api.query(
        ADD_LINK,
        {
            "input": {
                "actionId": world.action("ev:auto"),
                "name": " Scan report ",
                "url": "https://scanner.example.test/r/1",
            }
        },
        token=world.tokens["contributor"],
    )
    payload = data["addEvidenceLink"]
    assert payload["userErrors"] == []
    assert payload["evidence"]["kind"] == "LINK"
    assert payload["evidence"]["name"] == "Scan report"
    assert payload["evidence"]["url"] == "https://scanner.example.test/r/1"
    assert payload["improvementAction"] == {
        "id": world.action("ev:auto"),
        "testingSource": "MANUAL",
    }


@pytest.mark.parametrize(
    ("url", "field"),
    [("ftp://files.example.test/report.pdf", "url"), ("javascript:alert(1)", "url")],
)
async def test_bad_links_are_user_errors(api: Api, world: World, uow, url: str, field: str):
    before = await counts(uow)
    data = await api.query(
        ADD_LINK,
        {"input": {"actionId": world.action("ev:doc"), "name": "Files", "url": url}},
        token=world.tokens["contributor"],
    )
    payload = data["addEvidenceLink"]
    assert payload["evidence"] is None and payload["improvementAction"] is None
    assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [
        ("INVALID", ["input", field])
    ]
    assert await counts(uow) == before


async def test_reader_link_is_forbidden_over_graphql(api: Api, world: World):
    data = await api.query(
        ADD_LINK,
        {"input": {"actionId": world.action("ev:doc"), "name": "W", "url": "https://w.test/"}},
        token=world.tokens["reader"],
    )
    assert [e["code"] for e in data["addEvidenceLink"]["userErrors"]] == ["FORBIDDEN"]


async def test_streamed_upload_without_length_is_cut_at_the_limit(
    small_api: httpx.AsyncClient, world: World, uow
):
    """A chunked body declares no size: the limit applies while it streams."""
    before = await counts(uow)
    head = (
        b'--b\r\nContent-Disposition: form-data; name="actionId"\r\n\r\n'
        + world.action("ev:doc").encode()
        + b'\r\n--b\r\nContent-Disposition: form-data; name="file"; filename="big.txt"\r\n\r\n'
    )

    async def body() -> AsyncIterator[bytes]:
        yield head
        for _ in range(40):  # 160 KiB: past the file limit and the body allowance
            yield b"a" * 4096
        yield b"\r\n--b--\r\n"

    response = await small_api.post(
        "/evidence/upload",
        content=body(),
        headers={
            **CSRF,
            **bearer(world.tokens["contributor"]),
            "Content-Type": "multipart/form-data; boundary=b",
        },
    )
    assert response.status_code == 413, response.text
    assert stored_files(world.storage) == []
    assert await counts(uow) == before


async def test_a_starting_server_sweeps_uploads_left_by_a_crash(db: Database, tmp_path):
    """Temporary files of an upload cut off by a crash go; one still being written stays."""
    settings = Settings.from_env(
        {"CMGRAPH_DATA_DIR": str(tmp_path), "CMGRAPH_BACKGROUND_WORK": "false"}
    )
    folder = settings.storage_dir / "tmp"
    folder.mkdir(parents=True)
    stale, fresh = folder / "stale.part", folder / "fresh.part"
    stale.write_bytes(b"cut off")
    fresh.write_bytes(b"in progress")
    day_ago = time.time() - 2 * 86_400
    os.utime(stale, (day_ago, day_ago))
    messages = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    sent: list[str] = []

    async def receive() -> dict[str, str]:
        return messages.pop(0)

    async def send(message: dict[str, str]) -> None:
        sent.append(message["type"])

    app = create_app(settings, db.engine)
    await app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, receive, send)
    assert sent == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    assert not stale.exists()
    assert fresh.read_bytes() == b"in progress"
