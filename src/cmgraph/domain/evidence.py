"""Evidence attached to improvement actions (DOMAIN.md section 6).

Links are stored as given (after trimming) once they pass a strict check: only absolute
``http``/``https`` URLs with a host, because the front ends render them as clickable links and
anything else (``javascript:``, ``data:``, ``file:``, relative paths) would be an injection
vector or meaningless to other readers.

Documents are files already streamed to content-addressed storage (``cmgraph.storage``); the
services here decide whether a row may point at them. The extension must be one of the
accepted ones and the bytes must look like it (magic numbers; OOXML archives must hold their
application's folder; text must decode cleanly), so a renamed executable or a PDF posing as
an image is refused. The stored content type comes from the extension, never from the
client. Several rows may share one file; a file goes only once no row references it.
"""

from __future__ import annotations

import asyncio
import codecs
import logging
import math
import re
import unicodedata
import zipfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from itertools import islice
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cmgraph.adapters.db import UnitOfWork
from cmgraph.adapters.storage import Storage, StorageUnavailable, StoredFile, attached
from cmgraph.domain import calendar, clock, text
from cmgraph.domain.enums import (
    FAILED_TEST_STATUSES,
    ChangeSource,
    EventType,
    EvidenceKind,
    Owner,
    TestingSource,
    TestStatus,
)
from cmgraph.domain.errors import DomainError, ErrorCode, forbidden, not_found
from cmgraph.domain.models import (
    ActionDefinition,
    Event,
    Evidence,
    HistoryEntry,
    ImprovementAction,
    Organisation,
    utcnow,
)
from cmgraph.domain.organisation import setting_query
from cmgraph.domain.permissions import Principal, readable_actions
from cmgraph.domain.workflow import PROVIDER_READ_ONLY, Reach, action_reach

log = logging.getLogger("cmgraph.evidence")

MAX_NAME_LENGTH = 300
MAX_FILE_NAME_LENGTH = 255  # what file systems allow, so any real file's name fits
MAX_URL_LENGTH = 2000
# Content files written more recently are never swept, whatever the database says.
ORPHAN_SECONDS = 3600.0
SWEEP_BATCH = 500
# A bound the API's query cost relies on (schema/limits.py), and plenty for one action.
MAX_EVIDENCE_PER_ACTION = 100
LINK_SCHEMES = frozenset({"http", "https"})
# Once an action's result is recorded, the evidence behind it stays as it was.
LOCKED_TEST_STATUSES = frozenset({TestStatus.PASSED, TestStatus.OUT_OF_SCOPE}) | (
    FAILED_TEST_STATUSES
)

_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP = b"PK\x03\x04"
_READ_CHUNK = 64 * 1024
# Bidirectional overrides can make "evil\u202etxt.exe" display as "evilexe.txt".
_BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)


@dataclass(frozen=True)
class DocumentType:
    content_type: str
    magic: bytes = b""  # the file must start with it
    zip_folder: str = ""  # an OOXML package must contain entries under it
    text: bool = False  # UTF-8, or UTF-16 with a byte order mark, and no NUL


DOCUMENT_TYPES: dict[str, DocumentType] = {
    "doc": DocumentType("application/msword", _OLE2),
    "docx": DocumentType(
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document", _ZIP, "word/"
    ),
    "xls": DocumentType("application/vnd.ms-excel", _OLE2),
    "xlsx": DocumentType(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", _ZIP, "xl/"
    ),
    "ppt": DocumentType("application/vnd.ms-powerpoint", _OLE2),
    "pptx": DocumentType(
        "application/vnd.openxmlformats-officedocument.presentationml.presentation", _ZIP, "ppt/"
    ),
    "txt": DocumentType("text/plain", text=True),
    "csv": DocumentType("text/csv", text=True),
    "pdf": DocumentType("application/pdf", b"%PDF-"),
    "jpg": DocumentType("image/jpeg", b"\xff\xd8\xff"),
    "jpeg": DocumentType("image/jpeg", b"\xff\xd8\xff"),
    "png": DocumentType("image/png", b"\x89PNG\r\n\x1a\n"),
    "mkv": DocumentType("video/x-matroska", b"\x1a\x45\xdf\xa3"),
    "zip": DocumentType("application/zip", _ZIP),
    "rar": DocumentType("application/vnd.rar", b"Rar!\x1a\x07"),
}


