"""From pressing "Sign in" to a usable dashboard, in the system's Chromium, on the demo.

Run from the repository root, after ``(cd web && npm ci && npm run build)``::

    python -m bench.web_sign_in [--runs 15]

Starts ``cmgraph serve --demo`` in a scratch folder (as the README's first command does),
then, per run, opens a fresh browser context on ``/sign-in``, fills in the owner's email and
password and times from the click to the dashboard showing the overall score and its
breakdown tables (the point where the page can be used). The baseline, measured in the same
run against the same server, is what the page has to wait for at least: ``POST /auth/login``
and the dashboard's GraphQL query over plain HTTP from Python. Also prints the gzipped size of
the JavaScript the sign-in and dashboard pages load.
"""

from __future__ import annotations

import argparse
import gzip
import os
import re
import tempfile
import time
from pathlib import Path

import httpx
from playwright.sync_api import sync_playwright
from tests.demo_server import start_demo

from bench.support import free_port, median

WEB_DIST = Path(os.environ.get("CMGRAPH_WEB_DIR") or Path(__file__).parents[1] / "web" / "dist")
DASHBOARD = """{ complianceScore { overall { earned possible percent }
  byCategory { key label score { earned possible percent } }
  byAssessment { key label score { earned possible percent } }
  byRegulation { key label score { earned possible percent } }
  solutions { solution earned possible remainingActions }
  contributions(first: 10) { remaining action { id title } } } }"""


def first_load_javascript() -> int:
    """Gzipped bytes of the scripts index.html loads (the lazily loaded pages excluded)."""
    index = (WEB_DIST / "index.html").read_text()
    total = 0
    for src in re.findall(r'(?:src|href)="(/assets/[^"]+\.js)"', index):
        total += len(gzip.compress((WEB_DIST / src.lstrip("/")).read_bytes(), 9))
    return total


def api_baseline(base: str, email: str, password: str) -> float:
    with httpx.Client(base_url=base, timeout=60) as client:
        started = time.perf_counter()
        login = client.post("/auth/login", json={"email": email, "password": password})
        login.raise_for_status()
        answer = client.post("/graphql", json={"query": DASHBOARD}, headers={"X-CMGraph-CSRF": "1"})
        answer.raise_for_status()
        return time.perf_counter() - started


# Runs in the page: press "Sign in" and resolve, in milliseconds, when the dashboard shows
# the overall score and a breakdown table. Timed inside the page (the app navigates without
# reloading), so the harness's polling does not count.
SIGN_IN_TO_DASHBOARD = """() => new Promise((resolve) => {
  const ready = () => document.querySelector('.big-number') && document.querySelector('table');
  const observer = new MutationObserver(() => {
    if (ready()) { observer.disconnect(); resolve(performance.now() - started); }
  });
  observer.observe(document.body, { subtree: true, childList: true });
  const started = performance.now();
  document.querySelector('form button[type=submit]').click();
})"""


def browser_sign_in(browser: object, base: str, email: str, password: str) -> float:
    context = browser.new_context(base_url=base)  # type: ignore[attr-defined]
    try:
        page = context.new_page()
        page.goto("/sign-in")
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill(password)
        return float(page.evaluate(SIGN_IN_TO_DASHBOARD)) / 1000
    finally:
        context.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    if not (WEB_DIST / "index.html").is_file():
        raise SystemExit("build the web app first: (cd web && npm ci && npm run build)")
    with tempfile.TemporaryDirectory() as folder:
        port = free_port()
        process, credentials = start_demo(Path(folder), port)
        base = f"http://127.0.0.1:{port}"
        email = next(e for e in credentials if e.startswith("owner@"))
        password = credentials[email][1]
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path="/usr/bin/chromium", headless=True
                )
                browser_sign_in(browser, base, email, password)  # warm the server's caches
                api, page = [], []
                for _ in range(args.runs):  # interleaved, so drift hits both alike
                    api.append(api_baseline(base, email, password))
                    page.append(browser_sign_in(browser, base, email, password))
                browser.close()
        finally:
            process.terminate()
            process.wait(timeout=30)
    print(f"first-load JavaScript (gzipped): {first_load_javascript():,} bytes")
    print(f"runs: {args.runs}")
    print(f"API baseline (login + dashboard query), median: {median(api) * 1000:7.1f} ms")
    print(f"browser, sign-in click to usable dashboard, median: {median(page) * 1000:7.1f} ms")
    print(f"ratio browser / API baseline: {median(page) / median(api):.2f}x")


if __name__ == "__main__":
    main()
