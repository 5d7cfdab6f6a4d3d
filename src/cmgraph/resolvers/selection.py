"""What a query selects below the field being resolved, as nested field names."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import strawberry
from graphql import FieldNode, FragmentDefinitionNode, FragmentSpreadNode, InlineFragmentNode

# {"actions": {"evidence": {"uploadedBy": {"name": {}}}}}: GraphQL field names.
Selection = dict[str, "Selection"]


def selected(info: strawberry.Info) -> Selection:
    """The fields selected below the current field, by GraphQL name, nested.

    Inline fragments and fragment spreads are merged into the selection they sit in, and
    a field asked for several times (under aliases, or in several fragments) is merged into
    one entry. Directives (``@skip``, ``@include``) and type conditions are ignored, so the
    result may name more than is finally resolved: it suits deciding what to load ahead.

    It depends on the document only, so it is kept for the field's nodes (the parse cache
    hands out the same document for the same text): shared, never to be changed.
    """
    raw = info._raw_info  # Strawberry's ``selected_fields`` reads the same, converting more
    return _names(_Nodes(tuple(raw.field_nodes), raw.fragments))


class _Nodes:
    """A field's nodes as a cache key: the same node objects, not equal ones. A key holds
    its nodes, so no other node can take their ``id`` while it is kept."""

    __slots__ = ("fragments", "key", "nodes")

    def __init__(
        self, nodes: Sequence[FieldNode], fragments: Mapping[str, FragmentDefinitionNode]
    ) -> None:
        self.nodes = nodes
        self.fragments = fragments
        self.key = tuple(map(id, nodes))

    def __hash__(self) -> int:
        return hash(self.key)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Nodes) and other.key == self.key


@functools.lru_cache(maxsize=1024)
def _names(field: _Nodes) -> Selection:
    tree: Selection = {}
    merged: set[tuple[int, str]] = set()
    for node in field.nodes:
        _merge(tree, node.selection_set.selections if node.selection_set else (), field, merged)
    return tree


def _merge(
    tree: Selection, selections: Iterable[Any], field: _Nodes, merged: set[tuple[int, str]]
) -> None:
    """Adds ``selections`` to ``tree``. ``merged``: the fragments already in each tree (by
    its ``id``): a fragment spread again into the same tree adds nothing, and looking
    through it again would make fragments that spread the next one twice cost 2**n."""
    for selection in selections:
        if isinstance(selection, FieldNode):
            below = selection.selection_set.selections if selection.selection_set else ()
            _merge(tree.setdefault(selection.name.value, {}), below, field, merged)
        elif isinstance(selection, InlineFragmentNode):
            _merge(tree, selection.selection_set.selections, field, merged)
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            fragment = field.fragments.get(name)
            if fragment is not None and (id(tree), name) not in merged:  # unknown: refused
                merged.add((id(tree), name))
                _merge(tree, fragment.selection_set.selections, field, merged)


def connection_nodes(tree: Selection) -> Selection:
    """The selection on a connection's items: ``nodes { … }`` and ``edges { node { … } }``."""
    merged: Selection = {}
    for part in (tree.get("nodes", {}), tree.get("edges", {}).get("node", {})):
        _merge_trees(merged, part)
    return merged


def _merge_trees(into: Selection, other: Selection) -> None:
    for name, below in other.items():
        _merge_trees(into.setdefault(name, {}), below)
