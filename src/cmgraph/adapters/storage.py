"""Evidence files on local disk, content-addressed by SHA-256, and signed download links.

Layout under ``settings.storage_dir``::

    <sha[:2]>/<sha>   file content, named by its digest: identical uploads share one file
    tmp/              uploads being written, kept as "pins" until their row commits; what
                      a crash left there is swept when a server starts
    .lock             serialises "is this digest still referenced?" checks with removals
    .download-key     HMAC key of download links (created on first use, mode 0600)
    .database         which database the folder belongs to (written by the first upload, or
                      by a sweep that finds files of this database there)

Client file names never reach a path: only hex digests and random names do.

Why pins: the content of an upload goes under its digest (as a second hard link) only just
before its row commits, under the lock that removals take, held until the commit is done;
so no removal comes in between, and an upload that fails before that leaves no content
file. Until then the upload keeps its temporary file, the "pin": identical content that a
concurrent deletion of the last *other* row with the same digest might remove meanwhile is
restored from it.

A file operation that fails (disk full, read-only, no permission, I/O error) raises
``StorageUnavailable``, whatever the operation, so the HTTP layer can answer 507 or 503.
What a failing storage leaves behind (a temporary file, a content file no row references)
is removed later by the sweeps (``sweep_leftovers``, ``domain.evidence.sweep_orphans``).
"""

from __future__ import annotations

import asyncio
import errno
import fcntl
import hashlib
import os
import re
import secrets
import time
import uuid
from collections.abc import AsyncIterable, AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager, suppress
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import BinaryIO
from urllib.parse import quote

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cmgraph import global_ids
from cmgraph.adapters import links
from cmgraph.adapters.links import LinkInvalid
from cmgraph.config import Settings

CHUNK_SIZE = 64 * 1024
DOWNLOAD_LINK_SECONDS = 600
LEFTOVER_SECONDS = 86_400  # no upload takes a day
KEY_FILE = ".download-key"
OWNER_FILE = ".database"
# Out of space or over quota: the client may try again once room is made (HTTP 507).
_FULL_ERRNOS = frozenset({errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)})
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_SESSION_INFO_KEY = "cmgraph.storage"


