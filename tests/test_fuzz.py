"""Generated GraphQL documents, sent to the app by three kinds of caller.

hypothesis-graphql writes queries and mutations from the live schema, with arguments that
are valid for their types but otherwise anything: ids of the seeded objects, ids of other
types, malformed ids, text with control characters, NUL and very long text, odd dates and
cursors. Whoever asks and whatever is asked, the answer is JSON, never a 5xx and never an
unexpected (``INTERNAL_SERVER_ERROR``) error. The database is shared by the examples of a
test, so mutations change what later examples see.

Subscriptions are left out: they go over the WebSocket (tests/test_subscriptions.py).
"""

from __future__ import annotations

import base64
import json
import logging
from dataclasses import dataclass
from typing import Any

import graphql
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import Mode, from_schema, nodes
from sqlalchemy import select

from cmgraph.alerts.evaluator import evaluate_pending
from cmgraph.domain import models
from cmgraph.domain.assignment import assign_actions
from cmgraph.domain.enums import OrgRole
from cmgraph.domain.evidence import add_evidence_link
from cmgraph.domain.permissions import Principal
from cmgraph.schema.api import schema_sdl
from tests.builders import worked_example
from tests.conftest import Api
from tests.databases import Database

EXAMPLES_PER_CALLER = 600

SCHEMA = graphql.build_schema(schema_sdl())

# Every type that implements Node, with the table its ids are rows of.
NODE_TABLES: dict[str, Any] = {
    "Alert": models.Alert,
    "AlertPolicy": models.AlertPolicy,
    "Assessment": models.Assessment,
    "Control": models.Control,
    "Evidence": models.Evidence,
    "Group": models.Group,
    "ImprovementAction": models.ImprovementAction,
    "Notification": models.Notification,
    "Regulation": models.Regulation,
    "Template": models.Template,
    "User": models.User,
}

JSON_TYPES = ("application/json", "application/graphql-response+json")


def b64(raw: str | bytes) -> str:
    return base64.b64encode(raw.encode() if isinstance(raw, str) else raw).decode()


def weighted(*choices: tuple[int, st.SearchStrategy[Any]]) -> st.SearchStrategy[Any]:
    """One of the strategies, each drawn in proportion to its weight.

    (``st.one_of`` flattens nested ``one_of``s and ignores repeats, so it cannot weight.)
    """
    pool = [strategy for weight, strategy in choices for _ in range(weight)]
    return st.sampled_from(pool).flatmap(lambda strategy: strategy)


# Row ids that are not canonical positive decimals, or do not fit an id column.
ODD_ROW_IDS = [
    "²",
    "007",
    "-1",
    "0",
    "",
    " 1",
    "1 ",
    "+1",
    "1.0",
    "1e3",
    "1_000",
    "٣",
    "0x1",
    "9" * 19,
    "9" * 40,
    "1:2",
    "\x00",
    "NaN",
]
# Names in the schema that are not the type of any object with an id.
OTHER_TYPES = ["Node", "Query", "Mutation", "Viewer", "Score", "PageInfo", "UserError", "ID"]
TYPE_NAMES = [*NODE_TABLES, *OTHER_TYPES, "assessment", "Nope", "", "Type"]

ANY_TEXT = st.text(max_size=40)  # every code point but surrogates, NUL included
CONTROL_TEXT = st.text(
    alphabet=st.characters(min_codepoint=0, max_codepoint=0x1F)
    | st.sampled_from("\x7f\u2028\ufeff"),
    min_size=1,
    max_size=20,
)
LONG_TEXT = st.builds(
    lambda unit, n: unit * n,
    st.sampled_from(["x", "\x00", "é", "😀", "a\nb"]),
    st.sampled_from([1_000, 20_000, 100_001]),
)
# Values that pass a field's own checks now and then: names, links, addresses, keys.
PLAUSIBLE_TEXT = st.sampled_from(
    [
        "A1",
        "New assessment",
        "https://example.test/proof",
        "http://127.0.0.1/x",
        "javascript:alert(1)",
        "fuzz-reader@example.test",
        "we:t2",
        "cat-1",
        "Regulation X",
        "%",
        "_",
        "' OR 1=1 --",
    ]
)