class FileProblem(StrEnum):
    NAME_TOO_LONG = "NAME_TOO_LONG"
    TOO_LARGE = "TOO_LARGE"
    UNSUPPORTED_TYPE = "UNSUPPORTED_TYPE"
    CONTENT_MISMATCH = "CONTENT_MISMATCH"
    EMPTY = "EMPTY"


class RejectedFile(DomainError):
    """A file refused for its size, type or content (INVALID on field ``file``)."""

    def __init__(self, problem: FileProblem, message: str) -> None:
        super().__init__(ErrorCode.INVALID, message, "file")
        self.problem = problem


# -- links --------------------------------------------------------------------------------


def clean_link_name(name: str) -> str:
    """The trimmed display name (``domain.text``), or an INVALID error on field ``name``."""
    return text.clean_name(name, "A link", max_length=MAX_NAME_LENGTH)


def clean_link_url(url: str) -> str:
    """The trimmed URL if it is an absolute http(s) URL with a host, else INVALID on ``url``."""
    url = (url or "").strip()
    if not url:
        raise DomainError(ErrorCode.INVALID, "A link needs a URL.", "url")
    if len(url) > MAX_URL_LENGTH:
        raise DomainError(
            ErrorCode.INVALID, f"URLs are limited to {MAX_URL_LENGTH} characters.", "url"
        )
    # Whitespace and control characters inside a URL are how parsers get confused; refuse them
    # rather than guess what the sender meant.
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url):
        raise DomainError(ErrorCode.INVALID, "A URL may not contain spaces.", "url")
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises ValueError on a malformed port
    except ValueError as exc:
        raise DomainError(ErrorCode.INVALID, f"Not a valid URL: {exc}.", "url") from exc
    if parts.scheme.lower() not in LINK_SCHEMES:
        raise DomainError(ErrorCode.INVALID, "Links must be absolute http or https URLs.", "url")
    if not parts.hostname:
        raise DomainError(ErrorCode.INVALID, "The URL needs a host name.", "url")
    return url


async def add_evidence_link(
    uow: UnitOfWork,
    actor: Principal,
    action_id: int,
    name: str,
    url: str,
    *,
    review_by: date | None = None,
) -> Evidence:
    """Attach a named link to an action, with history and an EVIDENCE_CHANGE event.

    Permission comes before validation so that callers without access learn nothing about
    the action.
    """
    action, reach = await _editable_action(uow, actor, action_id)
    check_review_by(review_by)
    evidence = Evidence(
        action_id=action.id,
        kind=EvidenceKind.LINK,
        name=clean_link_name(name),
        url=clean_link_url(url),
        uploaded_by_id=actor.user_id,
        uploaded_at=utcnow(),
        review_by=review_by,
    )
    return await _attach(uow, actor, action, reach, evidence)


# -- documents ----------------------------------------------------------------------------


def clean_file_name(filename: str) -> str:
    """The display name of an upload: its last path segment without control characters.

    The name comes from the uploader's file system, so what cannot be shown is dropped
    rather than refused; a name longer than any file system allows is refused (INVALID).
    """
    name = re.split(r"[/\\]", filename or "")[-1]
    if len(name) > 4 * MAX_FILE_NAME_LENGTH:
        raise _name_too_long()  # before cleaning: work on a client's megabytes is not free
    name = unicodedata.normalize("NFC", name)
    name = "".join(
        ch
        for ch in name
        if ch not in _BIDI_CONTROLS and unicodedata.category(ch) not in ("Cc", "Cs", "Zl", "Zp")
    ).strip()
    if len(name) > MAX_FILE_NAME_LENGTH:
        raise _name_too_long()
    return name


def _name_too_long() -> RejectedFile:
    return RejectedFile(
        FileProblem.NAME_TOO_LONG,
        f"File names are limited to {MAX_FILE_NAME_LENGTH} characters; rename the file.",
    )


def document_type(name: str) -> tuple[str, DocumentType]:
    """The lower-case extension of a cleaned file name and its type, else UNSUPPORTED_TYPE."""
    _, dot, extension = name.rpartition(".")
    extension = extension.lower()
    if not dot or extension not in DOCUMENT_TYPES:
        raise RejectedFile(
            FileProblem.UNSUPPORTED_TYPE,
            f"Files of this type are not accepted ({name or 'no name'}). Accepted: "
            + ", ".join(DOCUMENT_TYPES)
            + ".",
        )
    return extension, DOCUMENT_TYPES[extension]


