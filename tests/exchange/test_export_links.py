"""Signed export links and GraphQL multipart uploads, as a client meets them."""

from __future__ import annotations

import json
import time
from urllib.parse import urlsplit

import httpx
import pytest
from strawberry import relay

from cmgraph.adapters.links import LinkExpired, LinkInvalid
from cmgraph.config import Settings
from cmgraph.domain.action_filter import ActionFilter
from cmgraph.domain.enums import ImplementationStatus, OrgRole, Owner, TestStatus
from cmgraph.exchange.downloads import check_ticket, sign_ticket
from cmgraph.http.app import create_app

KEY = b"k" * 32


def test_a_ticket_carries_its_request_and_refuses_tampering() -> None:
    token = sign_ticket(KEY, "improvement-actions", {"filter": {"search": "mfa"}}, 7, 2**40)
    ticket = check_ticket(KEY, token, "improvement-actions")
    assert (ticket.kind, ticket.params, ticket.user_id) == (
        "improvement-actions",
        {"filter": {"search": "mfa"}},
        7,
    )
    payload, _, mac = token.partition(".")
    forged = sign_ticket(KEY, "improvement-actions", {}, 1, 2**40).partition(".")[0]
    for bad in (f"{forged}.{mac}", f"{payload}.{mac[:-2]}AA", payload, "", "a.b.c"):
        with pytest.raises(LinkInvalid):
            check_ticket(KEY, bad, "improvement-actions")
    with pytest.raises(LinkInvalid):
        check_ticket(b"x" * 32, token, "improvement-actions")
    with pytest.raises(LinkInvalid):  # a link for one kind does not open another
        check_ticket(KEY, token, "assessment-report")


def test_an_expired_ticket_is_told_apart_from_a_forged_one() -> None:
    token = sign_ticket(KEY, "testing-history", {"action_id": 1}, 7, int(time.time()) - 1)
    with pytest.raises(LinkExpired):
        check_ticket(KEY, token, "testing-history")


def test_the_action_filter_survives_the_link() -> None:
    original = ActionFilter(
        assessment_ids=[3, 4],
        implementation_statuses=[ImplementationStatus.IMPLEMENTED],
        test_statuses=[TestStatus.PASSED, TestStatus.FAILED_LOW_RISK],
        owner=Owner.CUSTOMER,
        unassigned=False,
        search="Access",
    )
    carried = json.loads(json.dumps(original.to_json()))
    assert ActionFilter.from_json(carried) == original
    assert ActionFilter.from_json({}) == ActionFilter()


@pytest.fixture
async def reader(token_for) -> str:
    return await token_for("reader@example.test", OrgRole.READER)


async def test_links_come_from_graphql_and_bad_ones_are_refused(api, reader) -> None:
    data = await api.query(
        '{ improvementActionsExport(filter: {search: "x"}) { url expiresAt } }', token=reader
    )
    link = data["improvementActionsExport"]
    url = urlsplit(link["url"])
    assert url.path == "/exports/improvement-actions" and url.query.startswith("token=")
    assert 0 < _seconds_until(link["expiresAt"]) <= 300

    tampered = await api.client.get(f"{url.path}?{url.query[:-3]}xyz")
    assert tampered.status_code == 403
    assert tampered.json()["errors"][0]["extensions"]["code"] == "LINK_INVALID"
    unknown = await api.client.get(f"/exports/nothing-like-this?{url.query}")
    assert unknown.status_code == 404


async def test_a_disabled_persons_export_links_stop_working(api, reader, uow) -> None:
    from cmgraph.domain.people import update_user

    data = await api.query(
        "{ viewer { user { id } } improvementActionsExport { url } }", token=reader
    )
    url = urlsplit(data["improvementActionsExport"]["url"])
    assert (await api.client.get(f"{url.path}?{url.query}")).status_code == 200
    user_id = int(relay.GlobalID.from_id(data["viewer"]["user"]["id"]).node_id)
    async with uow() as u:
        await update_user(u, None, user_id, {"disabled": True})
    refused = await api.client.get(f"{url.path}?{url.query}")
    assert refused.status_code == 403
    assert refused.json()["errors"][0] == {
        "message": "This account is disabled.",
        "extensions": {"code": "FORBIDDEN"},
    }


def _seconds_until(iso: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(iso).timestamp() - time.time()


def _multipart(query: str, payload: bytes) -> dict[str, tuple]:
    return {
        "operations": (None, json.dumps({"query": query, "variables": {}})),
        "map": (None, "{}"),
        "0": ("padding.bin", payload, "application/octet-stream"),
    }


async def test_multipart_requests_need_the_csrf_header(api, reader) -> None:
    query = "{ viewer { role } }"
    headers = {"Authorization": f"Bearer {reader}"}
    refused = await api.client.post("/graphql", files=_multipart(query, b"x"), headers=headers)
    assert refused.status_code == 403
    assert refused.json()["errors"][0]["extensions"]["code"] == "CSRF_HEADER_MISSING"
    allowed = await api.client.post(
        "/graphql",
        files=_multipart(query, b"x"),
        headers={**headers, "X-CMGraph-CSRF": "1"},
    )
    assert allowed.status_code == 200, allowed.text
    assert allowed.json()["data"] == {"viewer": {"role": "READER"}}


async def test_uploads_may_exceed_the_request_cap_but_not_the_upload_cap(db, reader) -> None:
    settings = Settings.from_env({}, max_request_bytes=10_000, max_upload_bytes=200_000)
    transport = httpx.ASGITransport(app=create_app(settings, db.engine))
    headers = {"Authorization": f"Bearer {reader}", "X-CMGraph-CSRF": "1"}
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        within = await client.post(
            "/graphql", files=_multipart("{ viewer { role } }", b"x" * 100_000), headers=headers
        )
        beyond = await client.post(
            "/graphql", files=_multipart("{ viewer { role } }", b"x" * 300_000), headers=headers
        )
        plain = await client.post(
            "/graphql",
            json={"query": "{ viewer { role } }", "variables": {"pad": "x" * 20_000}},
            headers=headers,
        )
    assert within.status_code == 200, within.text
    assert beyond.status_code == 413
    assert plain.status_code == 413


def test_a_configured_secret_key_signs_links_on_every_server(tmp_path) -> None:
    from cmgraph.adapters.storage import link_key

    secret = "s" * 40
    one = Settings.from_env({"CMGRAPH_SECRET_KEY": secret, "CMGRAPH_DATA_DIR": str(tmp_path / "a")})
    two = Settings.from_env({"CMGRAPH_SECRET_KEY": secret, "CMGRAPH_DATA_DIR": str(tmp_path / "b")})
    token = sign_ticket(link_key(one), "assessment-report", {"assessment_id": 1}, 3, 2**40)
    assert check_ticket(link_key(two), token, "assessment-report").user_id == 3
    assert "s" * 40 not in repr(one)
    local = Settings.from_env({"CMGRAPH_DATA_DIR": str(tmp_path / "c")})
    with pytest.raises(LinkInvalid):
        check_ticket(link_key(local), token, "assessment-report")
    with pytest.raises(ValueError, match="at least 32"):
        Settings.from_env({"CMGRAPH_SECRET_KEY": "short"})
