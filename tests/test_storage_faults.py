"""Evidence files when the storage folder fails: full, read-only, unlockable, not a folder.

A refused upload keeps nothing (no row, no file, no temporary file); a committed one is
reported as saved; and files a failing storage could not remove are swept later. The tests
run as root, whom file modes do not stop, so failures are injected where the storage
touches the file system.
"""

from __future__ import annotations

import errno
import os
import shutil
import time
from pathlib import Path
from typing import Any

import pytest

from cmgraph.adapters import storage as storage_module
from cmgraph.adapters.storage import Storage, StorageUnavailable, StoredFile
from cmgraph.config import Settings
from cmgraph.domain.evidence import sweep_orphans
from cmgraph.http.app import create_app
from tests import test_evidence_files as files
from tests.conftest import Api
from tests.databases import Database
from tests.test_evidence_files import World, counts, delete, pdf, stored_files, upload

# The world of the evidence file tests: its settings (a storage folder per test), users and
# actions, and one uploaded document.
settings = files.settings
world = files.world
uploaded = files.uploaded

HOURS_AGO = 2 * 3600


def failing(code: int) -> Any:
    def fail(*args: Any, **kwargs: Any) -> Any:
        raise OSError(code, os.strerror(code))

    return fail


def age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


async def refused_upload(api: Api, world: World, uow) -> tuple[int, dict[str, Any]]:  # type: ignore[no-untyped-def]
    """Upload a document that must be refused; check that it left nothing behind."""
    before = await counts(uow)
    response = await upload(
        api.client, world.tokens["contributor"], world.action("ev:doc"), "policy.pdf", pdf()
    )
    assert await counts(uow) == before  # no evidence row, history or event
    assert stored_files(world.storage) == []  # no content file, no temporary file
    return response.status_code, response.json()


@pytest.mark.parametrize(
    ("code", "status", "name"),
    [
        (errno.ENOSPC, 507, "INSUFFICIENT_STORAGE"),
        (errno.EDQUOT, 507, "INSUFFICIENT_STORAGE"),
        (errno.EROFS, 503, "STORAGE_UNAVAILABLE"),
        (errno.EACCES, 503, "STORAGE_UNAVAILABLE"),
        (errno.EIO, 503, "STORAGE_UNAVAILABLE"),
    ],
)
async def test_a_write_that_fails_is_refused_clearly_and_keeps_nothing(
    api: Api, world: World, uow, monkeypatch: pytest.MonkeyPatch, code: int, status: int, name: str
) -> None:
    monkeypatch.setattr(storage_module, "_write", failing(code))
    got, body = await refused_upload(api, world, uow)
    assert got == status
    [error] = body["errors"]
    assert error["extensions"]["code"] == name
    assert os.strerror(code) in error["message"]
    assert "Nothing was saved" in error["message"]


