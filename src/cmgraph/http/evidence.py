"""Evidence files over plain HTTP: ``POST /evidence/upload`` and ``GET /evidence/{id}/download``.

Uploads are ``multipart/form-data`` with a field ``actionId`` (a global id), optionally
``reviewBy`` (a day, YYYY-MM-DD), followed by one ``file``. The body is parsed as it
arrives and the file goes straight to content-addressed storage, so neither is held in
memory; the action, the review-by day and the file name are checked as soon as the file
part starts, before its bytes are read. Uploads are signed in as ``/graphql`` is
(``http.auth``: a Bearer token or the session cookie) and always need the CSRF header.

Downloads are authorised by a Bearer header, the session cookie of a signed-in browser, or
the ``token`` query parameter of an ``Evidence.downloadUrl`` (an HMAC over evidence id, user
and expiry; valid for ``storage.DOWNLOAD_LINK_SECONDS``), so that a browser can follow a
plain link. The plain route (no token) is what an exported report links to: a browser that is
not signed in is sent to the sign-in page, which comes back to the file afterwards; API
clients get the JSON 401. The user's read access is checked again at download time. Unknown
and unreadable files are both 404.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import date
from urllib.parse import quote

from python_multipart import MultipartParser
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import parse_options_header
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from cmgraph import global_ids
from cmgraph.adapters.db import UnitOfWork
from cmgraph.adapters.links import LinkExpired, LinkInvalid
from cmgraph.adapters.storage import (
    FileTooLarge,
    Storage,
    StorageUnavailable,
    StoredFile,
    attach,
    check_download,
    evidence_path,
    link_key,
)
from cmgraph.config import Settings
from cmgraph.domain.accounts import AuthenticationError, link_principal
from cmgraph.domain.errors import DomainError, ErrorCode
from cmgraph.domain.evidence import (
    FileProblem,
    RejectedFile,
    check_may_attach,
    check_review_by,
    claim_storage,
    clean_file_name,
    document_type,
    readable_document,
    settle_upload,
    sweep_orphans,
    upload_evidence_document,
)
from cmgraph.domain.models import Evidence
from cmgraph.domain.permissions import Principal
from cmgraph.http.auth import (
    authenticate_request,
    bearer_token,
    csrf_header_present,
    csrf_refusal,
)
from cmgraph.http.errors import error_response, failure_response

log = logging.getLogger("cmgraph.evidence")

UPLOAD_PATH = "/evidence/upload"
SIGN_IN_PAGE = "/sign-in"  # the web app's; it goes on to ``next`` once signed in
FORM_ALLOWANCE = 64 * 1024  # boundaries, part headers and the actionId field
MAX_FIELD_BYTES = 1024
# Form fields before the file: the action, and optionally the review-by day (DOMAIN.md 15).
FORM_FIELDS = frozenset({"actionId", "reviewBy"})
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
SWEEP_SECONDS = 3600.0  # how often a running server sweeps its storage folder
STORAGE_RETRY_SECONDS = 60  # a full or read-only disk takes a person to fix

_STATUS = {ErrorCode.NOT_FOUND: 404, ErrorCode.FORBIDDEN: 403, ErrorCode.CONFLICT: 409}
_FILE_STATUS = {
    FileProblem.TOO_LARGE: (413, "PAYLOAD_TOO_LARGE"),
    FileProblem.UNSUPPORTED_TYPE: (415, "UNSUPPORTED_MEDIA_TYPE"),
    FileProblem.CONTENT_MISMATCH: (415, "UNSUPPORTED_MEDIA_TYPE"),
}


def evidence_routes(settings: Settings, sessions: async_sessionmaker[AsyncSession]) -> list[Route]:
    """The routes, with storage attached to ``sessions`` so services can release files."""
    storage = Storage(settings.storage_dir)
    attach(sessions, storage)
    files = EvidenceFiles(settings, sessions, storage)
    return [
        Route(UPLOAD_PATH, files.upload, methods=["POST"]),
        # ``path``: a global id is base64 and may contain "/".
        Route("/evidence/{evidence_id:path}/download", files.download, methods=["GET"]),
    ]


class _Refused(Exception):
    """Stop handling the request and answer with ``response``."""

    def __init__(self, response: Response) -> None:
        self.response = response


def storage_refusal(error: StorageUnavailable) -> Response:
    """507 when the disk is full or over quota, else 503: nothing of the upload was kept."""
    log.warning("evidence storage: %s", error)
    if error.full:
        response = error_response(
            507, "INSUFFICIENT_STORAGE", f"{error} Nothing was saved; try again later."
        )
    else:
        response = error_response(
            503,
            "STORAGE_UNAVAILABLE",
            f"The file storage is unavailable. {error} Nothing was saved; try again later.",
        )
    response.headers["Retry-After"] = str(STORAGE_RETRY_SECONDS)
    return response


def _bad_form(message: str) -> _Refused:
    return _Refused(error_response(400, "BAD_REQUEST", message))


def _refusal(error: DomainError) -> _Refused:
    if isinstance(error, RejectedFile) and error.problem in _FILE_STATUS:
        status, code = _FILE_STATUS[error.problem]
    else:
        status, code = _STATUS.get(error.code, 400), error.code.value
    return _Refused(error_response(status, code, error.message))


class EvidenceFiles:
    def __init__(
        self, settings: Settings, sessions: async_sessionmaker[AsyncSession], storage: Storage
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.storage = storage
        self.claimed = False  # the storage folder is marked as this database's

    # -- upload ---------------------------------------------------------------------------

    async def upload(self, request: Request) -> Response:
        principal = await authenticate_request(
            request.scope, self.sessions, self.settings, changes=True
        )
        if isinstance(principal, Response):
            return principal
        if not csrf_header_present(request.scope):
            return csrf_refusal()
        media_type, params = parse_options_header(request.headers.get("content-type"))
        if media_type != b"multipart/form-data" or not params.get(b"boundary"):
            return error_response(
                415,
                "UNSUPPORTED_MEDIA_TYPE",
                "Send the upload as multipart/form-data with fields `actionId` and `file`.",
            )
        try:
            action_id, review_by, filename, stored = await self._receive(
                request, principal, params[b"boundary"]
            )
        except _Refused as refused:
            return refused.response
        except StorageUnavailable as error:
            return storage_refusal(error)
        return await self._record(request, principal, action_id, filename, stored, review_by)

    async def _receive(
        self, request: Request, principal: Principal, boundary: bytes
    ) -> tuple[int, date | None, str, StoredFile]:
        """Read the form; the file is checked before, and streamed to storage while, reading."""
        events = _form_events(request, boundary)
        action_id: int | None = None
        review_by: date | None = None
        seen: set[str] = set()
        upload: tuple[str, StoredFile] | None = None
        try:
            async for event in events:
                if isinstance(event, _Field):
                    if event.name not in FORM_FIELDS or event.name in seen or upload is not None:
                        raise _bad_form(f"Unexpected form field `{event.name}`.")
                    seen.add(event.name)
                    if event.name == "actionId":
                        action_id = _action_id(event.value)
                    else:
                        review_by = _review_by(event.value)
                    continue
                assert isinstance(event, _FileStart)
                if event.name != "file" or upload is not None:
                    raise _bad_form("Send exactly one file, in the field `file`.")
                if action_id is None:
                    raise _bad_form("Send the field `actionId` before the file.")
                await self._precheck(principal, action_id, event.filename, review_by)
                try:
                    stored = await self.storage.put(
                        _file_chunks(events), self.settings.max_upload_bytes
                    )
                except FileTooLarge as exc:
                    raise _Refused(error_response(413, "PAYLOAD_TOO_LARGE", str(exc))) from None
                upload = (event.filename, stored)
        except BaseException:
            if upload is not None:
                await settle_upload(self.storage, self.sessions, upload[1], committed=False)
            raise
        finally:
            await events.aclose()  # a refusal may come before the whole body was read
        if action_id is None or upload is None:
            raise _bad_form("The form needs the fields `actionId` and `file`.")
        return action_id, review_by, upload[0], upload[1]

    async def _precheck(
        self, principal: Principal, action_id: int, filename: str, review_by: date | None
    ) -> None:
        try:
            async with UnitOfWork(self.sessions) as uow:
                await check_may_attach(uow, principal, action_id)
            check_review_by(review_by)
            document_type(clean_file_name(filename))
        except DomainError as error:
            raise _refusal(error) from None

    async def _record(
        self,
        request: Request,
        principal: Principal,
        action_id: int,
        filename: str,
        stored: StoredFile,
        review_by: date | None,
    ) -> Response:
        """Write the row; whatever happens, the file ends up kept or released with it.

        The storage lock is taken before the row commits and held until the file is
        settled: a storage that cannot be locked or written refuses the upload with nothing
        committed, and no removal comes between making sure the file exists and the commit.
        A row that committed is reported as saved, whatever fails after it.
        """
        locked = False
        uow = UnitOfWork(self.sessions)
        async with AsyncExitStack() as held:
            try:
                async with uow:
                    evidence = await upload_evidence_document(
                        uow,
                        principal,
                        action_id,
                        filename,
                        stored,
                        max_bytes=self.settings.max_upload_bytes,
                        review_by=review_by,
                    )
                    await held.enter_async_context(self.storage.locked())
                    locked = True
                    await self.storage.restore(stored)
                    if not self.claimed:
                        await claim_storage(self.storage, uow.session)
                        self.claimed = True
            except DomainError as error:
                if not uow.committed:
                    return _refusal(error).response
            except StorageUnavailable as error:
                if not uow.committed:
                    return storage_refusal(error)
            except Exception as error:
                request_id = request.scope.get("state", {}).get("request_id", "-")
                if not uow.committed:
                    return failure_response(error, request_id)
                log.exception("upload committed, then failed (request id %s)", request_id)
            finally:
                await settle_upload(
                    self.storage, self.sessions, stored, committed=uow.committed, locked=locked
                )
        return JSONResponse({"evidence": _evidence_json(evidence)}, status_code=201)

    # -- download -------------------------------------------------------------------------

    async def download(self, request: Request) -> Response:
        evidence_id = global_ids.row_id_of(request.path_params["evidence_id"], "Evidence")
        token = request.query_params.get("token")
        if token is not None:
            principal = await self._link_principal(token, evidence_id)
            if isinstance(principal, Response):
                return principal
        else:
            principal = await authenticate_request(
                request.scope, self.sessions, self.settings, changes=False
            )
            if isinstance(principal, Response):
                if principal.status_code == 401 and evidence_id is not None:
                    return _sign_in_first(request, self.settings, evidence_id) or principal
                return principal
        evidence = None
        if evidence_id is not None:
            async with self.sessions() as session:
                evidence = await readable_document(session, principal, evidence_id)
        if evidence is None or not evidence.sha256:
            return _not_found()
        try:
            reader = await self.storage.open(evidence.sha256)
        except (OSError, ValueError):
            log.error("evidence %s: file %s is missing from storage", evidence.id, evidence.sha256)
            return _not_found()
        return StreamingResponse(
            reader.chunks(),
            media_type=evidence.content_type or "application/octet-stream",
            headers={
                "Content-Length": str(reader.size),
                "Content-Disposition": content_disposition(evidence.name),
                "X-Content-Type-Options": "nosniff",
                "Content-Security-Policy": "default-src 'none'; sandbox",
                "Cache-Control": "private, no-store",
            },
        )

    async def _link_principal(self, token: str, evidence_id: int | None) -> Principal | Response:
        """The user a download link was issued to, with their current access."""
        if evidence_id is None:
            return _not_found()
        try:
            user_id = check_download(link_key(self.settings), token, evidence_id)
        except LinkExpired:
            return error_response(
                410, "LINK_EXPIRED", "This download link has expired; request a new downloadUrl."
            )
        except LinkInvalid:
            return _not_found()
        async with self.sessions() as session:
            try:
                return await link_principal(session, user_id)
            except AuthenticationError as refused:  # the person is gone or disabled
                return error_response(403, "FORBIDDEN", str(refused))


@asynccontextmanager
async def storage_upkeep(
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    *,
    every: float = SWEEP_SECONDS,
) -> AsyncIterator[None]:
    """Sweep the storage folder when the server starts, then every ``every`` seconds.

    What a crash or a failing storage left behind: temporary files of uploads cut off a day
    ago or more, and content files no evidence row references (``sweep_orphans``), such as
    a deleted document whose file could not be removed at the time.
    """
    storage = Storage(settings.storage_dir)
    await sweep_storage(storage, sessions)

    async def periodically() -> None:
        while True:
            await asyncio.sleep(every)
            await sweep_storage(storage, sessions)

    task = asyncio.create_task(periodically(), name="cmgraph-storage-sweep")
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def sweep_storage(storage: Storage, sessions: async_sessionmaker[AsyncSession]) -> None:
    """One sweep; a failure is logged and left for the next."""
    try:
        leftovers = await asyncio.to_thread(storage.sweep_leftovers)
        orphans = await sweep_orphans(storage, sessions)
    except Exception as error:
        log.warning("sweeping the evidence storage failed, trying again later: %r", error)
        return
    if leftovers:
        log.info("removed %d temporary upload files left by an earlier crash", leftovers)
    if orphans:
        log.info("removed %d stored files that no evidence uses", orphans)


def _sign_in_first(request: Request, settings: Settings, evidence_id: int) -> Response | None:
    """For a browser's navigation without a usable session (no Bearer header: a script
    gets its 401): a redirect to the sign-in page that comes back to this file."""
    navigation = "text/html" in request.headers.get("accept", "")
    if not navigation or bearer_token(request.scope) is not None:
        return None
    next_path = quote(evidence_path(evidence_id), safe="")
    target = f"{settings.public_url.rstrip('/')}{SIGN_IN_PAGE}?next={next_path}"
    return RedirectResponse(target, status_code=303, headers={"Cache-Control": "no-store"})


def _not_found() -> Response:
    return error_response(404, "NOT_FOUND", "No such file, or you may not read it.")


def _action_id(value: str) -> int:
    node = global_ids.row_id_of(value, "ImprovementAction")
    if node is None:
        raise _Refused(error_response(404, "NOT_FOUND", "Improvement action not found."))
    return node


def _review_by(value: str) -> date | None:
    """The optional ``reviewBy`` field: an ISO day (YYYY-MM-DD), or empty for none."""
    day = value.strip()
    if not day:
        return None
    try:
        # fromisoformat also reads 20270131 and 2027-W05-1; the form takes one spelling.
        if not _ISO_DAY.fullmatch(day):
            raise ValueError(day)
        return date.fromisoformat(day)
    except ValueError:
        raise _Refused(
            error_response(400, "INVALID", "`reviewBy` must be a day such as 2027-01-31.")
        ) from None


def _evidence_json(evidence: Evidence) -> dict[str, object]:
    return {
        "id": global_ids.encode("Evidence", evidence.id),
        "name": evidence.name,
        "size": evidence.size,
        "sha256": evidence.sha256,
        "contentType": evidence.content_type,
        "reviewBy": evidence.review_by.isoformat() if evidence.review_by else None,
    }


def content_disposition(name: str) -> str:
    """``attachment`` with an ASCII fallback and the exact name RFC 5987-encoded."""
    fallback = (
        "".join(ch if 32 <= ord(ch) < 127 and ch not in '"\\;' else "_" for ch in name).strip()
        or "download"
    )
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


# -- streaming multipart ------------------------------------------------------------------


@dataclass
class _Field:
    name: str
    value: str


@dataclass
class _FileStart:
    name: str
    filename: str


@dataclass
class _FileData:
    data: bytes


class _FileEnd:
    pass


_Event = _Field | _FileStart | _FileData | _FileEnd


async def _file_chunks(events: AsyncIterator[_Event]) -> AsyncIterator[bytes]:
    """The current file's bytes, up to its end; the caller goes on with the next part."""
    async for event in events:
        if isinstance(event, _FileEnd):
            return
        assert isinstance(event, _FileData)
        yield event.data
    raise _bad_form("The form ended inside the file.")


