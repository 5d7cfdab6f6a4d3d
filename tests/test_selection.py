"""``selected``: the names a query selects below a field, kept for the document's nodes."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from graphql import FieldNode, FragmentDefinitionNode, OperationDefinitionNode, parse

from cmgraph.resolvers.selection import connection_nodes, selected

DOCUMENT = """
{ improvementActions(first: 5) {
    totalCount
    nodes { id ...Shown heading: title ... on ImprovementAction { points } }
    edges { node { key } }
} }
fragment Shown on ImprovementAction { title assignee { name } }
"""


def info_for(document: Any) -> Any:
    """What ``selected`` reads of a resolver's info, for the document's first field."""
    operation, fragment = document.definitions
    assert isinstance(operation, OperationDefinitionNode)
    assert isinstance(fragment, FragmentDefinitionNode)
    field = operation.selection_set.selections[0]
    assert isinstance(field, FieldNode)
    raw = SimpleNamespace(field_nodes=[field], fragments={fragment.name.value: fragment})
    return SimpleNamespace(_raw_info=raw)


def test_fragments_and_aliases_merge_into_the_names_selected() -> None:
    tree = selected(info_for(parse(DOCUMENT)))
    assert tree == {
        "totalCount": {},
        "nodes": {"id": {}, "title": {}, "assignee": {"name": {}}, "points": {}},
        "edges": {"node": {"key": {}}},
    }
    assert connection_nodes(tree) == {
        "id": {},
        "title": {},
        "assignee": {"name": {}},
        "points": {},
        "key": {},
    }
    assert "key" not in tree["nodes"]  # merging the connection's items left the tree as it was


def test_the_names_are_kept_for_the_same_nodes_only() -> None:
    document = parse(DOCUMENT)
    first = selected(info_for(document))
    assert selected(info_for(document)) is first
    again = selected(info_for(parse(DOCUMENT)))  # equal text, other nodes: worked out anew
    assert again == first and again is not first