class FileTooLarge(Exception):
    """The stream went past the size limit; nothing of it was kept."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"The file is larger than the limit of {limit} bytes.")
        self.limit = limit


class StorageUnavailable(Exception):
    """A file operation on the storage folder failed; ``full`` when out of space or quota."""

    def __init__(self, doing: str, error: OSError) -> None:
        super().__init__(f"Could not {doing}: {error.strerror or error}.")
        self.errno = error.errno
        self.full = error.errno in _FULL_ERRNOS


@contextmanager
def _failing(doing: str) -> Iterator[None]:
    """Raise file system errors inside as ``StorageUnavailable`` (what was being done)."""
    try:
        yield
    except OSError as error:
        raise StorageUnavailable(doing, error) from error


@dataclass(frozen=True)
class StoredFile:
    """Content written under its digest, still pinned by the upload that wrote it."""

    sha256: str
    size: int
    path: Path
    pin: Path


class StoredReader:
    """An open stored file, read in chunks off the event loop; closes itself at the end."""

    def __init__(self, handle: BinaryIO, size: int) -> None:
        self._handle = handle
        self.size = size

    async def chunks(self) -> AsyncIterator[bytes]:
        try:
            while chunk := await asyncio.to_thread(self._handle.read, CHUNK_SIZE):
                yield chunk
        finally:
            self._handle.close()

    def close(self) -> None:
        self._handle.close()


class Storage:
    """Content-addressed files in one folder; safe to share between processes on one host."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._lock = asyncio.Lock()

    def path(self, sha256: str) -> Path:
        if not _SHA256.match(sha256):
            raise ValueError(f"not a SHA-256 hex digest: {sha256!r}")
        return self.root / sha256[:2] / sha256

    def exists(self, sha256: str) -> bool:
        return self.path(sha256).is_file()

    async def put(self, chunks: AsyncIterable[bytes], max_bytes: int) -> StoredFile:
        """Stream ``chunks`` to disk, hashing as it goes; over ``max_bytes`` raises FileTooLarge.

        Only the temporary file (the pin) is written: ``restore`` puts the content under its
        digest. The caller must end with ``keep`` (a row now references it) or ``discard``.
        A failing storage raises ``StorageUnavailable`` and leaves nothing (or, if even the
        removal fails, a temporary file for ``sweep_leftovers``).
        """
        temp = self.root / "tmp" / f"{uuid.uuid4().hex}.part"
        with _failing("store the file"):
            handle = await asyncio.to_thread(_create_private, temp)
        digest = hashlib.sha256()
        size = 0
        try:
            async for chunk in chunks:  # the client's stream: its errors are not storage's
                size += len(chunk)
                if size > max_bytes:
                    raise FileTooLarge(max_bytes)
                with _failing("store the file"):
                    await asyncio.to_thread(_write, handle, digest, chunk)
            with _failing("store the file"):
                await asyncio.to_thread(_flush_close, handle)
        except BaseException:
            with suppress(OSError):
                handle.close()  # may fail again (a full disk refuses the buffered rest)
            with suppress(OSError):
                temp.unlink(missing_ok=True)
            raise
        sha256 = digest.hexdigest()
        return StoredFile(sha256, size, self.path(sha256), temp)

    async def restore(self, stored: StoredFile) -> None:
        """Put the upload's content under its digest, unless identical content is there.

        Call it inside ``locked()``, before the row commits and with the lock held until
        then, so that no removal comes in between.
        """

        def run() -> None:
            if not stored.path.is_file():
                _link(stored.pin, stored.path)

        with _failing("keep the file"):
            await asyncio.to_thread(run)

    async def keep(self, stored: StoredFile) -> None:
        """The upload's row committed: make sure the content file exists, drop the pin.

        Call it inside ``locked()``.
        """
        await self.restore(stored)
        await self.discard(stored)

    async def discard(self, stored: StoredFile) -> None:
        """Drop the upload's pin; the content file stays until ``delete`` (if unreferenced)."""
        with _failing("remove a temporary file"):
            await asyncio.to_thread(stored.pin.unlink, True)

    async def delete(self, sha256: str) -> None:
        """Remove a content file. Call it inside ``locked()`` after checking no row uses it."""
        with _failing("remove a file"):
            await asyncio.to_thread(_remove, self.path(sha256))

    async def open(self, sha256: str) -> StoredReader:
        """The file for streaming reads; FileNotFoundError when it is not there."""

        def run() -> StoredReader:
            handle = self.path(sha256).open("rb")
            return StoredReader(handle, os.fstat(handle.fileno()).st_size)

        return await asyncio.to_thread(run)

    def sweep_leftovers(self, older_than: float = LEFTOVER_SECONDS) -> int:
        """Remove temporary files that no upload can still be using; return how many.

        An upload in another process may be writing right now, so only files untouched for
        ``older_than`` seconds go.
        """
        folder = self.root / "tmp"
        if not folder.is_dir():
            return 0
        cutoff = time.time() - older_than
        removed = 0
        for path in folder.glob("*.part"):
            with suppress(FileNotFoundError):
                if path.stat().st_mtime < cutoff:
                    path.unlink()
                    removed += 1
        return removed

    def content_older_than(self, seconds: float) -> Iterator[str]:
        """Digests of the content files last written more than ``seconds`` ago (blocking)."""
        if not self.root.is_dir():
            return
        cutoff = time.time() - seconds
        for folder in self.root.iterdir():
            if len(folder.name) != 2 or not folder.is_dir():
                continue
            for path in folder.iterdir():
                if not (_SHA256.match(path.name) and path.name.startswith(folder.name)):
                    continue
                with suppress(FileNotFoundError):
                    if path.stat().st_mtime < cutoff:
                        yield path.name

    def owner(self) -> str | None:
        """The database this folder belongs to, as ``claim`` wrote it; None if unclaimed."""
        try:
            return (self.root / OWNER_FILE).read_text(encoding="utf-8").strip() or None
        except FileNotFoundError:
            return None

    def claim(self, database: str) -> bool:
        """Mark the folder as ``database``'s unless another claimed it first; whether it is.

        Sweeps remove files that no row of their database references, so they must never
        run on a folder that belongs to another database.
        """
        path = self.root / OWNER_FILE
        if not path.exists():
            temp = self.root / f".{OWNER_FILE}.{os.getpid()}.{secrets.token_hex(4)}"
            with _failing("claim the storage folder"):
                self.root.mkdir(parents=True, exist_ok=True)
                temp.write_text(database + "\n", encoding="utf-8")
                try:
                    _link(temp, path)  # concurrent claims: the first link wins
                finally:
                    temp.unlink(missing_ok=True)
        return self.owner() == database

    @asynccontextmanager
    async def locked(self) -> AsyncIterator[None]:
        """Exclusive access for reference checks and removals, across tasks and processes.

        The file lock is polled without blocking so that waiters hold no worker threads.
        """
        async with self._lock:
            with _failing("lock the storage folder"):
                fd = _open_lock(self.root)
            try:
                while True:
                    try:
                        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                        break
                    except BlockingIOError:
                        await asyncio.sleep(0.005)
                yield
            finally:
                os.close(fd)  # releases the lock