async def _form_events(request: Request, boundary: bytes) -> AsyncGenerator[_Event, None]:
    """Parse the body as it arrives into fields and file start/data/end events.

    Field values are small (``MAX_FIELD_BYTES``); file bytes pass through untouched.
    """
    pending: list[_Event] = []
    headers: dict[bytes, bytes] = {}
    header = [b"", b""]
    part: dict[str, object] = {}
    finished = False

    def on_part_begin() -> None:
        headers.clear()
        part.clear()

    def on_header_field(data: bytes, start: int, end: int) -> None:
        header[0] += data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        header[1] += data[start:end]

    def on_header_end() -> None:
        headers[header[0].lower()] = header[1]
        header[0] = header[1] = b""

    def on_headers_finished() -> None:
        disposition, options = parse_options_header(headers.get(b"content-disposition"))
        if disposition != b"form-data" or b"name" not in options:
            raise _bad_form("Each part needs `Content-Disposition: form-data; name=...`.")
        part["name"] = options[b"name"].decode("utf-8", "replace")
        if b"filename" in options:
            part["file"] = True
            pending.append(_FileStart(str(part["name"]), _decode(options[b"filename"])))
        else:
            part["value"] = bytearray()

    def on_part_data(data: bytes, start: int, end: int) -> None:
        if part.get("file"):
            pending.append(_FileData(bytes(data[start:end])))
            return
        value = part["value"]
        assert isinstance(value, bytearray)
        if len(value) + end - start > MAX_FIELD_BYTES:
            raise _bad_form(f"Form fields are limited to {MAX_FIELD_BYTES} bytes.")
        value.extend(data[start:end])

    def on_part_end() -> None:
        if part.get("file"):
            pending.append(_FileEnd())
        else:
            value = part["value"]
            assert isinstance(value, bytearray)
            pending.append(_Field(str(part["name"]), _decode(bytes(value))))

    def on_end() -> None:
        nonlocal finished
        finished = True

    parser = MultipartParser(
        boundary,
        {
            "on_part_begin": on_part_begin,
            "on_header_field": on_header_field,
            "on_header_value": on_header_value,
            "on_header_end": on_header_end,
            "on_headers_finished": on_headers_finished,
            "on_part_data": on_part_data,
            "on_part_end": on_part_end,
            "on_end": on_end,
        },
    )
    async for chunk in request.stream():
        try:
            parser.write(chunk)
        except MultipartParseError as exc:
            raise _bad_form(f"Malformed multipart body: {exc}.") from None
        events = pending[:]
        pending.clear()
        for event in events:
            yield event
    if not finished:
        raise _bad_form("The multipart body ended early.")


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")
