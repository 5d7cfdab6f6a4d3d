"""Pages both ways with keyset cursors, as a client sees them.

Every connection reads forwards (``first``/``after``) and backwards (``last``/``before``) over
the same rows in the same order; a cursor names a place in the order (its row's sort values
and id), so it keeps that place when rows come and go before it; cursors that the list did
not hand out, or that another order did, are refused with ``BAD_CURSOR``.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import select, update
from strawberry.relay import from_base64

from cmgraph.config import Settings
from cmgraph.domain import accounts
from cmgraph.domain.assessments import NewAssessment, create_assessment, delete_assessment
from cmgraph.domain.enums import (
    Enforcement,
    ImplementationStatus,
    ImplementationType,
    OrgRole,
    Purpose,
    Severity,
    TestStatus,
)
from cmgraph.domain.keyset import sort
from cmgraph.domain.models import Alert, AlertPolicy, Assessment, AuditEvent, ImprovementAction
from cmgraph.domain.permissions import Principal
from cmgraph.domain.templates import ActionSpec, ControlSpec, TemplateSpec, import_template
from cmgraph.domain.workflow import change_action
from cmgraph.resolvers.pages import PageRequest, read_page
from cmgraph.resolvers.reader import Reader
from tests.report_data import count_statements

ASSESSMENTS = ["Echo", "Alpha", "Delta", "Bravo", "Foxtrot", "Charlie"]  # created in this order


def _spec(key: str, names: list[str], titles: list[str], points: list[int]) -> TemplateSpec:
    actions = tuple(
        ActionSpec(
            f"{key}:{name}",
            title,
            ImplementationType.TECHNICAL,  # one instance for the organisation
            Enforcement.MANDATORY,
            Purpose.PREVENTATIVE,
            points=p,
        )
        for name, title, p in zip(names, titles, points, strict=True)
    )
    controls = tuple(
        ControlSpec(
            f"C{i}",
            "Family",
            f"Control {'ZYX'[i % 3]}",  # titles tie across controls
            action_keys=tuple(a.key for a in actions[i::4]),
        )
        for i in range(4)
    )
    return TemplateSpec(
        key, key.upper(), "Regulation P", "Paging", controls=controls, actions=actions
    )


@dataclass
class Library:
    owner: str  # tokens
    reader: str
    owner_principal: Principal
    assessments: dict[str, int]


@pytest.fixture
async def library(uow, owner: Principal, token_for) -> Library:
    """Twelve actions with tied titles, points and statuses, under six assessments."""
    names = [f"a{i:02d}" for i in range(12)]
    titles = [f"Title {'DCBA'[i % 4]}" for i in range(12)]
    points = [[5, 3, 5, 8][i % 4] for i in range(12)]
    statuses = [
        (ImplementationStatus.IMPLEMENTED, TestStatus.PASSED),
        (ImplementationStatus.PLANNED, None),
        (ImplementationStatus.IMPLEMENTED, TestStatus.FAILED_LOW_RISK),
    ]
    assessments = {}
    async with uow() as u:
        template = await import_template(u, _spec("pg", names, titles, points), source="test")
        for name in ASSESSMENTS:
            new = NewAssessment(template.template.id, name, new_group_name=f"Group {name}")
            assessments[name] = (await create_assessment(u, owner, new)).id
        for i in range(5):  # templates without assessments: definitions, no actions
            spec = _spec(f"t{i}", ["x"], ["T"], [1])
            await import_template(u, replace(spec, controls=spec.controls[:1]), source="test")
        for n, name in enumerate(["Sam Same", "Sam Same", "Sam Same", "Zed"]):
            await accounts.create_user(u, f"user{n}@example.test", name, OrgRole.READER)
        actions = list(
            await u.session.scalars(select(ImprovementAction).order_by(ImprovementAction.id))
        )
    for i, action in enumerate(actions[:9]):
        implementation, test = statuses[i % 3]
        changes: dict[str, Any] = {"implementation_status": implementation}
        if implementation is ImplementationStatus.IMPLEMENTED:
            changes |= {"implementation_date": date(2026, 1, 15), "test_status": test}
            changes |= {"test_date": date(2026, 1, 15)}
        async with uow() as u:
            await change_action(u, owner, action.id, changes)
    owner_token = await token_for("pager@example.test", OrgRole.OWNER)
    reader = await token_for("reader@example.test", OrgRole.READER)
    return Library(owner_token, reader, owner, assessments)


@pytest.fixture
async def alerting(uow, library: Library) -> None:
    """Seven alert policies and eight alerts, some created, detected or updated at once."""
    base = datetime(2026, 2, 1, 9, 0, 0, 500, tzinfo=UTC)
    async with uow() as u:
        policies = [
            AlertPolicy(
                name=f"Policy {'CABDGFE'[i]}",
                conditions=[{"type": "SCORE_CHANGE"}],
                created_at=base + timedelta(minutes=i // 2),  # pairs created at once
            )
            for i in range(7)
        ]
        u.session.add_all(policies)
        await u.session.flush()
        u.session.add_all(
            Alert(
                policy_id=policies[i % 7].id,
                policy_snapshot={"name": policies[i % 7].name},
                severity=Severity.HIGH,
                detected_at=base + timedelta(minutes=i % 3),
                window_ends_at=base + timedelta(hours=1),
                updated_at=base + timedelta(minutes=(7 - i) // 3),
            )
            for i in range(8)
        )
        for i in range(6):
            u.session.add(AuditEvent(action="USER_UPDATED", detail={"n": i}))


def _row_id(global_id: str) -> int:
    return int(from_base64(global_id)[1])


# -- walking both ways ---------------------------------------------------------------------

ACTION_FIELDS = "id key title points implementationStatus testStatus updatedAt"
_CONTROL = "id key title assessment { id }"


@dataclass(frozen=True)
class Listing:
    field: str
    fields: str
    order: str  # the orderBy argument, or "" for lists without one
    sort_key: Any = None  # node -> the value the order sorts by, when it can be checked
    leading: Any = None  # node -> a value sorted ascending before ``sort_key`` (controls)


def _by_id(node: dict[str, Any]) -> int:
    """Rows created one after another: their creation times sort as their ids do."""
    return _row_id(node["id"])


def _moment(name: str) -> Any:
    return lambda node: datetime.fromisoformat(node[name])


def _assessment(node: dict[str, Any]) -> int:
    return _row_id(node["assessment"]["id"])


LISTINGS = [
    *(
        Listing(
            "improvementActions",
            ACTION_FIELDS,
            f"{{field: {field}, direction: {direction}}}",
            (lambda f: lambda n: n[f])(name),
        )
        for field, name in [
            ("KEY", "key"),
            ("TITLE", "title"),
            ("POINTS", "points"),
            ("IMPLEMENTATION_STATUS", "implementationStatus"),
            ("TEST_STATUS", "testStatus"),
            ("UPDATED_AT", "updatedAt"),
        ]
        for direction in ("ASC", "DESC")
    ),
    Listing("assessments", "id name", "{field: NAME}", lambda n: n["name"]),
    Listing("assessments", "id name", "{field: CREATED_AT, direction: DESC}", _by_id),
    # Control keys C0..C3 are their positions in the template.
    Listing("controls", _CONTROL, "{field: POSITION}", lambda n: n["key"], _assessment),
    Listing(
        "controls", _CONTROL, "{field: TITLE, direction: DESC}", lambda n: n["title"], _assessment
    ),
    Listing("controls", _CONTROL, "{field: KEY}", lambda n: n["key"], _assessment),
    Listing("groups", "id name", "{field: NAME, direction: DESC}", lambda n: n["name"]),
    Listing("templates", "id title", "{field: CREATED_AT}", _by_id),
    Listing("users", "id email name", "{field: NAME}", lambda n: n["name"]),
    Listing("people", "id name", "", lambda n: n["name"]),
    Listing("alerts", "id detectedAt", "", _moment("detectedAt")),  # DETECTED_AT DESC
    Listing("alerts", "id updatedAt", "{field: UPDATED_AT, direction: ASC}", _moment("updatedAt")),
    Listing("alertPolicies", "id name", "{field: NAME, direction: DESC}", lambda n: n["name"]),
    Listing("alertPolicies", "id createdAt", "{field: CREATED_AT}", _moment("createdAt")),
    Listing("auditEvents", "id", "", _by_id),  # newest first
]
DESCENDING = {("alerts", ""), ("auditEvents", "")}  # the lists' default orders


def _query(listing: Listing) -> str:
    order = f"orderBy: {listing.order}, " if listing.order else ""
    return f"""query($first: Int, $after: String, $last: Int, $before: String) {{
      list: {listing.field}({order}first: $first, after: $after, last: $last, before: $before) {{
        totalCount
        edges {{ cursor node {{ {listing.fields} }} }}
        nodes {{ id }}
        pageInfo {{ hasNextPage hasPreviousPage startCursor endCursor }}
      }} }}"""


async def _page(api, token: str, listing: Listing, **arguments: Any) -> dict[str, Any]:
    data = await api.query(_query(listing), arguments, token=token)
    page = data["list"]
    edges = page["edges"]
    assert [e["node"]["id"] for e in edges] == [n["id"] for n in page["nodes"]]
    info = page["pageInfo"]
    assert info["startCursor"] == (edges[0]["cursor"] if edges else None)
    assert info["endCursor"] == (edges[-1]["cursor"] if edges else None)
    return page


@pytest.mark.parametrize("listing", LISTINGS, ids=lambda x: f"{x.field} {x.order}")
async def test_walking_forwards_and_backwards_gives_the_same_rows(
    api, library: Library, alerting: None, listing: Listing
) -> None:
    token = library.owner
    whole = await _page(api, token, listing, first=100)
    everything = [e["node"] for e in whole["edges"]]
    assert len(everything) == whole["totalCount"] >= 6
    assert whole["pageInfo"]["hasNextPage"] is whole["pageInfo"]["hasPreviousPage"] is False
    if listing.sort_key is not None:
        descending = "DESC" in listing.order or (listing.field, listing.order) in DESCENDING
        # Ties on the sort value are ordered by id in the same direction.
        ranked = sorted(
            everything, key=lambda n: (listing.sort_key(n), _row_id(n["id"])), reverse=descending
        )
        if listing.leading is not None:
            ranked.sort(key=listing.leading)  # stable: the order within each stays
        assert [n["id"] for n in everything] == [n["id"] for n in ranked]

    forwards, after, pages = [], None, 0
    while True:
        page = await _page(api, token, listing, first=5, after=after)
        pages += 1
        forwards += [e["node"] for e in page["edges"]]
        assert page["totalCount"] == whole["totalCount"]
        assert page["pageInfo"]["hasPreviousPage"] is (pages > 1)
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert forwards == everything

    backwards, before, pages = [], None, 0
    while True:
        page = await _page(api, token, listing, last=5, before=before)
        pages += 1
        backwards = [e["node"] for e in page["edges"]] + backwards
        assert page["totalCount"] == whole["totalCount"]
        assert page["pageInfo"]["hasNextPage"] is (pages > 1)
        if not page["pageInfo"]["hasPreviousPage"]:
            break
        before = page["pageInfo"]["startCursor"]
    assert backwards == everything

    # Each edge's cursor works both ways from its row.
    cursors = [e["cursor"] for e in whole["edges"]]
    middle = len(cursors) // 2
    ids = [n["id"] for n in everything]
    after_middle = await _page(api, token, listing, first=3, after=cursors[middle])
    assert [n["id"] for n in after_middle["nodes"]] == ids[middle + 1 : middle + 4]
    before_middle = await _page(api, token, listing, last=3, before=cursors[middle])
    assert [n["id"] for n in before_middle["nodes"]] == ids[max(0, middle - 3) : middle]
    between = await _page(api, token, listing, after=cursors[0], before=cursors[middle])
    assert [n["id"] for n in between["nodes"]] == ids[1:middle]


async def test_last_without_before_reads_the_end_of_the_list(api, library: Library) -> None:
    listing = Listing("assessments", "id name", "{field: NAME}")
    tail = await _page(api, library.reader, listing, last=2)
    assert [e["node"]["name"] for e in tail["edges"]] == ["Echo", "Foxtrot"]
    assert tail["pageInfo"]["hasNextPage"] is False
    assert tail["pageInfo"]["hasPreviousPage"] is True
    everything = await _page(api, library.reader, listing, last=10)
    assert [n["node"]["name"] for n in everything["edges"]] == sorted(ASSESSMENTS)
    assert everything["pageInfo"]["hasPreviousPage"] is False
    none = await _page(api, library.reader, listing, last=0)
    assert none["edges"] == [] and none["pageInfo"]["hasPreviousPage"] is True
    assert none["pageInfo"]["startCursor"] is None
    # ``before`` alone reads backwards too: the rows just before the cursor.
    foxtrot = tail["pageInfo"]["endCursor"]
    just_before = await _page(api, library.reader, listing, before=foxtrot)
    assert [e["node"]["name"] for e in just_before["edges"]] == sorted(ASSESSMENTS)[:-1]
    assert just_before["pageInfo"]["hasNextPage"] is True


@pytest.mark.parametrize(
    ("arguments", "field", "message"),
    [
        ({"first": 2, "last": 2}, "last", "`first` or `last`, not both"),
        ({"last": 101}, "last", "`last` must be between 0 and 100"),
        ({"last": -1}, "last", "`last` must be between 0 and 100"),
        ({"first": 101}, "first", "`first` must be between 0 and 100"),
    ],
)
async def test_page_sizes_are_bounded_and_first_with_last_is_refused(
    api, library: Library, arguments: dict[str, int], field: str, message: str
) -> None:
    errors = await api.errors(
        _query(Listing("improvementActions", "id", "")), arguments, token=library.reader
    )
    assert errors[0]["extensions"] == {"code": "BAD_USER_INPUT", "field": field}
    assert message in errors[0]["message"]


async def _post(db, token: str, query: str, variables: Any = None, **settings: Any) -> Any:
    """``query`` answered by an app of its own ``settings``."""
    import httpx

    from cmgraph.http.app import create_app

    app = create_app(Settings.from_env({}, **settings), db.engine)
    headers = {"Authorization": f"Bearer {token}"}
    body = {"query": query, "variables": variables or {}}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        return (await c.post("/graphql", json=body, headers=headers)).json()


async def test_the_cost_of_a_backward_page_is_counted_by_last(db, library: Library) -> None:
    """``last`` sizes a page for the query's cost as ``first`` does."""
    costs = {
        "last: 100": False,  # 100 * (1 + 20) > 1500
        "": True,  # the default 50: 50 * 21 <= 1500
        "last: 10": True,
    }
    for arguments, allowed in costs.items():
        page = f"({arguments})" if arguments else ""
        query = f"{{ controls{page} {{ nodes {{ actions {{ id }} }} }} }}"
        answer = await _post(db, library.reader, query, max_query_nodes=1500)
        if allowed:
            assert "errors" not in answer, (arguments, answer)
        else:
            assert answer["errors"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX", arguments


async def test_the_default_page_size_is_capped_by_the_largest_page(db, library: Library) -> None:
    """With ``max_page_size`` below the default 50, a page without ``first``/``last`` holds
    ``max_page_size`` rows, whichever way it is read, as the query's cost counts it."""
    query = """query($before: String) {
      improvementActions(before: $before) {
        nodes { id } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }"""
    everything = await _post(db, library.owner, "{ improvementActions { nodes { id } } }")
    ids = [n["id"] for n in everything["data"]["improvementActions"]["nodes"]]
    assert len(ids) == 12
    head = (await _post(db, library.owner, query, max_page_size=10))["data"]
    assert [n["id"] for n in head["improvementActions"]["nodes"]] == ids[:10]
    info = head["improvementActions"]["pageInfo"]
    assert (info["hasNextPage"], info["hasPreviousPage"]) == (True, False)
    tail = await _post(db, library.owner, "{ improvementActions(last: 1) { edges { cursor } } }")
    end = tail["data"]["improvementActions"]["edges"][0]["cursor"]
    before = await _post(db, library.owner, query, {"before": end}, max_page_size=10)
    assert [n["id"] for n in before["data"]["improvementActions"]["nodes"]] == ids[1:11]
    info = before["data"]["improvementActions"]["pageInfo"]
    assert (info["hasNextPage"], info["hasPreviousPage"]) == (True, True)


@pytest.mark.parametrize("selected", [True, False], ids=["flags", "no flags"])
async def test_flags_of_pages_bounded_both_ways(db, api, library: Library, selected: bool) -> None:
    """``first`` with ``before`` reads forwards up to ``before``; ``last`` with ``after`` reads
    backwards down to ``after``. The flag behind the starting cursor is exact either way."""
    listing = Listing("assessments", "id name", "{field: NAME}")
    whole = await _page(api, library.reader, listing, first=10)
    names = [e["node"]["name"] for e in whole["edges"]]  # Alpha .. Foxtrot
    cursors = [e["cursor"] for e in whole["edges"]]
    flags = "hasNextPage hasPreviousPage" if selected else ""
    query = """query($first: Int, $after: String, $last: Int, $before: String) {
      assessments(orderBy: {field: NAME}, first: $first, after: $after, last: $last,
                  before: $before) { nodes { name } pageInfo { startCursor %s } } }"""
    cases = [
        # arguments, the names, (hasNextPage, hasPreviousPage)
        ({"first": 2, "before": cursors[4]}, names[:2], (True, False)),
        ({"first": 2, "after": cursors[0], "before": cursors[4]}, names[1:3], (True, True)),
        ({"last": 2, "after": cursors[1]}, names[4:6], (False, True)),
        ({"last": 2, "after": cursors[1], "before": cursors[5]}, names[3:5], (True, True)),
        # Fewer rows than ``last`` between the cursors: none before them on this side.
        ({"last": 2, "after": cursors[3], "before": cursors[5]}, names[4:5], (True, False)),
        ({"last": 2, "before": cursors[0]}, [], (True, False)),  # empty, backward
        ({"last": 2, "after": cursors[5]}, [], (False, False)),  # no row after the end
        ({"first": 2, "after": cursors[5]}, [], (False, True)),
    ]
    counts: set[int] = set()
    for arguments, expected, (has_next, has_previous) in cases:
        with count_statements(db.engine) as statements:
            data = await api.query(query % flags, arguments, token=library.reader)
        page = data["assessments"]
        assert [n["name"] for n in page["nodes"]] == expected, arguments
        if selected:
            assert (page["pageInfo"]["hasNextPage"], page["pageInfo"]["hasPreviousPage"]) == (
                has_next,
                has_previous,
            ), arguments
        else:  # nothing asked behind the cursor, in the page's statement or after it
            assert not any("_page_behind" in s for s in statements), arguments
            counts.add(len(statements))
    assert len(counts) <= 1, counts


# -- cursors keep their place --------------------------------------------------------------


async def test_a_cursor_keeps_its_place_when_rows_come_and_go_before_it(
    api, uow, library: Library
) -> None:
    listing = Listing("assessments", "id name", "{field: NAME}")
    first = await _page(api, library.reader, listing, first=3)
    assert [e["node"]["name"] for e in first["edges"]] == ["Alpha", "Bravo", "Charlie"]
    charlie = first["pageInfo"]["endCursor"]
    bravo = first["edges"][1]["cursor"]

    async with uow() as u:
        await delete_assessment(u, library.owner_principal, library.assessments["Alpha"])
        template_id = (await u.session.get(Assessment, library.assessments["Bravo"])).template_id
        for name in ["Aardvark", "Bz", "Cz"]:  # two before the cursor, one after
            new = NewAssessment(template_id, name, new_group_name=f"Group {name}")
            await create_assessment(u, library.owner_principal, new)
    after = await _page(api, library.reader, listing, first=3, after=charlie)
    assert [e["node"]["name"] for e in after["edges"]] == ["Cz", "Delta", "Echo"]
    assert after["pageInfo"]["hasPreviousPage"] is True
    assert after["totalCount"] == 8

    # The cursor's own row may go too: the page after it still starts right after its place.
    async with uow() as u:
        await delete_assessment(u, library.owner_principal, library.assessments["Charlie"])
    after = await _page(api, library.reader, listing, first=2, after=charlie)
    assert [e["node"]["name"] for e in after["edges"]] == ["Cz", "Delta"]
    before = await _page(api, library.reader, listing, last=2, before=charlie)
    assert [e["node"]["name"] for e in before["edges"]] == ["Bravo", "Bz"]
    assert before["pageInfo"]["hasNextPage"] is True

    # Nothing left at or before a cursor: no previous page, even though one was there.
    async with uow() as u:
        for name in ["Aardvark", "Bravo"]:
            row = await u.session.scalar(select(Assessment).where(Assessment.name == name))
            await delete_assessment(u, library.owner_principal, row.id)
    after = await _page(api, library.reader, listing, first=1, after=bravo)
    assert [e["node"]["name"] for e in after["edges"]] == ["Bz"]
    assert after["pageInfo"]["hasPreviousPage"] is False


async def test_an_action_cursor_keeps_its_place_when_actions_come_and_go(
    api, uow, library: Library
) -> None:
    listing = Listing("improvementActions", "id key", "{field: KEY, direction: DESC}")
    first = await _page(api, library.reader, listing, first=4)
    keys = [e["node"]["key"] for e in first["edges"]]
    assert keys == ["pg:a11", "pg:a10", "pg:a09", "pg:a08"]
    cursor = first["pageInfo"]["endCursor"]
    async with uow() as u:  # four actions that sort before the cursor (descending: after "pg:")
        spec = _spec("zz", ["b1", "b2", "b3", "b4"], ["T"] * 4, [1, 2, 3, 4])
        template = await import_template(u, spec, source="test")
        added = await create_assessment(
            u, library.owner_principal, NewAssessment(template.template.id, "Z", new_group_name="Z")
        )
    after = await _page(api, library.reader, listing, first=2, after=cursor)
    assert [e["node"]["key"] for e in after["edges"]] == ["pg:a07", "pg:a06"]
    assert after["totalCount"] == 16
    whole = await _page(api, library.reader, listing, first=100)
    assert [e["node"]["key"] for e in whole["edges"]][:4] == ["zz:b4", "zz:b3", "zz:b2", "zz:b1"]
    async with uow() as u:
        await delete_assessment(u, library.owner_principal, added.id)
    after = await _page(api, library.reader, listing, first=2, after=cursor)
    assert [e["node"]["key"] for e in after["edges"]] == ["pg:a07", "pg:a06"]
    assert after["totalCount"] == 12


async def test_an_edited_row_is_found_by_its_new_values(api, uow, library: Library) -> None:
    """A cursor holds the values its row had: the row, edited, is listed where it now sorts."""
    listing = Listing("improvementActions", "id key points", "{field: POINTS}")
    whole = await _page(api, library.reader, listing, first=100)
    nodes = [e["node"] for e in whole["edges"]]
    cursor = whole["edges"][3]["cursor"]
    moved = nodes[3]
    async with uow() as u:
        await u.session.execute(
            update(ImprovementAction)
            .where(ImprovementAction.id == _row_id(moved["id"]))
            .values(points=99)
        )
    after = await _page(api, library.reader, listing, first=100, after=cursor)
    assert [e["node"]["id"] for e in after["edges"]] == [n["id"] for n in nodes[4:]] + [moved["id"]]


# -- refused cursors -----------------------------------------------------------------------


def _b64(payload: Any) -> str:
    text = payload if isinstance(payload, str) else json.dumps(payload, separators=(",", ":"))
    return base64.b64encode(text.encode()).decode()


def _payload(cursor: str) -> list[Any]:
    return json.loads(base64.b64decode(cursor))


async def _cursor(api, token: str, listing: Listing) -> str:
    page = await _page(api, token, listing, first=2)
    return page["pageInfo"]["endCursor"]


def _refused(errors: list[dict[str, Any]], field: str) -> str:
    assert errors[0]["extensions"] == {"code": "BAD_CURSOR", "field": field}, errors
    assert len(errors[0]["message"]) < 200
    return errors[0]["message"]


@pytest.mark.parametrize("field", ["after", "before"])
async def test_malformed_and_tampered_cursors_are_refused(
    api, library: Library, field: str
) -> None:
    by_points = Listing("improvementActions", "id", "{field: POINTS}")
    by_update = Listing("improvementActions", "id", "{field: UPDATED_AT}")
    by_status = Listing("improvementActions", "id", "{field: TEST_STATUS}")
    points = _payload(await _cursor(api, library.reader, by_points))
    updated = _payload(await _cursor(api, library.reader, by_update))
    status = _payload(await _cursor(api, library.reader, by_status))
    assert isinstance(points[1], int) and isinstance(points[2], int)
    by_key = Listing("improvementActions", "id", "{field: KEY}")
    key = _payload(await _cursor(api, library.reader, by_key))
    nan = f'["{points[0]}",NaN,{points[2]}]'
    cases = [
        (by_points, "nonsense"),
        (by_points, ""),
        (by_points, _b64("cursor:3")),  # an offset cursor of old
        (by_points, _b64(points).rstrip("=") + "?"),
        (by_points, _b64(json.dumps(points))),  # the same values, spelled with spaces
        (by_points, _b64(points) + "\n"),
        (by_points, _b64(points[:2])),  # a value missing
        (by_points, _b64([*points, 1])),  # one too many
        (by_points, _b64([points[0], "5", points[2]])),  # a string for a number
        (by_points, _b64([points[0], 5.5, points[2]])),
        (by_points, _b64([points[0], True, points[2]])),
        (by_points, _b64([points[0], None, points[2]])),  # NULL in a column without NULLs
        (by_points, _b64([points[0], 2**31, points[2]])),  # beyond the column's integers
        (by_points, _b64([points[0], 5, -(2**63) - 1])),
        (by_points, _b64([points[0], [5], points[2]])),
        (by_points, _b64({"order": points[0]})),
        (by_points, _b64(nan)),
        (by_points, "[" * 5000),
        (by_points, _b64("[" * 5000)),
        (by_points, "x" * 100_000),
        (by_update, _b64([updated[0], updated[1][:19], updated[2]])),  # no time zone
        (by_update, _b64([updated[0], "2026-02-30T00:00:00+00:00", updated[2]])),
        (by_update, _b64([updated[0], "yesterday", updated[2]])),
        (by_update, _b64([updated[0], "0001-01-01T00:00:00+01:00", updated[2]])),
        (by_update, _b64([updated[0], updated[1].replace("+00:00", "+01:00"), updated[2]])),
        (by_status, _b64([status[0], "ALMOST_PASSED", status[2]])),
        (by_status, _b64([status[0], "passed", status[2]])),
        (by_key, _b64(f'["{key[0]}","pg:\\u0000",{key[2]}]')),  # NUL in text
        (by_key, _b64(f'["{key[0]}","pg:\\ud800",{key[2]}]')),  # half a surrogate pair
        (by_key, _b64([key[0], key[1], str(key[2])])),
    ]
    for listing, cursor in cases:
        errors = await api.errors(_query(listing), {field: cursor}, token=library.reader)
        message = _refused(errors, field)
        assert f"Invalid cursor in `{field}`" in message, (cursor, message)


async def test_a_cursor_of_another_order_is_refused(api, library: Library) -> None:
    by_key = await _cursor(api, library.reader, Listing("improvementActions", "id", ""))
    assessments = await _cursor(api, library.reader, Listing("assessments", "id", ""))
    ascending = await _cursor(api, library.reader, Listing("controls", "id", "{field: TITLE}"))
    for listing, cursor in [
        (Listing("improvementActions", "id", "{field: TITLE}"), by_key),
        (Listing("improvementActions", "id", "{field: KEY, direction: DESC}"), by_key),
        (Listing("controls", "id", ""), assessments),
        (Listing("controls", "id", "{field: TITLE, direction: DESC}"), ascending),
        (Listing("people", "id", ""), assessments),
    ]:
        for field in ("after", "before"):
            errors = await api.errors(_query(listing), {field: cursor}, token=library.owner)
            assert "made under another order" in _refused(errors, field)
    # The default order is the order it names.
    page = await _page(api, library.reader, Listing("improvementActions", "id", ""), after=by_key)
    assert page["pageInfo"]["hasPreviousPage"] is True


async def test_a_cursor_is_opaque_json_of_the_sort_values_and_id(api, library: Library) -> None:
    listing = Listing("improvementActions", "id key", "{field: KEY}")
    page = await _page(api, library.reader, listing, first=1)
    edge = page["edges"][0]
    fingerprint, key, row_id = _payload(edge["cursor"])
    assert isinstance(fingerprint, str)
    assert (key, row_id) == (edge["node"]["key"], _row_id(edge["node"]["id"]))


# -- statements ----------------------------------------------------------------------------


async def test_a_page_is_one_statement_either_way(db, api, library: Library) -> None:
    """The page, its cursors and both flags come from one statement (the total count, when
    selected, from one more), as offset pages did."""
    listing = Listing("assessments", "id name", "{field: NAME}")
    query = """query($first: Int, $after: String, $last: Int, $before: String) {
      assessments(first: $first, after: $after, last: $last, before: $before) {
        nodes { name } pageInfo { hasNextPage %s endCursor startCursor } } }"""
    await api.query("{ viewer { role } }", token=library.reader)  # the token's last use
    middle = (await _page(api, library.reader, listing, first=3))["pageInfo"]["endCursor"]
    end = (await _page(api, library.reader, listing, last=1))["pageInfo"]["endCursor"]
    counts = []
    for arguments, previous in [
        ({"first": 2}, "hasPreviousPage"),
        ({"first": 2, "after": middle}, "hasPreviousPage"),
        ({"last": 2, "before": middle}, "hasPreviousPage"),
        ({"last": 2}, "hasPreviousPage"),
        ({"first": 2, "after": end}, ""),
        # An empty page has no row to carry what lies behind its cursor: asked once more.
        ({"first": 2, "after": end}, "hasPreviousPage"),
    ]:
        with count_statements(db.engine) as statements:
            data = await api.query(query % previous, arguments, token=library.reader)
        counts.append(len(statements))
    assert data["assessments"]["pageInfo"]["hasPreviousPage"] is True
    assert counts[1:] == [counts[0]] * 4 + [counts[0] + 1], counts


# -- nullable sort keys --------------------------------------------------------------------


@pytest.mark.parametrize("descending", [False, True], ids=["ascending", "descending"])
async def test_nullable_keys_sort_null_last_ascending_first_descending(
    db, library: Library, descending: bool
) -> None:
    """No list of the API sorts by a column that may be NULL yet; the pages module must still
    read them the same on SQLite and PostgreSQL: NULL after every value ascending."""
    async with db.sessions() as session:
        ids = list(
            await session.scalars(select(ImprovementAction.id).order_by(ImprovementAction.id))
        )
        # Two distinct dates, a tie on one of them, the rest NULL.
        days = {ids[0]: date(2026, 3, 1), ids[4]: date(2026, 1, 1), ids[5]: date(2026, 3, 1)}
        await session.execute(update(ImprovementAction).values(implementation_date=None))
        for row_id, day in days.items():
            await session.execute(
                update(ImprovementAction)
                .where(ImprovementAction.id == row_id)
                .values(implementation_date=day)
            )
        await session.commit()
    # Ties (on a date, or NULL) are ordered by id the way the date is.
    dated = sorted(days, key=lambda i: (days[i], i), reverse=descending)
    undated = [i for i in ids if i not in days]
    expected = undated[::-1] + dated if descending else dated + undated
    order = sort(ImprovementAction.implementation_date, descending, ImprovementAction.id)
    async with db.sessions() as session:
        context = SimpleNamespace(reader=Reader(session), settings=Settings.from_env({}))
        nothing_selected = SimpleNamespace(field_nodes=[], fragments={})
        info: Any = SimpleNamespace(context=context, _raw_info=nothing_selected)

        async def walk(**request: Any) -> tuple[list[int], Any]:
            arguments = {"first": None, "after": None} | request
            page = await read_page(info, select(ImprovementAction), order, PageRequest(**arguments))
            return [a.id for a in page.rows], page

        whole, everything = await walk(first=100)
        assert whole == expected
        forwards, after = [], None
        while True:
            rows, page = await walk(first=2, after=after)
            forwards += rows
            if not page.has_next:
                break
            after = page.cursors[-1]
        assert forwards == expected
        backwards, before = [], None
        while True:
            rows, page = await walk(last=2, before=before)
            backwards = rows + backwards
            if not page.has_previous:
                break
            before = page.cursors[0]
        assert backwards == expected
        # A cursor holding NULL: the rows after it, and before it.
        at = expected.index(undated[1])
        assert (await walk(first=100, after=everything.cursors[at]))[0] == expected[at + 1 :]
        assert (await walk(last=100, before=everything.cursors[at]))[0] == expected[:at]


async def test_people_and_users_page_by_name_both_ways(api, uow, library: Library) -> None:
    async with uow() as u:
        for i in range(5):
            await accounts.create_user(u, f"same{i}@example.test", "Same Name", OrgRole.READER)
    listing = Listing("people", "id name", "", lambda n: n["name"])
    whole = await _page(api, library.owner, listing, first=100)
    names = [e["node"]["name"] for e in whole["edges"]]
    assert names == sorted(names) and names.count("Same Name") == 5
    ids = [e["node"]["id"] for e in whole["edges"]]
    backwards, before = [], None
    while True:
        page = await _page(api, library.owner, listing, last=2, before=before)
        backwards = [n["id"] for n in page["nodes"]] + backwards
        if not page["pageInfo"]["hasPreviousPage"]:
            break
        before = page["pageInfo"]["startCursor"]
    assert backwards == ids
