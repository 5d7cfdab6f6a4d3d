"""What the benchmark scripts share: scratch databases, a signed-in client, percentiles."""

from __future__ import annotations

import os
import statistics
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

ROOT = Path(__file__).resolve().parents[1]
SHARED_OSCAL = ROOT.parent / "shared" / "data" / "oscal"
DEFAULT_POSTGRES = "postgresql+asyncpg://root@127.0.0.1:5432/test"

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # builders are shared with the tests


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
