"""The ``cmgraph`` command as an operator uses it: a real database file, real processes."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
from typer.testing import CliRunner

from cmgraph.adapters.migrate import head_revision
from cmgraph.cli import app
from tests.conftest import oscal_file
from tests.demo_server import start_demo, stop_demo
from tests.graphql_ws import free_port


def cli(env: dict[str, str], *args: str) -> str:
    result = CliRunner().invoke(app, list(args), env=env)
    assert result.exit_code == 0, result.output
    return result.output


def test_operator_flow(tmp_path: Path) -> None:
    env = {"CMGRAPH_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'ops.db'}"}
    assert f"database at revision {head_revision()}" in cli(env, "db", "upgrade")
    assert "OWNER" in cli(
        env, "users", "add", "Ann@Example.test", "--name", "Ann", "--role", "OWNER"
    )
    duplicate = CliRunner().invoke(app, ["users", "add", "ann@example.test"], env=env)
    assert duplicate.exit_code == 1 and "exists" in duplicate.output
    assert "password set" in cli(
        env, "users", "set-password", "ann@example.test", "--password", "twelve chars!"
    )
    short = CliRunner().invoke(
        app, ["users", "set-password", "ann@example.test", "--password", "short"], env=env
    )
    assert short.exit_code == 1 and "at least 12 characters" in short.output
    long_email = "a" * 250 + "@example.test"  # a valid address longer than a name may be
    assert long_email in cli(env, "users", "add", long_email)

    token = (
        cli(env, "tokens", "create", "ann@example.test", "--name", "laptop")
        .strip()
        .splitlines()[-1]
    )
    assert token.startswith("cmg_")
    listing = cli(env, "tokens", "list")
    assert "laptop" in listing and "active" in listing and token not in listing

    assert "created: version 1, 30 controls" in cli(env, "templates", "import-starter")
    assert "unchanged at version 1" in cli(env, "templates", "import-starter")
    imported = cli(env, "templates", "import-oscal", str(oscal_file("basic-catalog.json")))
    assert "created: version 1" in imported

    broken = tmp_path / "broken.json"
    broken.write_text('{"catalog": {"metadata": {}}}')
    failed = CliRunner().invoke(app, ["templates", "import-oscal", str(broken)], env=env)
    assert failed.exit_code == 1 and "error:" in failed.output

    token_id = re.search(r"^\s*(\d+)\s", listing, re.MULTILINE).group(1)  # type: ignore[union-attr]
    assert "revoked" in cli(env, "tokens", "revoke", token_id)
    assert "revoked" in cli(env, "tokens", "list", "ann@example.test")


def test_serve_refuses_an_unmigrated_database(tmp_path: Path) -> None:
    env = {"CMGRAPH_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"}
    result = CliRunner().invoke(app, ["serve"], env=env)
    assert result.exit_code == 1
    assert "cmgraph db upgrade" in result.output


def test_demo_starts_seeds_once_and_prints_tokens(tmp_path: Path) -> None:
    port = free_port()
    query = "{ viewer { role } assessments { totalCount } improvementActions { totalCount } }"
    seen = []
    for _ in range(2):
        process, tokens = start_demo(tmp_path, port)
        try:
            assert len(tokens) == 6
            email, (owner, password) = next(
                (email, t) for email, t in tokens.items() if email.startswith("owner@")
            )
            url = f"http://127.0.0.1:{port}"
            assert httpx.get(f"{url}/healthz").json() == {"status": "ok", "database": "ok"}
            ide = httpx.get(f"{url}/graphql", headers={"Accept": "text/html"})
            assert ide.status_code == 200 and "graphiql" in ide.text.lower()
            answer = httpx.post(
                f"{url}/graphql",
                json={"query": query},
                headers={"Authorization": f"Bearer {owner}"},
            ).json()
            assert answer["data"]["viewer"]["role"] == "OWNER"
            with httpx.Client(base_url=url) as browser:  # a person, with the printed password
                signed_in = browser.post("/auth/login", json={"email": email, "password": password})
                assert signed_in.status_code == 200, signed_in.text
                viewer = browser.get("/graphql", params={"query": "{ viewer { role } }"}).json()
                assert viewer["data"]["viewer"]["role"] == "OWNER"
            seen.append((tokens, answer["data"]))
        finally:
            stop_demo(process)
    (first_tokens, first_data), (second_tokens, second_data) = seen
    assert first_tokens == second_tokens
    assert first_data == second_data
    assert first_data["assessments"]["totalCount"] == 2
    assert (tmp_path / "cmgraph.db").exists()