async def test_a_read_only_folder_is_503_with_retry_after(
    api: Api, world: World, uow, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(storage_module, "_create_private", failing(errno.EROFS))
    response = await upload(
        api.client, world.tokens["contributor"], world.action("ev:doc"), "policy.pdf", pdf()
    )
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "60"
    assert response.json()["errors"][0]["extensions"]["code"] == "STORAGE_UNAVAILABLE"
    assert stored_files(world.storage) == []


async def test_a_storage_folder_that_is_a_file_is_503(api: Api, world: World, uow) -> None:
    shutil.rmtree(world.storage, ignore_errors=True)
    world.storage.parent.mkdir(parents=True, exist_ok=True)
    world.storage.write_bytes(b"not a folder")
    before = await counts(uow)
    response = await upload(
        api.client, world.tokens["contributor"], world.action("ev:doc"), "policy.pdf", pdf()
    )
    assert response.status_code == 503, response.text
    assert response.json()["errors"][0]["extensions"]["code"] == "STORAGE_UNAVAILABLE"
    assert await counts(uow) == before


async def test_a_storage_that_cannot_be_locked_refuses_before_the_row_commits(
    api: Api, world: World, uow, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A read-only lock file: the row would commit with no way to keep its file safe."""
    monkeypatch.setattr(storage_module, "_open_lock", failing(errno.EACCES))
    status, body = await refused_upload(api, world, uow)
    assert status == 503
    assert body["errors"][0]["extensions"]["code"] == "STORAGE_UNAVAILABLE"


async def test_content_that_cannot_be_put_in_place_refuses_before_the_row_commits(
    api: Api, world: World, uow, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(storage_module, "_link", failing(errno.EROFS))
    status, _ = await refused_upload(api, world, uow)
    assert status == 503


async def test_a_committed_upload_is_201_even_if_tidying_up_fails(
    api: Api, world: World, uow, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The row and its file are in place; only the temporary file stays, for the sweep."""

    async def read_only(self: Storage, stored: StoredFile) -> None:
        raise StorageUnavailable("remove a temporary file", OSError(errno.EROFS, "read-only"))

    monkeypatch.setattr(Storage, "discard", read_only)
    response = await upload(
        api.client, world.tokens["contributor"], world.action("ev:doc"), "policy.pdf", pdf()
    )
    assert response.status_code == 201, response.text
    digest = response.json()["evidence"]["sha256"]
    content = world.storage / digest[:2] / digest
    [leftover] = [p for p in stored_files(world.storage) if p != content]
    assert leftover.parent.name == "tmp"
    download = await api.client.get(
        f"/evidence/{response.json()['evidence']['id']}/download",
        headers={"Authorization": f"Bearer {world.tokens['reader']}"},
    )
    assert download.content == pdf()

    monkeypatch.undo()
    age(leftover, 2 * storage_module.LEFTOVER_SECONDS)
    assert Storage(world.storage).sweep_leftovers() == 1
    assert stored_files(world.storage) == [content]


async def test_a_file_whose_removal_failed_is_swept_when_a_server_starts(
    api: Api,
    db: Database,
    world: World,
    uploaded: dict[str, Any],
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    digest = uploaded["sha256"]
    content = world.storage / digest[:2] / digest
    monkeypatch.setattr(storage_module, "_remove", failing(errno.EROFS))
    deleted = await delete(api, world.tokens["contributor"], uploaded["id"])
    assert deleted["userErrors"] == []  # the deletion committed: it is reported as done
    assert deleted["deletedEvidenceId"] == uploaded["id"]
    assert stored_files(world.storage) == [content]  # nothing retries it by itself

    monkeypatch.undo()
    storage = Storage(world.storage)
    assert await sweep_orphans(storage, db.sessions) == 0  # too recent: maybe in flight
    age(content, HOURS_AGO)

    messages = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]

    async def receive() -> dict[str, str]:
        return messages.pop(0)

    async def send(message: dict[str, str]) -> None:
        assert message["type"].endswith(".complete"), message

    app = create_app(
        Settings.from_env({}, data_dir=settings.data_dir, background_work=False), db.engine
    )
    await app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, receive, send)
    assert stored_files(world.storage) == []


async def test_sweeps_keep_what_rows_use_and_never_touch_another_databases_folder(
    db: Database, world: World, uploaded: dict[str, Any]
) -> None:
    storage = Storage(world.storage)
    used = world.storage / uploaded["sha256"][:2] / uploaded["sha256"]
    orphan = storage.path("ab" * 32)
    orphan.parent.mkdir(parents=True, exist_ok=True)
    orphan.write_bytes(b"left behind")
    for path in (used, orphan):
        age(path, HOURS_AGO)
    marker = world.storage / storage_module.OWNER_FILE
    mine = marker.read_text()

    marker.write_text("cmgraph database created some other day\n")
    assert await sweep_orphans(storage, db.sessions) == 0
    assert orphan.exists()

    marker.unlink()  # unclaimed, from before claims: this database uses a file in it
    assert await sweep_orphans(storage, db.sessions) == 1
    assert marker.read_text() == mine
    assert stored_files(world.storage) == [used]


async def test_an_unclaimed_folder_none_of_whose_files_is_used_is_left_alone(
    db: Database, world: World, tmp_path: Path
) -> None:
    storage = Storage(tmp_path / "somebody-elses")
    other = storage.path("cd" * 32)
    other.parent.mkdir(parents=True)
    other.write_bytes(b"another database's evidence")
    age(other, HOURS_AGO)
    assert await sweep_orphans(storage, db.sessions) == 0
    assert other.exists()
    assert storage.owner() is None