def check_content(path: Path, extension: str) -> str:
    """The content type to store if the bytes at ``path`` match ``extension``.

    Reads the file (blocking): run it in a thread.
    """
    kind = DOCUMENT_TYPES[extension]
    mismatch = RejectedFile(
        FileProblem.CONTENT_MISMATCH,
        f"The content of the file is not a valid .{extension} file.",
    )
    with path.open("rb") as handle:
        if kind.text:
            charset = _text_charset(handle)
            if charset is None:
                raise mismatch
            return f"{kind.content_type}; charset={charset}"
        if handle.read(len(kind.magic)) != kind.magic:
            raise mismatch
    if kind.zip_folder:
        try:
            with zipfile.ZipFile(path) as archive:
                names = archive.namelist()
        except (zipfile.BadZipFile, OSError):
            raise mismatch from None
        if not any(n.startswith(kind.zip_folder) for n in names):
            raise mismatch
    return kind.content_type


def _text_charset(handle: Any) -> str | None:
    """``utf-8`` or ``utf-16`` if the whole stream decodes cleanly without NUL, else None."""
    head = handle.read(2)
    charset = "utf-16" if head in (b"\xff\xfe", b"\xfe\xff") else "utf-8"
    decoder = codecs.getincrementaldecoder(charset)("strict")
    chunk = head
    try:
        while chunk:
            if "\x00" in decoder.decode(chunk):
                return None
            chunk = handle.read(_READ_CHUNK)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return None
    return charset


async def upload_evidence_document(
    uow: UnitOfWork,
    actor: Principal,
    action_id: int,
    filename: str,
    stored: StoredFile,
    *,
    max_bytes: int,
    review_by: date | None = None,
) -> Evidence:
    """Attach a stored file to an action as a DOCUMENT, after checking its type and content.

    The caller streamed the file to storage first and ends with ``settle_upload`` whatever
    happens here, so a refused or rolled-back upload leaves no file behind.
    """
    action, reach = await _editable_action(uow, actor, action_id)
    check_review_by(review_by)
    name = clean_file_name(filename)
    extension, _ = document_type(name)
    if stored.size > max_bytes:
        raise RejectedFile(
            FileProblem.TOO_LARGE, f"Files are limited to {max_bytes} bytes; this one is larger."
        )
    if stored.size == 0:
        raise RejectedFile(FileProblem.EMPTY, "The file is empty.")
    # Read through the upload's pin: the shared content file may be swapped meanwhile.
    content_type = await asyncio.to_thread(check_content, stored.pin, extension)
    evidence = Evidence(
        action_id=action.id,
        kind=EvidenceKind.DOCUMENT,
        name=name,
        sha256=stored.sha256,
        size=stored.size,
        content_type=content_type,
        uploaded_by_id=actor.user_id,
        uploaded_at=utcnow(),
        review_by=review_by,
    )
    return await _attach(uow, actor, action, reach, evidence)


async def check_may_attach(uow: UnitOfWork, actor: Principal, action_id: int) -> None:
    """Refuse early, before a client sends a whole file, what the upload would refuse."""
    action, _ = await _editable_action(uow, actor, action_id)
    await _check_room(uow.session, action)


async def settle_upload(
    storage: Storage,
    sessions: Callable[[], AsyncSession],
    stored: StoredFile,
    *,
    committed: bool,
    locked: bool = False,
) -> None:
    """After an upload's transaction: keep its file, or remove it if no row references it.

    ``locked``: the caller holds ``storage.locked()`` already, and so may have put the
    content under its digest (``Storage.restore``); without the lock it has not, and an
    upload that did not commit only drops its temporary file. Never raises: the
    transaction's outcome stands whatever happens here, and what a failing storage leaves
    behind (a temporary file, a content file no row references) goes with the sweeps.
    """
    try:
        if locked:
            await _settle(storage, sessions, stored, committed)
        elif not committed:
            await storage.discard(stored)
        else:
            async with storage.locked():
                await _settle(storage, sessions, stored, committed)
    except StorageUnavailable as error:
        log.warning("upload of %s: %s The storage sweeps will tidy up.", stored.sha256, error)
    except Exception:
        log.exception("upload of %s: tidying up failed; the storage sweeps will", stored.sha256)


async def _settle(
    storage: Storage, sessions: Callable[[], AsyncSession], stored: StoredFile, committed: bool
) -> None:
    if committed:
        await storage.keep(stored)
        return
    await storage.discard(stored)
    if await _unreferenced(sessions, [stored.sha256]):
        await storage.delete(stored.sha256)


