"""``cmgraph serve --demo`` as a newcomer starts it, for tests that need the running demo."""

from __future__ import annotations

import os
import queue
import re
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path


def start_demo(
    data_dir: Path, port: int, settings: Mapping[str, str] | None = None
) -> tuple[subprocess.Popen[str], dict[str, tuple[str, str]]]:
    """Start `cmgraph serve --demo`; return the process, once it listens, and email -> (token,
    password).

    "Application startup complete" comes before uvicorn binds its socket: the server accepts
    connections only from its "Uvicorn running on" line on. A thread keeps reading the output
    for as long as the process runs, so that the pipe never fills and blocks the server.
    """
    env = {
        **os.environ,
        "CMGRAPH_DATA_DIR": str(data_dir),
        "CMGRAPH_PORT": str(port),
        "CMGRAPH_LOG_LEVEL": "info",  # the listening line is logged at INFO
        **(settings or {}),
    }
    env.pop("CMGRAPH_DATABASE_URL", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "cmgraph", "serve", "--demo"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: queue.Queue[str | None] = queue.Queue()

    def read_output() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line)
        lines.put(None)  # end of output: the process exited

    threading.Thread(target=read_output, daemon=True).start()
    output: list[str] = []
    tokens: dict[str, tuple[str, str]] = {}
    try:
        deadline = time.monotonic() + 120  # only a guard against a hang
        while True:
            remaining = deadline - time.monotonic()
            assert remaining > 0, "demo server never listened:\n" + "".join(output)
            try:
                line = lines.get(timeout=remaining)
            except queue.Empty:
                continue
            assert line is not None, (
                f"demo server exited ({process.wait()}) before listening:\n" + "".join(output)
            )
            output.append(line)
            match = re.search(r"(\S+@\S+)\s+(cmg_\S+)\s+(\S+)", line)
            if match:
                tokens[match.group(1)] = (match.group(2), match.group(3))
            if f"http://127.0.0.1:{port}/graphql" in line:
                assert "GraphQL" in line
            if f"Uvicorn running on http://127.0.0.1:{port}" in line:
                return process, tokens
    except BaseException:
        process.kill()
        process.wait(timeout=30)
        raise


def stop_demo(process: subprocess.Popen[str]) -> None:
    """SIGTERM, then wait for the server to finish what it was doing and exit.

    The server bounds its own graceful shutdown; the deadline here only guards against a
    hang, after which the process is killed and the test fails saying so.
    """
    process.terminate()
    try:
        process.wait(timeout=180)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        raise AssertionError("the demo server did not stop within 180 s of SIGTERM") from None
