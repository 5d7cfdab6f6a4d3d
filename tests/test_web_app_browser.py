"""The web app in a real browser, on the running demo, as compliance staff use it.

``cmgraph serve --demo`` runs as a newcomer starts it (its own data folder, SQLite, mail to
files) and serves the built app (``web/dist``, ``npm run build``). Playwright drives the
system's Chromium; no browser build is downloaded. Every page visited is screenshotted to
``CMGRAPH_SCREENSHOTS`` (default: a folder under the test run's temporary directory, outside
the repository) and scanned with axe-core for serious or critical accessibility violations.
"""

from __future__ import annotations

import datetime
import email
import email.policy
import io
import json
import os
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlencode

import httpx
import openpyxl
import pytest

from tests.demo_server import start_demo, stop_demo
from tests.graphql_ws import free_port
from tests.test_browser import chromium_binary

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect

WEB = Path(__file__).resolve().parents[1] / "web"
AXE = WEB / "node_modules" / "axe-core" / "axe.min.js"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
TIMEOUT_MS = 30_000  # a guard against a hang; every wait is for a condition


@dataclass(frozen=True)
class Demo:
    url: str
    data_dir: Path
    credentials: dict[str, tuple[str, str]]  # email -> (token, password)
    shots: Path

    def person(self, prefix: str) -> tuple[str, str, str]:
        """(email, token, password) of the demo user whose address starts with ``prefix@``."""
        found = next(e for e in self.credentials if e.startswith(f"{prefix}@"))
        return found, *self.credentials[found]

    def graphql(self, prefix: str, query: str, variables: dict[str, Any] | None = None) -> Any:
        """``data`` of a query sent with the person's API token; fails on any error."""
        _, token, _ = self.person(prefix)
        answer = httpx.post(
            f"{self.url}/graphql",
            json={"query": query, "variables": variables or {}},
            headers={"Authorization": f"Bearer {token}"},
            timeout=60,
        ).json()
        assert "errors" not in answer, answer
        return answer["data"]


def built_app() -> Path:
    return Path(os.environ.get("CMGRAPH_WEB_DIR") or WEB / "dist")


def _require_built_app() -> None:
    if (built_app() / "index.html").is_file() and AXE.is_file():
        return
    reason = "the web app is not built (cd web && npm ci && npm run build)"
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    executable = chromium_binary()
    _require_built_app()
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory, chromium: Any) -> Iterator[Demo]:
    data_dir = tmp_path_factory.mktemp("demo")
    shots = Path(os.environ.get("CMGRAPH_SCREENSHOTS") or tmp_path_factory.mktemp("screenshots"))
    shots.mkdir(parents=True, exist_ok=True)
    port = free_port()
    process, credentials = start_demo(data_dir, port)
    try:
        yield Demo(f"http://127.0.0.1:{port}", data_dir, credentials, shots)
    finally:
        stop_demo(process)


@pytest.fixture
def open_tab(chromium: Any, demo: Demo) -> Iterator[Callable[[], Any]]:
    """New tabs in one browser context (one cookie jar). Script errors and failed requests
    fail the test, but for the 401s a signed-out tab gets before it is sent to sign in. The
    tabs are offline but for cmgraph: a request to any other site is refused and fails it."""
    context = chromium.new_context(base_url=demo.url)
    context.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []

    def elsewhere(route: Any) -> None:
        errors.append(f"a request to another site: {route.request.url}")
        route.abort()

    context.route(lambda url: not url.startswith(demo.url), elsewhere)

    def new_tab() -> Any:
        page = context.new_page()
        page.on(
            "console",
            lambda m: (
                errors.append(m.text)
                if m.type == "error" and not m.text.startswith("Failed to load resource")
                else None
            ),
        )
        page.on(
            "response",
            lambda r: (
                errors.append(f"{r.status} {r.request.method} {r.url}")
                if r.status >= 400 and r.status != 401
                else None
            ),
        )
        page.on("pageerror", lambda e: errors.append(str(e)))
        return page

    yield new_tab
    context.close()
    assert errors == [], errors