MALFORMED_IDS = weighted(
    (2, ANY_TEXT),
    (1, CONTROL_TEXT),
    (1, LONG_TEXT),
    (
        3,
        st.builds(
            lambda t, r: b64(f"{t}:{r}"), st.sampled_from(TYPE_NAMES), st.sampled_from(ODD_ROW_IDS)
        ),
    ),
    (1, st.builds(lambda t, r: b64(f"{t}:{r}"), st.sampled_from(TYPE_NAMES), st.integers())),
    (
        1,
        st.sampled_from(
            [
                b64(b"\xff\xfe:1"),  # not UTF-8
                b64("Assessment:1").rstrip("="),  # unpadded
                b64("Assessment:1") + "\n",
                b64("ImprovementAction:1").replace("+", "-").replace("/", "_"),
                "QXNzZXNzbWVudDox===",
                "Assessment:1",
                "1",
                "null",
            ]
        ),
    ),
    (1, ANY_TEXT.map(b64)),
)
# ``after``/``before``: the server hands out base64 of a JSON list, [order, *sort values, id].
CURSOR_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | ANY_TEXT,
    lambda inner: st.lists(inner, max_size=3),
    max_leaves=6,
)
ODD_CURSORS = weighted(
    (2, st.lists(CURSOR_VALUES, max_size=4).map(lambda v: b64(json.dumps(v)))),
    (1, st.tuples(ANY_TEXT, ANY_TEXT, st.integers()).map(lambda v: b64(json.dumps(list(v))))),
    (1, st.integers().map(lambda n: b64(f"cursor:{n}"))),  # the offset cursors of old
)
DATES = weighted(
    (2, st.dates().map(str)),
    (1, st.sampled_from(["2024-02-30", "0000-01-01", "2026-13-01", "20260115", "", "today"])),
    (1, ANY_TEXT),
)
DATETIMES = weighted(
    (1, st.datetimes().map(lambda d: d.isoformat())),
    (1, st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat())),
    (1, st.sampled_from(["2026-01-15T25:00:00", "2026-01-15T00:00:00+99:00", "", "now"])),
    (1, ANY_TEXT),
)


@dataclass(frozen=True)
class Seeded:
    ids: list[str]  # the global id of every seeded object
    row_ids: list[int]


def scalars(seeded: Seeded) -> dict[str, st.SearchStrategy[graphql.ValueNode]]:
    """Value strategies for the schema's scalars, as GraphQL literals."""
    real = st.sampled_from(seeded.ids)
    wrong_type = st.builds(
        lambda t, r: b64(f"{t}:{r}"),
        st.sampled_from([*NODE_TABLES, *OTHER_TYPES]),
        st.sampled_from(seeded.row_ids),
    )
    ids = weighted((10, real), (4, wrong_type), (6, MALFORMED_IDS))
    text = weighted(
        (4, ANY_TEXT),
        (2, PLAUSIBLE_TEXT),
        (2, CONTROL_TEXT),
        (1, LONG_TEXT),
        (1, MALFORMED_IDS),
        (1, ODD_CURSORS),
        (1, real),
    )
    # Versions, page sizes, counts: mostly small, sometimes anything in 32 bits.
    ints = weighted((3, st.integers(-1, 5)), (1, st.integers(-(2**31), 2**31 - 1)))
    return {
        "ID": weighted((19, ids.map(nodes.String)), (1, st.integers(-1, 20).map(nodes.Int))),
        "String": text.map(nodes.String),
        "Int": ints.map(nodes.Int),
        "Date": DATES.map(nodes.String),
        "DateTime": DATETIMES.map(nodes.String),
        "JSON": st.sampled_from(["{}", "[]", "x"]).map(nodes.String),
        # An upload goes as a multipart file part; as an inline literal it is a mistake.
        "Upload": weighted((1, ANY_TEXT), (1, st.just("file"))).map(nodes.String),
    }


class Caller:
    """A token and the documents to send with it (``repr`` kept short for failure reports)."""

    def __init__(self, token: str, documents: st.SearchStrategy[str]) -> None:
        self.token = token
        self.documents = documents

    def __repr__(self) -> str:
        return "Caller(...)"


async def seed(uow: Any, db: Database, owner: Principal, token_for: Any) -> dict[str, str]:
    """The worked example, evidence links, an assignment mail, alerts; tokens by caller."""
    async with uow() as u:
        world = await worked_example(u, owner)
        for name in ("T1", "T2"):  # customer actions: provider ones take no evidence
            link = f"https://x.test/{name}"
            await add_evidence_link(u, owner, world.actions[name].id, f"Proof {name}", link)
    tokens = {
        "owner": await token_for("fuzz-owner@example.test", OrgRole.OWNER),
        "reader": await token_for("fuzz-reader@example.test", OrgRole.READER),
        # No organisation role: one ASSESSOR grant, on A2 only.
        "auditor": await token_for(
            "fuzz-auditor@example.test",
            None,
            grant_role=OrgRole.ASSESSOR,
            assessment_id=world.a2.id,
        ),
    }
    async with uow() as u:
        reader = await u.session.scalar(
            select(models.User).where(models.User.email == "fuzz-reader@example.test")
        )
        assert reader is not None
        await assign_actions(u, owner, [world.actions["T2"].id], reader.id, notify=True)
    await evaluate_pending(db.sessions)  # alerts (the default policy) and their notifications
    return tokens