async def sweep_orphans(
    storage: Storage,
    sessions: Callable[[], AsyncSession],
    *,
    older_than: float = ORPHAN_SECONDS,
    batch: int = SWEEP_BATCH,
) -> int:
    """Remove content files that no evidence row references; return how many.

    They are what a failing storage left behind: a file whose removal after a deletion
    failed, an upload whose tidy-up failed. Files written in the last ``older_than``
    seconds stay (an upload in flight also pins its file, see ``cmgraph.storage``), and
    each batch is checked again under the storage lock, as removals are. Only a folder
    that belongs to this database is swept (``_belongs_here``).
    """
    digests = await asyncio.to_thread(lambda: list(storage.content_older_than(older_than)))
    if not digests or not await _belongs_here(storage, sessions, batch):
        return 0
    removed = 0
    for start in range(0, len(digests), batch):
        async with storage.locked():
            for digest in await _unreferenced(sessions, digests[start : start + batch]):
                await storage.delete(digest)
                removed += 1
    return removed


async def database_identity(session: AsyncSession) -> str | None:
    """What tells this database from others: when its organisation row was created."""
    created = await session.scalar(setting_query(Organisation.created_at))
    return None if created is None else f"cmgraph database created {created.isoformat()}"


async def claim_storage(storage: Storage, session: AsyncSession) -> None:
    """Mark the storage folder as this database's, unless another database's it is.

    Uploads claim the folder they write to; sweeps only tidy a folder so claimed.
    """
    database = await database_identity(session)
    if database is not None and not await asyncio.to_thread(storage.claim, database):
        log.warning("storage folder %s belongs to another database; it is not swept", storage.root)


async def _belongs_here(
    storage: Storage, sessions: Callable[[], AsyncSession], sample_size: int
) -> bool:
    """Whether the storage folder is this database's (``claim_storage``).

    A folder from before claims is claimed if this database uses one of its files, so that
    a server pointed at another database's folder removes nothing of it.
    """
    async with sessions() as session:
        database = await database_identity(session)
    if database is None:
        return False
    owner = await asyncio.to_thread(storage.owner)
    if owner is None:
        sample = await asyncio.to_thread(
            lambda: list(islice(storage.content_older_than(-math.inf), sample_size))
        )
        if sample and len(await _unreferenced(sessions, sample)) < len(sample):
            await asyncio.to_thread(storage.claim, database)
            owner = await asyncio.to_thread(storage.owner)
    if owner != database:
        log.warning(
            "not sweeping %s: it is not known as this database's (%s); it says %s",
            storage.root,
            database,
            owner or "nothing",
        )
        return False
    return True


async def readable_document(
    session: AsyncSession, actor: Principal, evidence_id: int
) -> Evidence | None:
    """The DOCUMENT evidence if the actor may read its action (any of its assessments)."""
    return await session.scalar(
        select(Evidence)
        .join(ImprovementAction, ImprovementAction.id == Evidence.action_id)
        .where(
            Evidence.id == evidence_id,
            Evidence.kind == EvidenceKind.DOCUMENT,
            readable_actions(actor),
        )
    )


# -- review-by dates (DOMAIN.md section 15) ------------------------------------------------


def check_review_by(review_by: date | None) -> None:
    """The calendar's bounds; a past day is allowed (the evidence is expired at once)."""
    calendar.check_day(review_by, clock.today(), "reviewBy", "A review-by date")


async def update_evidence(
    uow: UnitOfWork, actor: Principal, evidence_id: int, changes: Mapping[str, Any]
) -> Evidence:
    """Apply ``changes`` (for now only ``review_by``: a day, or None to clear it) to a link
    or document (contributors).

    Allowed whatever the test status: the date says when to look at the evidence again,
    it does not change what a recorded result rests on. Nor does it end automatic testing:
    it is no new testing data. A history row and an EVIDENCE_CHANGE event (``UPDATED``) say
    what changed.
    """
    session = uow.session
    evidence = await session.get(Evidence, evidence_id)
    if evidence is None:
        raise not_found("Evidence", "evidenceId")
    action, reach = await _editable_action(
        uow, actor, evidence.action_id, field="evidenceId", doing="change evidence of"
    )
    unknown = set(changes) - {"review_by"}
    if unknown:
        raise DomainError(ErrorCode.INVALID, "This field cannot be edited.", sorted(unknown)[0])
    if "review_by" not in changes:
        return evidence
    review_by = changes["review_by"]
    check_review_by(review_by)
    if evidence.review_by == review_by:
        return evidence
    now = utcnow()
    _history(
        uow,
        actor,
        action.id,
        [
            (
                "evidence_review_by",
                _review_text(evidence, evidence.review_by),
                _review_text(evidence, review_by),
            )
        ],
        now,
    )
    evidence.review_by = review_by
    session.add(_event(actor, action.id, reach, evidence, "UPDATED", now))
    await session.flush()
    return evidence


