"""Imports between the packages of ``src/cmgraph`` point the way the README's Layout says.

Every ``import`` of the code base (at module level or inside a function) is read with
``ast``; an import from one package ("room") to another must be one the layout allows. One
wrong-way import is still there and listed as such: the test fails when a new one comes,
and also when a listed one is gone, so that the list is kept true.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

SOURCE = Path(__file__).resolve().parents[1] / "src" / "cmgraph"

LEAVES = {"config", "global_ids"}  # any room may use these; they use nothing of the project
# Which rooms each room may import, from the top of the layout down.
ALLOWED: dict[str, set[str]] = {
    "__main__": {"cli"},
    "cli": {"demo", "http", "schema", "alerts", "export", "domain", "adapters"},
    "demo": {"domain", "adapters"},
    "http": {"schema", "resolvers", "hub", "alerts", "export", "domain", "adapters"},
    "schema": {"resolvers", "alerts", "export", "domain", "adapters"},
    "resolvers": {"hub", "alerts", "export", "domain", "adapters"},
    "hub": {"domain", "adapters"},
    "alerts": {"domain", "adapters"},
    "export": {"domain", "adapters"},
    "migrations": {"domain"},
    "domain": {"adapters"},
    "adapters": set(),
    "config": set(),
    "global_ids": set(),
}
# Wrong-way imports not untangled yet (issue 10): resolvers build schema types.
KNOWN_WRONG_WAY = {("resolvers", "schema")}


def _room(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "cmgraph"


def _imports() -> dict[tuple[str, str], list[str]]:
    """Imports between rooms: (from room, to room) -> where they are written."""
    found: dict[tuple[str, str], list[str]] = defaultdict(list)
    for path in SOURCE.rglob("*.py"):
        module = "cmgraph." + ".".join(path.relative_to(SOURCE).with_suffix("").parts)
        source = _room(module.removesuffix(".__init__"))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
                if node.module == "cmgraph":
                    names = [f"cmgraph.{alias.name}" for alias in node.names]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            for name in names:
                if name.startswith("cmgraph.") and _room(name) != source:
                    where = f"{path.relative_to(SOURCE)}:{node.lineno}"
                    found[(source, _room(name))].append(where)
    return found


def test_every_import_between_packages_points_the_allowed_way() -> None:
    imports = _imports()
    wrong = {
        edge: places
        for edge, places in imports.items()
        if edge[1] not in ALLOWED.get(edge[0], set()) | LEAVES and edge not in KNOWN_WRONG_WAY
    }
    assert wrong == {}, "imports against the layout (README, Layout):\n" + "\n".join(
        f"  {a} -> {b}: {', '.join(places)}" for (a, b), places in sorted(wrong.items())
    )
    assert {edge for edge in KNOWN_WRONG_WAY if edge in imports} == KNOWN_WRONG_WAY, (
        "a listed wrong-way import is gone: take it off KNOWN_WRONG_WAY"
    )


def test_the_leaves_and_adapters_know_nothing_above_them() -> None:
    imports = _imports()
    for room in (*LEAVES, "adapters"):
        above = {b for (a, b) in imports if a == room} - LEAVES
        assert above == set(), f"{room} imports {sorted(above)}"
