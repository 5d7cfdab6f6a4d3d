"""What a query selects below the field being resolved, as nested field names."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import strawberry
from strawberry.types.nodes import SelectedField

# {"actions": {"evidence": {"uploadedBy": {"name": {}}}}}: GraphQL field names.
Selection = dict[str, "Selection"]


def selected(info: strawberry.Info) -> Selection:
    """The fields selected below the current field, by GraphQL name, nested.

    Inline fragments and fragment spreads are merged into the selection they sit in, and
    a field asked for several times (under aliases, or in several fragments) is merged into
    one entry. Directives (``@skip``, ``@include``) and type conditions are ignored, so the
    result may name more than is finally resolved: it suits deciding what to load ahead.
    """
    tree: Selection = {}
    for field in info.selected_fields:
        _merge(tree, field.selections)
    return tree


def _merge(tree: Selection, selections: Iterable[Any]) -> None:
    for selection in selections:
        if isinstance(selection, SelectedField):
            _merge(tree.setdefault(selection.name, {}), selection.selections)
        else:  # an inline fragment or a fragment spread
            _merge(tree, selection.selections)


def connection_nodes(tree: Selection) -> Selection:
    """The selection on a connection's items: ``nodes { … }`` and ``edges { node { … } }``."""
    merged: Selection = {}
    for part in (tree.get("nodes", {}), tree.get("edges", {}).get("node", {})):
        _merge_trees(merged, part)
    return merged


def _merge_trees(into: Selection, other: Selection) -> None:
    for name, below in other.items():
        _merge_trees(into.setdefault(name, {}), below)