def _review_text(evidence: Evidence, review_by: date | None) -> str:
    when = review_by.isoformat() if review_by else "none"
    return f"{_word(evidence)}: review by {when}"


# -- deletion -----------------------------------------------------------------------------


async def delete_evidence(uow: UnitOfWork, actor: Principal, evidence_id: int) -> Evidence:
    """Remove a link or document, with history and an EVIDENCE_CHANGE event.

    Refused once the action's test status records a result (passed, failed, out of scope):
    the evidence is what that result rests on. A document's file goes after commit if no
    other row shares it.
    """
    session = uow.session
    evidence = await session.get(Evidence, evidence_id)
    if evidence is None:
        raise not_found("Evidence", "evidenceId")
    action, reach = await _editable_action(
        uow, actor, evidence.action_id, field="evidenceId", doing="remove evidence from"
    )
    if action.test_status in LOCKED_TEST_STATUSES:
        raise DomainError(
            ErrorCode.INVALID,
            f"Evidence cannot be deleted while the action's test status is "
            f"{action.test_status.value}; evidence behind a recorded test result stays.",
            "evidenceId",
        )
    now = utcnow()
    await session.delete(evidence)
    _history(uow, actor, action.id, [("evidence", None, f"removed {_word(evidence)}")], now)
    session.add(_event(actor, action.id, reach, evidence, "REMOVED", now))
    await session.flush()
    if evidence.sha256:
        release_files(uow, [evidence.sha256])
    return evidence


def release_files(uow: UnitOfWork, digests: Iterable[str]) -> None:
    """Once ``uow`` commits, remove the files of ``digests`` that no evidence row references.

    The check runs again after commit, under the storage lock, so an upload of the same
    content that committed meanwhile keeps its file. Nothing happens on rollback.
    """
    wanted = sorted(set(digests))
    storage = attached(uow.session)
    if not wanted or storage is None:
        return
    bind = uow.session.bind

    async def collect() -> None:
        # The change is committed whatever happens here; a file left behind is only wasted
        # space until ``sweep_orphans`` finds it.
        try:
            async with storage.locked():
                for digest in await _unreferenced(lambda: AsyncSession(bind=bind), wanted):
                    await storage.delete(digest)
        except StorageUnavailable as error:
            log.warning("released evidence files %s stay for the sweep: %s", wanted, error)
        except Exception:
            log.exception("could not remove released evidence files %s", wanted)

    uow.after_commit(collect)


async def _unreferenced(sessions: Callable[[], AsyncSession], digests: list[str]) -> list[str]:
    async with sessions() as session:
        used = set(
            await session.scalars(
                select(Evidence.sha256).where(Evidence.sha256.in_(digests)).distinct()
            )
        )
    return [d for d in digests if d not in used]


# -- shared steps -------------------------------------------------------------------------


async def _editable_action(
    uow: UnitOfWork,
    actor: Principal,
    action_id: int,
    *,
    field: str = "actionId",
    doing: str = "add evidence to",
) -> tuple[ImprovementAction, Reach]:
    """The action, locked, if the actor may change its evidence (CONTRIBUTOR, live, customer).

    Callers who may not even read the action get NOT_FOUND, so ids reveal nothing.
    """
    session = uow.session
    action = await session.get(ImprovementAction, action_id, with_for_update=True)
    if action is None or not await _readable(session, actor, action_id):
        raise not_found("Improvement action" if field == "actionId" else "Evidence", field)
    definition = await session.get(ActionDefinition, action.definition_id)
    assert definition is not None
    if definition.owner is Owner.PROVIDER:
        raise forbidden(PROVIDER_READ_ONLY)
    reach = await action_reach(uow, actor, action_id)
    if not reach.assessment_ids:
        raise DomainError(
            ErrorCode.INVALID, "The action belongs only to archived assessments.", field
        )
    if not reach.editable:
        raise forbidden(f"You may not {doing} this action.")
    return action, reach


async def _readable(session: AsyncSession, actor: Principal, action_id: int) -> bool:
    if actor.sees_everything:
        return True
    found = await session.scalar(
        select(ImprovementAction.id).where(
            ImprovementAction.id == action_id, readable_actions(actor)
        )
    )
    return found is not None


