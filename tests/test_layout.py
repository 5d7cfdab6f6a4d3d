"""Imports point the way the README's Layout says, and no module imports itself in a circle.

Every ``import`` of the code base (at module level or inside a function) is read with
``ast``. An import from one package ("room") to another must be one the layout allows, and
between modules there is no cycle at all, counting the package ``__init__`` modules an
import runs.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from functools import cache
from pathlib import Path

SOURCE = Path(__file__).resolve().parents[1] / "src" / "cmgraph"

LEAVES = {"config", "global_ids"}  # any room may use these; they use nothing of the project
# Which rooms each room may import, from the top of the layout down.
ALLOWED: dict[str, set[str]] = {
    "__main__": {"cli"},
    "cli": {"demo", "http", "schema", "alerts", "exchange", "domain", "adapters"},
    "demo": {"domain", "adapters"},
    "http": {"schema", "resolvers", "alerts", "exchange", "domain", "adapters"},
    "schema": {"resolvers", "alerts", "exchange", "domain", "adapters"},
    "resolvers": {"alerts", "exchange", "domain", "adapters"},
    "alerts": {"domain", "adapters"},
    "exchange": {"domain", "adapters"},
    "migrations": {"domain"},
    "domain": {"adapters"},
    "adapters": set(),
    "config": set(),
    "global_ids": set(),
}


def _room(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "cmgraph"


@cache
def _modules() -> dict[str, Path]:
    found = {}
    for path in SOURCE.rglob("*.py"):
        module = "cmgraph." + ".".join(path.relative_to(SOURCE).with_suffix("").parts)
        found[module.removesuffix(".__init__")] = path
    return found


@cache
def _imported() -> dict[str, list[tuple[str, int]]]:
    """Per module: the project's modules it imports, with the line of each import."""
    modules = _modules()
    result: dict[str, list[tuple[str, int]]] = {}
    for module, path in modules.items():
        imports = []
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                # Relative imports would escape the rooms' names; the project has none.
                assert node.level == 0, f"{module}:{node.lineno}: relative import"
            if isinstance(node, ast.ImportFrom) and node.module:
                # ``from package import module`` imports the module; ``from module import
                # name`` the module that holds the name.
                names = [
                    f"{node.module}.{alias.name}"
                    if f"{node.module}.{alias.name}" in modules
                    else node.module
                    for alias in node.names
                ]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            imports += [(name, node.lineno) for name in names if name.startswith("cmgraph.")]
        result[module] = imports
    return result


def _between_rooms() -> dict[tuple[str, str], list[str]]:
    """Imports between rooms: (from room, to room) -> where they are written."""
    found: dict[tuple[str, str], list[str]] = defaultdict(list)
    for module, imports in _imported().items():
        source = _room(module)
        for name, line in imports:
            if _room(name) != source:
                where = f"{_modules()[module].relative_to(SOURCE)}:{line}"
                found[(source, _room(name))].append(where)
    return found


def _cycles() -> list[list[str]]:
    """Groups of modules that import each other, directly or through others (Tarjan)."""
    modules = _modules()
    edges: dict[str, set[str]] = defaultdict(set)
    for module, imports in _imported().items():
        for name, _ in imports:
            # Importing ``a.b.c`` runs ``a.b``'s ``__init__`` first, and then ``a.b.c``.
            parts = name.split(".")
            for end in range(2, len(parts) + 1):
                target = ".".join(parts[:end])
                if target in modules and target != module:
                    edges[module].add(target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for target in sorted(edges[module]):
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == module:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for module in sorted(modules):
        if module not in index:
            visit(module)
    return groups


def test_every_import_between_packages_points_the_allowed_way() -> None:
    imports = _between_rooms()
    wrong = {
        edge: places
        for edge, places in imports.items()
        if edge[1] not in ALLOWED.get(edge[0], set()) | LEAVES
    }
    assert wrong == {}, "imports against the layout (README, Layout):\n" + "\n".join(
        f"  {a} -> {b}: {', '.join(places)}" for (a, b), places in sorted(wrong.items())
    )


def test_no_module_imports_itself_through_others() -> None:
    assert _cycles() == []