def _open_lock(root: Path) -> int:
    root.mkdir(parents=True, exist_ok=True)
    return os.open(root / ".lock", os.O_RDWR | os.O_CREAT, 0o600)


def _remove(path: Path) -> None:
    path.unlink(missing_ok=True)


def _create_private(path: Path) -> BinaryIO:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    return os.fdopen(fd, "wb")


def _write(handle: BinaryIO, digest: hashlib._Hash, chunk: bytes) -> None:
    digest.update(chunk)
    handle.write(chunk)


def _flush_close(handle: BinaryIO) -> None:
    handle.flush()
    os.fsync(handle.fileno())  # the content is durable before any row points at it
    handle.close()


def _link(source: Path, target: Path) -> None:
    """Create ``target`` as another name of ``source``; an existing target has the same bytes."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with suppress(FileExistsError):
        os.link(source, target)


# -- where domain services find the storage ----------------------------------------------


def attach(sessions: async_sessionmaker[AsyncSession], storage: Storage) -> None:
    """Make ``storage`` reachable from every session (and so unit of work) of ``sessions``.

    Services such as assessment deletion release files after commit without every caller
    having to pass the storage along.
    """
    info = dict(sessions.kw.get("info") or {})
    info[_SESSION_INFO_KEY] = storage
    sessions.configure(info=info)


def attached(session: AsyncSession) -> Storage | None:
    return session.info.get(_SESSION_INFO_KEY)


# -- signed download links ---------------------------------------------------------------


def evidence_path(evidence_id: int) -> str:
    """The server path that downloads a stored document (the one place it is spelled)."""
    return f"/evidence/{quote(global_ids.encode('Evidence', evidence_id), safe='')}/download"


def download_url(settings: Settings, evidence_id: int, user_id: int) -> str:
    """An absolute URL that downloads one file for ``user_id`` during the next few minutes."""
    expires = int(time.time()) + DOWNLOAD_LINK_SECONDS
    token = sign_download(link_key(settings), evidence_id, user_id, expires)
    return f"{settings.public_url.rstrip('/')}{evidence_path(evidence_id)}?token={token}"


def sign_download(key: bytes, evidence_id: int, user_id: int, expires: int) -> str:
    return links.sign(key, _download_purpose(evidence_id), user_id, expires)


def check_download(key: bytes, token: str, evidence_id: int, now: float | None = None) -> int:
    """The user a genuine, unexpired token for this file was issued to; else LinkInvalid or
    LinkExpired."""
    user_id = links.check(key, _download_purpose(evidence_id), token, now)
    if not isinstance(user_id, int) or isinstance(user_id, bool):
        raise LinkInvalid
    return user_id


def _download_purpose(evidence_id: int) -> str:
    return f"cmgraph evidence download {evidence_id}"


def link_key(settings: Settings) -> bytes:
    """The key that signs download links: ``CMGRAPH_SECRET_KEY``, else one kept with the files."""
    if settings.secret_key:
        return settings.secret_key.encode()
    return signing_key(settings.storage_dir)


@lru_cache(maxsize=8)
def signing_key(storage_dir: Path) -> bytes:
    """The download-link key kept beside the files, created (mode 0600) on first use.

    It lives with the files because every server that can serve them must share it.
    Creating it through a link makes concurrent first starts agree on one key.
    """
    path = storage_dir / KEY_FILE
    if not path.exists():
        storage_dir.mkdir(parents=True, exist_ok=True)
        temp = storage_dir / f".{KEY_FILE}.{os.getpid()}.{secrets.token_hex(4)}"
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(secrets.token_hex(32) + "\n")
        try:
            _link(temp, path)
        finally:
            temp.unlink(missing_ok=True)
    key = path.read_text(encoding="ascii").strip()
    if len(key) < 32:
        raise RuntimeError(f"{path} is too short to be a key; delete it to make a new one")
    return key.encode("ascii")