def sign_in(page: Any, demo: Demo, prefix: str, path: str = "/") -> None:
    """Open ``path`` signed out, sign in on the page it sends us to, and land back on it."""
    email_address, _, password = demo.person(prefix)
    page.goto(path)
    page.wait_for_url(re.compile(r"/sign-in"))
    page.get_by_label("Email").fill(email_address)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/sign-in" not in url)
    assert page.url.removeprefix(demo.url) == path


def check_page(page: Any, demo: Demo, name: str) -> None:
    """A screenshot of the page, and no serious or critical axe-core violation on it."""
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(demo.shots / f"{name}.png"), full_page=True)
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    serious = [
        {"id": v["id"], "help": v["help"], "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert serious == [], f"{name}: {json.dumps(serious, indent=1)}"


def percent_text(value: float) -> str:
    """The dashboard's big number for an API percent (at most two decimals, en locale)."""
    return f"{value:.2f}".rstrip("0").rstrip(".") + "%"


def test_sign_in_returns_to_the_page_asked_for_and_the_dashboard_shows_the_apis_score(
    demo: Demo, open_tab: Callable[[], Any]
) -> None:
    page = open_tab()
    page.goto("/sign-in")
    check_page(page, demo, "sign-in")
    sign_in(page, demo, "owner", "/assessments")
    page.get_by_role("link", name="Overview").click()
    overall = demo.graphql("owner", "{ complianceScore { overall { percent } } }")
    expected = percent_text(overall["complianceScore"]["overall"]["percent"])
    expect(page.locator(".big-number")).to_have_text(expected)
    check_page(page, demo, "dashboard")


def test_the_graphql_ide_is_served_by_cmgraph_and_runs_as_the_signed_in_person(
    demo: Demo, open_tab: Callable[[], Any]
) -> None:
    page = open_tab()
    sign_in(page, demo, "reader")
    page.goto("/graphql")
    # The editor has loaded (from this server: its workers too) once it shows the query.
    expect(page.locator(".graphiql-query-editor")).to_contain_text("complianceScore")
    page.get_by_role("button", name=re.compile("Execute query")).click()
    expect(page.locator(".graphiql-response")).to_contain_text('"role": "READER"')
    page.screenshot(path=str(demo.shots / "graphiql.png"))


def test_signing_in_with_a_wrong_password_says_so_and_stays(
    demo: Demo, open_tab: Callable[[], Any]
) -> None:
    page = open_tab()
    page.goto("/sign-in")
    page.get_by_label("Email").fill(demo.person("reader")[0])
    page.get_by_label("Password").fill("not the password at all")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("Wrong email or password.")
    assert "/sign-in" in page.url


def read_mail(demo: Demo, to: str, subject_contains: str) -> list[email.message.EmailMessage]:
    found = []
    for path in sorted((demo.data_dir / "mail").glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert isinstance(message, email.message.EmailMessage)
        if to in str(message["To"]) and subject_contains in str(message["Subject"]):
            found.append(message)
    return found


IMPORT_TEMPLATE = """mutation($input: ImportTemplateWorkbookInput!) {
  importTemplateWorkbook(input: $input) { userErrors { code message } } }"""


def publish_a_new_template_version(demo: Demo) -> str:
    """A new version of the demo's template with one customer action's points changed, as an
    administrator imports it; returns the id of an action now pending that update."""
    template = demo.graphql("owner", "{ templates { nodes { workbookExport { url } } } }")
    url = template["templates"]["nodes"][0]["workbookExport"]["url"]
    workbook = openpyxl.load_workbook(io.BytesIO(httpx.get(url, timeout=60).content))
    actions = workbook["Actions"]
    header = [cell.value for cell in actions[1]]
    owner, points = header.index("Owner"), header.index("Points")
    row = next(r for r in actions.iter_rows(min_row=2) if r[owner].value != "Provider")
    row[points].value = int(row[points].value or 0) + 7
    out = io.BytesIO()
    workbook.save(out)
    _, token, _ = demo.person("owner")
    operations = {"query": IMPORT_TEMPLATE, "variables": {"input": {"file": None}}}
    answer = httpx.post(
        f"{demo.url}/graphql",
        files={
            "operations": (None, json.dumps(operations)),
            "map": (None, json.dumps({"0": ["variables.input.file"]})),
            "0": ("template.xlsx", out.getvalue(), XLSX),
        },
        headers={"Authorization": f"Bearer {token}", "X-CMGraph-CSRF": "1"},
        timeout=60,
    ).json()
    assert answer["data"]["importTemplateWorkbook"]["userErrors"] == [], answer
    pending = demo.graphql(
        "owner", "{ improvementActions(filter: {pendingUpdate: true}) { nodes { id } } }"
    )["improvementActions"]["nodes"]
    assert pending, "the new version left no action pending an update"
    return str(pending[0]["id"])


def wait_for(condition: Callable[[], Any], what: str, within: float = 60) -> Any:
    """Poll ``condition`` until it returns something truthy; fail after ``within`` seconds."""
    deadline = time.monotonic() + within
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


ACTION = """query($id: ID!) { node(id: $id) { ... on ImprovementAction {
  id title version implementationStatus pendingUpdate assignee { email }
  evidence { name } } } }"""


def action(demo: Demo, action_id: str) -> dict[str, Any]:
    return demo.graphql("owner", ACTION, {"id": action_id})["node"]


def links_in(message: email.message.EmailMessage) -> list[str]:
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    return re.findall(r"https?://\S+", body.get_content())


def test_assigning_to_a_person_found_by_search_mails_a_link_that_opens_the_action(
    demo: Demo, open_tab: Callable[[], Any]
) -> None:
    contributor = demo.person("contributor")[0]
    page = open_tab()
    sign_in(page, demo, "owner", "/actions")
    check_page(page, demo, "actions")
    row = page.get_by_role("checkbox", name=re.compile(r"^Select (?!all)")).first
    title = (row.get_attribute("aria-label") or "").removeprefix("Select ")
    row.check()
    page.get_by_role("button", name="Assign to user…").click()
    page.get_by_role("combobox", name="Assign to").fill("Luk")
    page.get_by_role("option", name=re.compile("Lukas Novak")).click()
    check_page(page, demo, "actions-assign")
    page.get_by_role("button", name="Assign", exact=True).click()
    expect(
        page.get_by_role("status").filter(has_text="Assigned 1 action to Lukas Novak")
    ).to_be_visible()

    listed = demo.graphql(
        "owner",
        "query($q: String) { improvementActions(filter: {search: $q}) { nodes { id title "
        "assignee { email } } } }",
        {"q": title},
    )["improvementActions"]["nodes"]
    assigned = next(a for a in listed if a["title"] == title)
    assert assigned["assignee"]["email"] == contributor

    def assignment_mail() -> list[str]:
        return [
            link
            for message in read_mail(demo, contributor, "")
            for link in links_in(message)
            if "/actions/" in link and title in message.get_body(("plain",)).get_content()
        ]

    link = wait_for(assignment_mail, "the assignment email")[0]
    mail_tab = open_tab()
    mail_tab.goto(link)
    expect(mail_tab.get_by_role("heading", level=1)).to_have_text(title)
    assert mail_tab.url == link


ALERTS = "{ alerts(filter: {statuses: [ACTIVE]}) { nodes { id status policy { name } } } }"


def test_an_alert_is_dismissed_from_its_page(demo: Demo, open_tab: Callable[[], Any]) -> None:
    # The demo's seeded changes move scores, which the built-in policy turns into alerts.
    alerts = wait_for(
        lambda: demo.graphql("owner", ALERTS)["alerts"]["nodes"], "the demo's first alert"
    )
    page = open_tab()
    sign_in(page, demo, "owner", "/alerts")
    check_page(page, demo, "alerts")
    page.get_by_role("link", name=alerts[0]["policy"]["name"]).first.click()
    page.wait_for_url(re.compile(r"/alerts/[^/]+$"))
    alert_id = unquote(page.url.rsplit("/", 1)[-1])
    check_page(page, demo, "alert")
    page.get_by_role("button", name="Dismiss alert").click()
    expect(page.get_by_role("button", name="Reopen alert")).to_be_visible()
    status = demo.graphql(
        "owner", "query($id: ID!) { node(id: $id) { ... on Alert { status } } }", {"id": alert_id}
    )
    assert status["node"]["status"] == "DISMISSED"
    page.get_by_role("link", name="Alert policies").click()
    check_page(page, demo, "alert-policies")


def test_the_scoped_auditor_sees_only_their_assessment(
    demo: Demo, open_tab: Callable[[], Any]
) -> None:
    page = open_tab()
    sign_in(page, demo, "auditor", "/assessments")
    check_page(page, demo, "assessments-auditor")
    expect(page.get_by_text("1 assessment", exact=True)).to_be_visible()
    expect(page.get_by_text("Head office")).to_have_count(0)
    page.get_by_role("link", name="Data protection \u2013 Subsidiary", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Subsidiary")
    check_page(page, demo, "assessment-auditor")
    # The overview counts only what the auditor may read, as the API does for them.
    page.get_by_role("link", name="Overview").click()
    overall = demo.graphql("auditor", "{ complianceScore { overall { percent } } }")
    expect(page.locator(".big-number")).to_have_text(
        percent_text(overall["complianceScore"]["overall"]["percent"])
    )
    # Owners' and administrators' pages are not offered to them.
    for hidden in ("People", "Settings", "Alert policies"):
        expect(page.get_by_role("link", name=hidden, exact=True)).to_have_count(0)


def test_a_forgotten_password_is_reset_from_the_emailed_link(
    demo: Demo, open_tab: Callable[[], Any]
) -> None:
    admin = demo.person("admin")[0]  # no other test signs in as them
    page = open_tab()
    page.goto("/sign-in")
    page.get_by_label("Email").fill(admin)
    page.get_by_role("link", name="Forgot your password?").click()
    expect(page.get_by_label("Email")).to_have_value(admin)  # carried over
    check_page(page, demo, "forgot-password")
    page.get_by_role("button", name="Send reset link").click()
    expect(page.get_by_role("status")).not_to_be_empty()

    def reset_link() -> list[str]:
        return [
            link
            for message in read_mail(demo, admin, "")
            for link in links_in(message)
            if "/set-password?token=" in link
        ]

    link = wait_for(reset_link, "the reset email")[-1]
    page.goto(link)
    check_page(page, demo, "set-password")
    page.get_by_label("New password").fill("a brand new passphrase")
    page.get_by_label("Repeat the password").fill("a brand new passphrase")
    page.get_by_role("button", name=re.compile("password", re.IGNORECASE)).click()
    page.wait_for_url(lambda url: "/set-password" not in url)
    expect(page.get_by_text("Marcus Okafor")).to_be_visible()  # signed in as them


def test_every_page_an_owner_opens_has_no_serious_accessibility_problem(
    demo: Demo, open_tab: Callable[[], Any]
) -> None:
    page = open_tab()
    sign_in(page, demo, "owner", "/my-items")
    check_page(page, demo, "my-action-items")
    for path, name in (
        ("/actions?groupBy=solution&passed=1", "actions-grouped"),
        ("/assessments", "assessments"),
        ("/people", "people"),
        ("/settings", "settings"),
        ("/no/such/page", "not-found"),
    ):
        page.goto(path)
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        check_page(page, demo, name)
    page.goto("/people")
    page.get_by_role("link", name="Lukas Novak").first.click()
    expect(page.get_by_role("heading", name=re.compile("Lukas Novak"))).to_be_visible()
    check_page(page, demo, "person")

    # Every dialog that creates something, open.
    for path, button, name in (
        ("/people", "Invite person", "invite"),
        ("/assessments", "Create assessment", "create-assessment"),
        ("/alert-policies", "New policy", "new-alert-policy"),
        ("/actions", "Bulk update…", "bulk-update"),
    ):
        page.goto(path)
        page.get_by_role("button", name=button, exact=True).click()
        expect(page.get_by_role("dialog")).to_be_visible()
        check_page(page, demo, name)
        page.keyboard.press("Escape")
        expect(page.get_by_role("dialog")).to_have_count(0)

    # Every tab of an action, chosen with the keyboard.
    page.goto("/actions")
    page.locator("table a[href^='/actions/']").first.click()
    tab = page.get_by_role("tab", name="Overview")
    tab.click()
    for name in ("overview", "implementation", "testing", "controls", "evidence", "history"):
        expect(page.get_by_role("tab", selected=True)).to_be_focused()
        check_page(page, demo, f"action-tab-{name}")
        page.keyboard.press("ArrowRight")


OVERALL = "{ complianceScore { overall { percent } } }"
NOT_IMPLEMENTED = """{ improvementActions(filter: {owner: CUSTOMER,
  implementationStatuses: [NOT_IMPLEMENTED], testStatuses: [NONE]}, first: 50) {
  nodes { id title points assessments { id } } } }"""


def test_a_status_saved_in_one_tab_changes_the_score_in_another_without_reload(
    demo: Demo, open_tab: Callable[[], Any]
) -> None:
    candidates = demo.graphql("owner", NOT_IMPLEMENTED)["improvementActions"]["nodes"]
    target = next(a for a in candidates if a["points"] > 0)
    before = demo.graphql("owner", OVERALL)["complianceScore"]["overall"]["percent"]

    dashboard = open_tab()
    sign_in(dashboard, demo, "owner")
    expect(dashboard.locator(".big-number")).to_have_text(percent_text(before))
    loads: list[str] = []
    dashboard.on("framenavigated", lambda frame: loads.append(frame.url))

    editor = open_tab()  # the same browser, so the same session
    editor.goto(f"/actions/{quote(target['id'])}?tab=implementation")
    expect(editor.get_by_role("heading", level=1)).to_have_text(target["title"])
    check_page(editor, demo, "action-implementation")
    editor.get_by_role("button", name="Edit implementation details").click()
    editor.get_by_label("Implementation status").select_option("OUT_OF_SCOPE")
    editor.get_by_role("button", name="Save implementation details").click()
    expect(editor.get_by_role("button", name="Edit implementation details")).to_be_visible()

    after = demo.graphql("owner", OVERALL)["complianceScore"]["overall"]["percent"]
    assert after > before  # its points left what is possible, none of them earned
    expect(dashboard.locator(".big-number")).to_have_text(percent_text(after))
    assert loads == []  # the dashboard changed in place


def test_evidence_uploaded_on_an_action_is_listed_and_downloadable(
    demo: Demo, open_tab: Callable[[], Any], tmp_path: Path
) -> None:
    target = demo.graphql("owner", NOT_IMPLEMENTED)["improvementActions"]["nodes"][-1]
    document = tmp_path / "access-review-2026.txt"
    document.write_text("Quarterly access review, signed off by the CISO.\n")
    page = open_tab()
    sign_in(page, demo, "contributor", f"/actions/{quote(target['id'])}?tab=evidence")
    page.get_by_label("File", exact=True).set_input_files(str(document))
    page.get_by_role("button", name="Upload", exact=True).click()
    expect(page.get_by_role("status").filter(has_text="Uploaded")).to_be_visible()
    link = page.get_by_role("link", name=re.compile("access-review-2026.txt"))
    expect(link).to_be_visible()
    check_page(page, demo, "action-evidence")
    assert document.name in [e["name"] for e in action(demo, target["id"])["evidence"]]
    download = page.request.get(link.get_attribute("href"))
    assert download.ok and download.body() == document.read_bytes()


def test_an_administrator_accepts_a_pending_update_from_the_action_page(
    demo: Demo, open_tab: Callable[[], Any]
) -> None:
    action_id = publish_a_new_template_version(demo)
    page = open_tab()
    sign_in(page, demo, "owner", f"/actions/{quote(action_id)}")
    page.get_by_role("button", name="Review update").click()
    expect(page.get_by_role("heading", name="Review update")).to_be_visible()
    check_page(page, demo, "action-pending-update")
    page.get_by_role("button", name="Accept update").click()
    expect(page.get_by_role("status").filter(has_text="Update accepted")).to_be_visible()
    assert action(demo, action_id)["pendingUpdate"] is False


def test_the_app_runs_on_a_server_that_runs_only_its_trusted_documents(
    chromium: Any, tmp_path: Path
) -> None:
    manifest = built_app() / "persisted-documents.json"
    port = free_port()
    process, credentials = start_demo(tmp_path, port, {"CMGRAPH_TRUSTED_DOCUMENTS": str(manifest)})
    base = f"http://127.0.0.1:{port}"
    context = chromium.new_context(base_url=base)
    context.set_default_timeout(TIMEOUT_MS)
    refused: list[str] = []
    try:
        page = context.new_page()
        page.on(
            "response",
            lambda r: refused.append(f"{r.status} {r.url}") if r.status >= 400 else None,
        )
        email_address = next(e for e in credentials if e.startswith("contributor@"))
        page.goto("/sign-in")
        page.get_by_label("Email").fill(email_address)
        page.get_by_label("Password").fill(credentials[email_address][1])
        page.get_by_role("button", name="Sign in").click()
        expect(page.locator(".big-number")).to_be_visible()
        for path in ("/actions", "/assessments", "/alerts", "/my-items"):
            page.goto(path)
            expect(page.get_by_role("heading", level=1)).to_be_visible()
            page.wait_for_load_state("networkidle")
        page.goto("/actions")
        page.locator("table a[href^='/actions/']").first.click()
        expect(page.get_by_role("tab", name="Evidence")).to_be_visible()
        page.wait_for_load_state("networkidle")
        while_using = list(refused)
        # A document the app does not hold is refused for them: the server trusts only these.
        other = page.evaluate(
            """async () => {
              const answer = await fetch('/graphql', {method: 'POST', headers: {
                'Content-Type': 'application/json', 'X-CMGraph-CSRF': '1'},
                body: JSON.stringify({query: '{ viewer { role } }'})});
              return [answer.status, (await answer.json()).errors[0].extensions.code];
            }"""
        )
    finally:
        context.close()
        stop_demo(process)
    assert while_using == []
    assert other == [400, "PERSISTED_QUERY_NOT_ALLOWED"]


def utc_today() -> datetime.date:
    return datetime.datetime.now(datetime.UTC).date()


def test_an_action_assigned_with_a_due_date_shows_as_overdue_or_due_soon_in_the_list(
    demo: Demo, open_tab: Callable[[], Any]
) -> None:
    candidates = demo.graphql("owner", NOT_IMPLEMENTED)["improvementActions"]["nodes"]
    late = candidates[1]
    soon = next(a for a in candidates[2:] if a["title"] != late["title"])
    page = open_tab()
    sign_in(page, demo, "owner", "/actions")
    for target, due, badge in (
        (late, utc_today() - datetime.timedelta(days=3), "Overdue"),
        (soon, utc_today() + datetime.timedelta(days=1), "Due soon"),
    ):
        page.goto(f"/actions?{urlencode({'q': target['title']})}")
        # An action used in two groups is listed twice, under the same title.
        checkbox = page.locator(f'[id="select-{target["id"]}"]')
        checkbox.check()
        page.get_by_role("button", name="Assign to user…").click()
        page.get_by_role("combobox", name="Assign to").fill("Luk")
        page.get_by_role("option", name=re.compile("Lukas Novak")).click()
        page.get_by_label("Due date (optional)").fill(due.isoformat())
        page.get_by_role("button", name="Assign", exact=True).click()
        expect(
            page.get_by_role("status").filter(has_text="Assigned 1 action to Lukas Novak")
        ).to_be_visible()
        row = page.locator("tr").filter(has=checkbox)
        expect(row.get_by_text(badge, exact=True)).to_be_visible()

    # The due date filter, in the URL like the others, lists each under its state.
    # (By id: the demo's own due dates may make another group's copy of a title overdue.)
    page.goto("/actions?due=OVERDUE")
    late_box = page.locator(f'[id="select-{late["id"]}"]')
    expect(late_box).to_be_visible()
    expect(page.locator(f'[id="select-{soon["id"]}"]')).to_have_count(0)
    check_page(page, demo, "actions-overdue")
    page.locator("tr").filter(has=late_box).get_by_role("link", name=late["title"]).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(late["title"])
    expect(page.locator(".action-header").get_by_text("Overdue", exact=True)).to_be_visible()
    check_page(page, demo, "action-overdue")


PROVIDER_ACTIONS = """{ improvementActions(filter: {owner: PROVIDER}, first: 100) {
  nodes { id title points version testStatus score { earned } } } }"""
RECORD_PROVIDER_RESULT = """mutation($input: RecordProviderResultInput!) {
  recordProviderResult(input: $input) { userErrors { message } } }"""
OVERALL_POINTS = "{ complianceScore { overall { earned possible percent } } }"


def test_a_provider_result_recorded_on_the_action_page_moves_the_score_by_its_points(
    demo: Demo, open_tab: Callable[[], Any]
) -> None:
    candidates = [
        a
        for a in demo.graphql("owner", PROVIDER_ACTIONS)["improvementActions"]["nodes"]
        if a["points"] > 0
    ]
    target = next((a for a in candidates if a["testStatus"] != "PASSED"), None)
    if target is None:  # every provider action passed: the provider reopens one's test first
        target = candidates[0]
        reopened = demo.graphql(
            "owner",
            RECORD_PROVIDER_RESULT,
            {"input": {"actionId": target["id"], "testStatus": "IN_PROGRESS"}},
        )
        assert reopened["recordProviderResult"]["userErrors"] == []
        target = next(
            a
            for a in demo.graphql("owner", PROVIDER_ACTIONS)["improvementActions"]["nodes"]
            if a["id"] == target["id"]
        )
    before = demo.graphql("owner", OVERALL_POINTS)["complianceScore"]["overall"]

    # A contributor reads why it is read-only, and is offered nothing to change it.
    page = open_tab()
    sign_in(page, demo, "contributor", f"/actions/{quote(target['id'])}")
    expect(page.get_by_text(re.compile("Provider actions are read-only")).first).to_be_visible()
    expect(page.get_by_role("button", name="Record provider result")).to_have_count(0)
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r"/sign-in"))

    # The owner has an administrator's rights (the administrator's password is another
    # test's to reset).
    sign_in(page, demo, "owner", f"/actions/{quote(target['id'])}")
    page.get_by_role("button", name="Record provider result").click()
    dialog = page.get_by_role("dialog", name="Record provider result")
    today = utc_today().isoformat()
    dialog.get_by_label("Implementation status").select_option("IMPLEMENTED")
    dialog.get_by_label("Implementation date").fill(today)
    dialog.get_by_label("Test status").select_option("PASSED")
    dialog.get_by_label("Test date").fill(today)
    check_page(page, demo, "action-provider-result")
    dialog.get_by_role("button", name="Record provider result").click()
    expect(
        page.get_by_role("status").filter(has_text="The provider's result is recorded.")
    ).to_be_visible()
    expect(page.locator(".action-header")).to_contain_text("Passed")

    after = demo.graphql("owner", OVERALL_POINTS)["complianceScore"]["overall"]
    gained = target["points"] - target["score"]["earned"]
    assert gained > 0
    assert after["earned"] == pytest.approx(before["earned"] + gained)
    assert after["possible"] == before["possible"]
    page.get_by_role("tab", name="History").click()
    expect(page.get_by_role("cell", name="Provider", exact=True).first).to_be_visible()
    check_page(page, demo, "action-provider-history")
    page.get_by_role("link", name="Overview").click()
    expect(page.locator(".big-number")).to_have_text(percent_text(after["percent"]))
    check_page(page, demo, "dashboard-breakdowns")


def test_evidence_past_its_review_date_is_marked_expired(
    demo: Demo, open_tab: Callable[[], Any]
) -> None:
    target = demo.graphql("owner", NOT_IMPLEMENTED)["improvementActions"]["nodes"][3]
    page = open_tab()
    sign_in(page, demo, "contributor", f"/actions/{quote(target['id'])}?tab=evidence")
    form = page.locator("form").filter(has=page.get_by_role("heading", name="Add a link"))
    form.get_by_label("Name").fill("Supplier contract")
    form.get_by_label("Address (http or https)").fill("https://example.com/contract.pdf")
    later = utc_today() + datetime.timedelta(days=30)
    form.get_by_label("Review by (optional)").fill(later.isoformat())
    form.get_by_role("button", name="Add link").click()
    row = page.locator("tr").filter(has=page.get_by_role("link", name="Supplier contract"))
    expect(row).to_be_visible()
    expect(row.get_by_text("Expired", exact=True)).to_have_count(0)

    row.get_by_role("button", name="Change review date of Supplier contract").click()
    dialog = page.get_by_role("dialog")
    yesterday = utc_today() - datetime.timedelta(days=1)
    dialog.get_by_label("Review by").fill(yesterday.isoformat())
    check_page(page, demo, "evidence-review-date")
    dialog.get_by_role("button", name="Save review date").click()
    expect(page.get_by_role("dialog")).to_have_count(0)
    expect(row.get_by_text("Expired", exact=True)).to_be_visible()
    expect(page.locator(".action-header").get_by_text("Evidence expired")).to_be_visible()
    check_page(page, demo, "evidence-expired")
