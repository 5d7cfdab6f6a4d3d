"""Evidence files on local disk, content-addressed by SHA-256, and signed download links.

Layout under ``settings.storage_dir``::

    <sha[:2]>/<sha>   file content, named by its digest: identical uploads share one file
    tmp/              uploads being written, then kept as "pins" until their row commits;
                      what a crash left there is swept when a server starts
    .lock             serialises "is this digest still referenced?" checks with removals
    .download-key     HMAC key of download links (created on first use, mode 0600)

Client file names never reach a path: only hex digests and random names do.

Why pins: an upload is linked under its digest before the database row that references it
commits, so a concurrent deletion of the last *other* row with the same digest could remove
the shared file in between. The upload keeps its temporary file (a second hard link to the
same content) until its transaction has ended, and restores the digest's file from it when
needed, under the same lock the removals take.
"""

from __future__ import annotations

import asyncio
import base64
import fcntl
import hashlib
import hmac
import os
import re
import secrets
import time
import uuid
from collections.abc import AsyncIterable, AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import BinaryIO
from urllib.parse import quote

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cmgraph.config import Settings

CHUNK_SIZE = 64 * 1024
DOWNLOAD_LINK_SECONDS = 600
LEFTOVER_SECONDS = 86_400  # no upload takes a day
KEY_FILE = ".download-key"
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_SESSION_INFO_KEY = "cmgraph.storage"


class FileTooLarge(Exception):
    """The stream went past the size limit; nothing of it was kept."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"The file is larger than the limit of {limit} bytes.")
        self.limit = limit


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

        The caller must end with ``keep`` (a row now references it) or ``discard``.
        """
        temp = self.root / "tmp" / f"{uuid.uuid4().hex}.part"
        handle = await asyncio.to_thread(_create_private, temp)
        digest = hashlib.sha256()
        size = 0
        try:
            async for chunk in chunks:
                size += len(chunk)
                if size > max_bytes:
                    raise FileTooLarge(max_bytes)
                await asyncio.to_thread(_write, handle, digest, chunk)
            await asyncio.to_thread(_flush_close, handle)
            sha256 = digest.hexdigest()
            await asyncio.to_thread(_link, temp, self.path(sha256))
        except BaseException:
            handle.close()
            temp.unlink(missing_ok=True)
            raise
        return StoredFile(sha256, size, self.path(sha256), temp)

    async def keep(self, stored: StoredFile) -> None:
        """The upload's row committed: make sure the content file exists, drop the pin.

        Call it inside ``locked()``.
        """

        def run() -> None:
            if not stored.path.is_file():
                _link(stored.pin, stored.path)
            stored.pin.unlink(missing_ok=True)

        await asyncio.to_thread(run)

    async def discard(self, stored: StoredFile) -> None:
        """Drop the upload's pin; the content file stays until ``delete`` (if unreferenced)."""
        await asyncio.to_thread(stored.pin.unlink, True)

    async def delete(self, sha256: str) -> None:
        """Remove a content file. Call it inside ``locked()`` after checking no row uses it."""
        await asyncio.to_thread(self.path(sha256).unlink, True)

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

    @asynccontextmanager
    async def locked(self) -> AsyncIterator[None]:
        """Exclusive access for reference checks and removals, across tasks and processes.

        The file lock is polled without blocking so that waiters hold no worker threads.
        """
        async with self._lock:
            self.root.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.root / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
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


class LinkInvalid(Exception):
    """The token was not made by this server for this file."""


class LinkExpired(Exception):
    """The token is genuine but too old."""


def download_url(settings: Settings, global_id: str, evidence_id: int, user_id: int) -> str:
    """An absolute URL that downloads one file for ``user_id`` during the next few minutes."""
    expires = int(time.time()) + DOWNLOAD_LINK_SECONDS
    token = sign_download(link_key(settings), evidence_id, user_id, expires)
    base = settings.public_url.rstrip("/")
    return f"{base}/evidence/{quote(global_id, safe='')}/download?token={token}"


def sign_download(key: bytes, evidence_id: int, user_id: int, expires: int) -> str:
    return f"{user_id}.{expires}.{_mac(key, evidence_id, user_id, expires)}"


def check_download(key: bytes, token: str, evidence_id: int, now: float | None = None) -> int:
    """The user a genuine, unexpired token was issued to; else LinkInvalid or LinkExpired."""
    user, _, rest = token.partition(".")
    expires, _, mac = rest.partition(".")
    if not (user.isdigit() and expires.isdigit() and mac):
        raise LinkInvalid
    expected = _mac(key, evidence_id, int(user), int(expires))
    if not hmac.compare_digest(mac.encode(), expected.encode()):
        raise LinkInvalid
    if int(expires) < (time.time() if now is None else now):
        raise LinkExpired
    return int(user)


def _mac(key: bytes, evidence_id: int, user_id: int, expires: int) -> str:
    message = f"cmgraph evidence download\0{evidence_id}\0{user_id}\0{expires}".encode()
    raw = hmac.new(key, message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


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
