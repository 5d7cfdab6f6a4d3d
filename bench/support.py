"""What the benchmark scripts share: scratch databases, a served app, percentiles."""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

ROOT = Path(__file__).resolve().parents[1]
SHARED_OSCAL = ROOT.parent / "shared" / "data" / "oscal"
DEFAULT_POSTGRES = "postgresql+asyncpg://root@127.0.0.1:5432/test"

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # builders are shared with the tests

from tests.graphql_ws import free_port  # noqa: E402  (after the path is set)


def postgres_server() -> str:
    """The PostgreSQL server to bench against (CMGRAPH_BENCH_DATABASE_URL overrides)."""
    return os.environ.get("CMGRAPH_BENCH_DATABASE_URL") or DEFAULT_POSTGRES


async def postgres_reachable(server: str) -> bool:
    engine = create_async_engine(server, poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
        return True
    except Exception:
        return False
    finally:
        await engine.dispose()


@asynccontextmanager
async def scratch_database(folder: Path, server: str | None = None) -> AsyncIterator[str]:
    """The URL of an empty database, dropped afterwards: SQLite, or a new one on ``server``."""
    if server is None:
        yield f"sqlite+aiosqlite:///{folder / f'bench-{uuid.uuid4().hex[:8]}.db'}"
        return
    name = f"cmgraph_bench_{uuid.uuid4().hex[:10]}"
    admin = create_async_engine(server, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        async with admin.connect() as connection:
            await connection.execute(text(f'CREATE DATABASE "{name}"'))
        yield make_url(server).set(database=name).render_as_string(hide_password=False)
    finally:
        async with admin.connect() as connection:
            await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def median(values: list[float]) -> float:
    return statistics.median(values)


# --- a server process, started the way users start it -----------------------------------------


@asynccontextmanager
async def served(
    url: str, folder: Path, env: Mapping[str, str] | None = None
) -> AsyncIterator[str]:
    """``cmgraph serve`` on ``url`` in a subprocess on a free port; yields its base URL.

    The same entry point as a deployment (``python -m cmgraph serve``, configured through
    ``CMGRAPH_*`` variables), so what is measured is what users run. Waits until
    ``/healthz`` answers and stops the server afterwards.
    """
    port = free_port()
    environment = {
        **os.environ,
        "CMGRAPH_DATABASE_URL": url,
        "CMGRAPH_DATA_DIR": str(folder / "data"),
        "CMGRAPH_HOST": "127.0.0.1",
        "CMGRAPH_PORT": str(port),
        "CMGRAPH_LOG_LEVEL": "WARNING",
        **(env or {}),
    }
    command = [sys.executable, "-m", "cmgraph", "serve"]
    server = await asyncio.create_subprocess_exec(*command, env=environment, cwd=folder)
    base = f"http://127.0.0.1:{port}"
    try:
        await _wait_until_healthy(server, base)
        yield base
    finally:
        await stop(server)


async def stop(process: asyncio.subprocess.Process) -> None:
    """Terminate ``process`` (unless it has ended), killing it if it lingers."""
    if process.returncode is not None:
        return
    process.terminate()
    try:
        await asyncio.wait_for(process.wait(), timeout=10)
    except TimeoutError:
        process.kill()
        await process.wait()


async def _wait_until_healthy(server: asyncio.subprocess.Process, base: str) -> None:
    async with httpx.AsyncClient() as client:
        for _ in range(400):
            if server.returncode is not None:
                raise SystemExit(f"the server exited with code {server.returncode}")
            try:
                if (await client.get(f"{base}/healthz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.05)
    raise SystemExit("the server did not become healthy within 20 s")


async def each_backend(measure: Callable[[str, str, Path], Awaitable[str]]) -> None:
    """Print ``measure(backend, url, folder)`` for SQLite, and PostgreSQL when it answers."""
    with tempfile.TemporaryDirectory(prefix="cmgraph-bench-") as name:
        folder = Path(name)
        async with scratch_database(folder) as url:
            print(await measure("sqlite", url, folder), flush=True)
        server = postgres_server()
        if await postgres_reachable(server):
            async with scratch_database(folder, server) as url:
                print(await measure("postgresql", url, folder), flush=True)
        else:
            print("postgresql: not reachable, skipped (set CMGRAPH_BENCH_DATABASE_URL)")