async def seeded_ids(db: Database) -> Seeded:
    ids: list[str] = []
    row_ids: set[int] = set()
    async with db.sessions() as session:
        for type_name, table in NODE_TABLES.items():
            rows = list(await session.scalars(select(table.id).order_by(table.id)))
            assert rows, f"no {type_name} was seeded"
            ids.extend(b64(f"{type_name}:{row_id}") for row_id in rows)
            row_ids.update(rows)
    return Seeded(ids, sorted(row_ids))


def documents(seeded: Seeded) -> st.SearchStrategy[str]:
    """Queries and mutations: mostly one root field, drawn evenly; some with several; some
    invalid for the schema.

    Left to choose root fields itself, hypothesis-graphql favours the first ones (``node``
    and ``nodes`` in nearly every query), so each field gets a strategy of its own; ``node``
    and ``nodes``, which take any id, more often.
    """
    values = scalars(seeded)
    assert SCHEMA.query_type is not None and SCHEMA.mutation_type is not None
    roots = [*SCHEMA.query_type.fields, *SCHEMA.mutation_type.fields]
    one_field = weighted(
        *(
            (
                3 if name in ("node", "nodes") else 1,
                from_schema(SCHEMA, fields=[name], custom_scalars=values),
            )
            for name in roots
        )
    )
    return weighted(
        (6, one_field),
        (2, from_schema(SCHEMA, custom_scalars=values)),
        # One violation of the schema each (an unknown enum value, a missing argument...).
        (1, from_schema(SCHEMA, custom_scalars=values, mode=Mode.NEGATIVE)),
    )


@pytest.fixture
async def callers(uow: Any, db: Database, owner: Principal, token_for: Any) -> dict[str, Caller]:
    tokens = await seed(uow, db, owner, token_for)
    strategy = documents(await seeded_ids(db))
    return {name: Caller(token, strategy) for name, token in tokens.items()}


def shown(document: str, limit: int = 20_000) -> str:
    """The document, its middle left out when it is very long (a run re-draws it exactly)."""
    if len(document) <= limit:
        return document
    return f"{document[: limit // 2]}\n[... {len(document) - limit} characters ...]\n{document[-limit // 2 :]}"


def server_errors(caplog: pytest.LogCaptureFixture) -> str:
    return "\n".join(
        f"{r.name}: {r.getMessage()}\n{r.exc_text or ''}"
        for r in caplog.records
        if r.levelno >= logging.ERROR
    )


@pytest.mark.parametrize("who", ["owner", "reader", "auditor"])
@settings(
    max_examples=EXAMPLES_PER_CALLER,
    deadline=None,
    derandomize=True,  # the same documents on every run
    database=None,
    # No shrinking: the database changes from one example to the next, so a smaller document
    # may not fail the same way, and each try is a request. The failing document is reported.
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.function_scoped_fixture,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
)
@given(data=st.data())
async def test_any_document_gets_a_json_answer_without_an_unexpected_error(
    who: str,
    callers: dict[str, Caller],
    api: Api,
    caplog: pytest.LogCaptureFixture,
    data: st.DataObject,
) -> None:
    caller = callers[who]
    document = data.draw(caller.documents, label="document")
    caplog.clear()
    response = await api.post(document, token=caller.token)
    context = f"{who} sent:\n{shown(document)}\n-> {response.status_code} {response.text[:2000]}"
    logged = server_errors(caplog)
    assert response.status_code < 500, f"{context}\n{logged}"
    assert response.headers.get("content-type", "").split(";")[0] in JSON_TYPES, context
    body = response.json()
    assert isinstance(body, dict) and ("data" in body or "errors" in body), context
    for error in body.get("errors") or []:
        code = (error.get("extensions") or {}).get("code")
        assert code, f"an error without a code: {context}"
        assert code != "INTERNAL_SERVER_ERROR", f"{context}\n{logged}"
        assert not str(error.get("message", "")).startswith("Unexpected error"), context
    # Nor did anything go wrong behind a good answer.
    assert not logged, f"{context}\nand the server logged:\n{logged}"
