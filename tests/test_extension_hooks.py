"""schema/extension_hooks.py drives an extension's hooks as Strawberry's runner does.

The same recording extension runs under both runners, through a normal operation and
through errors raised inside each step, and must record the same calls and let the same
errors out.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from strawberry.extensions import SchemaExtension
from strawberry.extensions.runner import SchemaExtensionsRunner

from cmgraph.schema.extension_hooks import HookRunner


class Recording(SchemaExtension):
    """Records each hook's start and end, and swallows ``Swallowed`` in ``on_validate``."""

    def __init__(self, log: list[str]) -> None:
        self.log = log

    def on_operation(self) -> Iterator[None]:
        self.log.append("operation")
        try:
            yield
        except Exception as error:
            self.log.append(f"operation saw {type(error).__name__}")
            raise
        self.log.append("operation done")

    def on_parse(self) -> Iterator[None]:
        self.log.append("parse")
        yield
        self.log.append("parse done")

    def on_validate(self) -> Iterator[None]:
        self.log.append("validate")
        try:
            yield
        except Swallowed:
            self.log.append("validate swallowed")
            return
        self.log.append("validate done")


class Swallowed(Exception):
    pass


class Raised(Exception):
    pass


async def _run(runner_class: type[SchemaExtensionsRunner], fail_in: str, error: Any) -> list[str]:
    log: list[str] = []
    runner = runner_class(execution_context=None, extensions=[Recording(log)])  # type: ignore[arg-type]
    try:
        async with runner.operation():
            async with runner.parsing():
                if fail_in == "parse":
                    raise error
            async with runner.validation():
                if fail_in == "validate":
                    raise error
            async with runner.executing():
                if fail_in == "execute":
                    raise error
            log.append("after execute")
    except Exception as raised:
        log.append(f"out: {type(raised).__name__}")
    return log


@pytest.mark.parametrize(
    ("fail_in", "error"),
    [
        ("", None),
        ("parse", Raised()),
        ("validate", Raised()),
        ("validate", Swallowed()),
        ("execute", Raised()),
    ],
)
async def test_hooks_run_as_strawberrys_runner_runs_them(fail_in: str, error: Any) -> None:
    strawberrys = await _run(SchemaExtensionsRunner, fail_in, error)
    direct = await _run(HookRunner, fail_in, error)
    assert direct == strawberrys
    assert strawberrys[0] == "operation"  # the runs did run the hooks


def test_the_hooks_are_driven_directly() -> None:
    runner = HookRunner(execution_context=None, extensions=[Recording([])])  # type: ignore[arg-type]
    assert runner.direct is not None


def test_two_extensions_go_to_strawberrys_runner() -> None:
    runner = HookRunner(execution_context=None, extensions=[Recording([]), Recording([])])  # type: ignore[arg-type]
    assert runner.direct is None
