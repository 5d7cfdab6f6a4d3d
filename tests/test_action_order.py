"""Action lists sort by the key, title and category each instance carries (kept with the
accepted version), and a page deep in such a list is read from an index in order."""

from __future__ import annotations

import dataclasses

from sqlalchemy import event

from cmgraph.domain import updates
from cmgraph.domain.templates import import_template
from tests.builders import N1, P1, T1, T2, _template, worked_example

LIST = """query ($field: ImprovementActionOrderField!, $after: String) {
  improvementActions(first: 2, after: $after, orderBy: {field: $field}) {
    pageInfo { endCursor hasNextPage } nodes { key title category } } }"""


async def listed(api, token: str, field: str) -> list[dict]:  # type: ignore[no-untyped-def]
    nodes, after = [], None
    while True:
        page = (await api.query(LIST, {"field": field, "after": after}, token=token))[
            "improvementActions"
        ]
        nodes += page["nodes"]
        if not page["pageInfo"]["hasNextPage"]:
            return nodes
        after = page["pageInfo"]["endCursor"]


def sorted_by(nodes: list[dict], name: str) -> list[dict]:
    return sorted(nodes, key=lambda n: n[name])


async def test_lists_follow_an_accepted_title_and_category(api, uow, owner, tokens) -> None:
    async with uow() as u:
        await worked_example(u, owner)
    reader = tokens["READER"]
    for field, name in (("KEY", "key"), ("TITLE", "title"), ("CATEGORY", "category")):
        nodes = await listed(api, reader, field)
        assert len(nodes) == 5 and [n[name] for n in nodes] == sorted(n[name] for n in nodes)
    # T2 becomes "A first look" in "Access"; accepted, the lists sort it first.
    t2 = dataclasses.replace(T2, title="A first look", category="Access")
    async with uow() as u:
        template = _template("x", "Regulation X", {"C1": (T1, N1), "C2": (T1, P1)})
        await import_template(u, template, source="test")
        await import_template(u, _template("y", "Regulation Y", {"C3": (N1, t2)}), source="test")
    async with uow() as u:
        await updates.accept_all_action_updates(u, owner)
    by_title = await listed(api, reader, "TITLE")
    assert by_title[0] == {"key": "we:t2", "title": "A first look", "category": "Access"}
    assert [n["title"] for n in by_title] == sorted(n["title"] for n in by_title)
    by_category = await listed(api, reader, "CATEGORY")
    assert by_category[0]["key"] == "we:t2"
    assert [n["category"] for n in by_category] == sorted(n["category"] for n in by_category)


async def test_a_deep_page_is_read_from_an_index_in_order(api, db, uow, owner, tokens) -> None:
    """The statement of a page after a cursor, planned as the database would run it when
    sorting is the expensive way: an index of the instance rows gives the order of the
    matches, and only the page's own rows (at most its size and one) are joined and put in
    order again."""
    async with uow() as u:
        await worked_example(u, owner)
    reader = tokens["READER"]
    first = (await api.query(LIST, {"field": "TITLE", "after": None}, token=reader))[
        "improvementActions"
    ]
    seen: list[tuple[str, object]] = []

    def record(conn, cursor, statement, parameters, context, many) -> None:  # type: ignore[no-untyped-def]
        if "improvement_action" in statement and "LIMIT" in statement:
            seen.append((statement, parameters))

    engine = db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        variables = {"field": "TITLE", "after": first["pageInfo"]["endCursor"]}
        await api.query(LIST, variables, token=reader)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    statement, parameters = seen[-1]
    postgresql = db.engine.dialect.name == "postgresql"
    async with db.engine.connect() as connection:
        if postgresql:
            await connection.exec_driver_sql("SET enable_sort = off")
            await connection.exec_driver_sql("SET enable_seqscan = off")
            plan = await connection.exec_driver_sql("EXPLAIN " + statement, parameters)
        else:
            plan = await connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
        rows = plan.all()
    text = "\n".join(str(row[-1]) for row in rows)
    if postgresql:
        # Right under the page's LIMIT, the index scan: nothing sorts the matches.
        lines = [line.strip() for line in text.splitlines()]
        limit = next(i for i, line in enumerate(lines) if line.startswith("->  Limit"))
        assert "ix_improvement_action_order_sort_title" in lines[limit + 1], text
    else:
        # EXPLAIN QUERY PLAN rows are (id, parent, _, detail): the page's subquery reads
        # the index and has no sort of its own.
        [page] = [row[0] for row in rows if row[-1].startswith("LIST SUBQUERY")]
        inside = [row[-1] for row in rows if row[1] == page]
        assert any("ix_improvement_action_order_sort_title" in d for d in inside), text
        assert not any("TEMP B-TREE" in d for d in inside), text