async def _attach(
    uow: UnitOfWork,
    actor: Principal,
    action: ImprovementAction,
    reach: Reach,
    evidence: Evidence,
) -> Evidence:
    """Add the row with history and event; evidence added by hand ends automatic testing.

    DOMAIN.md section 5: adding evidence to an AUTOMATIC action switches it to MANUAL,
    recorded like any other field change.
    """
    session = uow.session
    await _check_room(session, action)
    now = evidence.uploaded_at
    session.add(evidence)
    history: list[tuple[str, Any, Any]] = [("evidence", None, f"added {_word(evidence)}")]
    if action.testing_source is TestingSource.AUTOMATIC:
        history.append(
            ("testing_source", TestingSource.AUTOMATIC.value, TestingSource.MANUAL.value)
        )
        action.testing_source = TestingSource.MANUAL
        action.version += 1
        action.updated_at = now
    _history(uow, actor, action.id, history, now)
    await session.flush()
    session.add(_event(actor, action.id, reach, evidence, "ADDED", now))
    await session.flush()
    return evidence


async def _check_room(session: AsyncSession, action: ImprovementAction) -> None:
    # Two uploads at once must not both see room for one more (PostgreSQL locks the row;
    # SQLite has one writer at a time anyway).
    await session.execute(
        select(ImprovementAction.id).where(ImprovementAction.id == action.id).with_for_update()
    )
    held = await session.scalar(
        select(func.count()).select_from(Evidence).where(Evidence.action_id == action.id)
    )
    if (held or 0) >= MAX_EVIDENCE_PER_ACTION:
        raise DomainError(
            ErrorCode.INVALID,
            f"An action holds at most {MAX_EVIDENCE_PER_ACTION} evidence items; "
            "delete one before adding another.",
            "actionId",
        )


def _word(evidence: Evidence) -> str:
    kind = "link" if evidence.kind is EvidenceKind.LINK else "document"
    return f"{kind} {evidence.name}"


def _history(
    uow: UnitOfWork,
    actor: Principal,
    action_id: int,
    changes: list[tuple[str, Any, Any]],
    now: datetime,
) -> None:
    uow.session.add_all(
        HistoryEntry(
            action_id=action_id,
            field=field,
            old_value=old,
            new_value=new,
            source=ChangeSource.USER,
            actor_id=actor.user_id,
            created_at=now,
        )
        for field, old, new in changes
    )


def _event(
    actor: Principal,
    action_id: int,
    reach: Reach,
    evidence: Evidence,
    change: str,
    now: datetime,
) -> Event:
    return Event(
        type=EventType.EVIDENCE_CHANGE.value,
        action_id=action_id,
        actor_id=actor.user_id,
        payload={
            "assessmentIds": list(reach.assessment_ids),
            "source": ChangeSource.USER.value,
            "evidenceId": evidence.id,
            "change": change,
            "kind": evidence.kind.value,
            "name": evidence.name,
            "reviewBy": evidence.review_by.isoformat() if evidence.review_by else None,
        },
        created_at=now,
    )


def parent_chains(starts: Any) -> Any:
    """A CTE of (start, ancestor, depth): each PARENT action of ``starts`` and its ancestors.

    ``starts`` is a collection of action ids or a subquery of them. A PARENT action sees the
    evidence of every ancestor (DOMAIN.md section 5), nearest first; the chain is bounded by
    the linking limit.
    """
    from sqlalchemy import Integer, literal_column
    from sqlalchemy.orm import aliased

    from cmgraph.domain.workflow import MAX_CHAIN_DEPTH

    chain = (
        select(
            ImprovementAction.id.label("start"),
            ImprovementAction.parent_id.label("ancestor"),
            literal_column("1", Integer).label("depth"),
        )
        .where(
            ImprovementAction.id.in_(starts),
            ImprovementAction.testing_source == TestingSource.PARENT,
            ImprovementAction.parent_id.isnot(None),
        )
        .cte("chain", recursive=True)
    )
    up = aliased(ImprovementAction)
    return chain.union_all(
        select(chain.c.start, up.parent_id, chain.c.depth + literal_column("1", Integer))
        .select_from(chain)
        .join(up, up.id == chain.c.ancestor)
        .where(
            up.testing_source == TestingSource.PARENT,
            up.parent_id.isnot(None),
            chain.c.depth < MAX_CHAIN_DEPTH,
        )
    )
