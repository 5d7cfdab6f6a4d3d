"""The schema extension's hooks, entered without Strawberry's set-up on every call.

For each hook of each operation, Strawberry looks the hook up on every extension, wraps it
with ``contextlib.contextmanager`` and enters it through an ``AsyncExitStack``: 2% of the
instructions of a small list request. ``HookRunner`` looks the hooks up once per extension
class and drives a hook that is one generator method (all of ours are) itself: to its
``yield`` on entry, on to its end on a normal exit; an error is thrown in at its ``yield``
and let out even if the hook returns, as Strawberry lets it out. Any other shape of hook
goes to Strawberry's own context managers.

It is part of the fast path: the tests' reference schema (plain execution) runs
Strawberry's runner, and the corpus in tests/test_execution_fast_path.py compares the two.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Generator
from types import TracebackType
from typing import Any

from strawberry.extensions import SchemaExtension
from strawberry.extensions.runner import SchemaExtensionsRunner

HOOKS = ("on_operation", "on_parse", "on_validate", "on_execute")


_OVERRIDDEN: dict[type, dict[str, bool] | None] = {}


def _generator_hooks(cls: type[SchemaExtension]) -> dict[str, bool] | None:
    """For each hook: whether ``cls`` overrides it. None when one it overrides is not a
    plain generator function (an async one, or a callable)."""
    if cls in _OVERRIDDEN:
        return _OVERRIDDEN[cls]
    overridden = {name: getattr(cls, name) is not getattr(SchemaExtension, name) for name in HOOKS}
    plain = all(inspect.isgeneratorfunction(getattr(cls, n)) for n in HOOKS if overridden[n])
    _OVERRIDDEN[cls] = overridden if plain else None
    return _OVERRIDDEN[cls]


class _Step:
    """One hook of one extension as a (sync and async) context manager."""

    __slots__ = ("generator", "hook")

    def __init__(self, hook: Callable[[], Generator[None, None, None]]) -> None:
        self.hook = hook

    def __enter__(self) -> None:
        self.generator = self.hook()
        try:
            next(self.generator)
        except StopIteration:
            raise RuntimeError("a schema extension hook did not yield") from None

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Never suppresses ``error``: Strawberry's managers do not either, even when the
        hook returns instead of raising it again."""
        if error is None:
            try:
                next(self.generator)
            except StopIteration:
                return
            raise RuntimeError("a schema extension hook yielded twice")
        try:
            self.generator.throw(error)
        except StopIteration:
            return
        except BaseException as raised:
            if raised is error:
                return
            raise
        raise RuntimeError("a schema extension hook yielded again after an error")

    async def __aenter__(self) -> None:
        self.__enter__()

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.__exit__(kind, error, traceback)


class _Nothing:
    """A hook no extension has."""

    __slots__ = ()

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc_info: object) -> None:
        return None

    async def __aenter__(self) -> None:
        return None

    async def __aexit__(self, *exc_info: object) -> None:
        return None


_NOTHING = _Nothing()


class HookRunner(SchemaExtensionsRunner):
    """Strawberry's runner, with a schema of one generator-hook extension driven directly."""

    def __init__(
        self, execution_context: Any, extensions: list[SchemaExtension] | None = None
    ) -> None:
        super().__init__(execution_context, extensions)
        only = self.extensions[0] if len(self.extensions) == 1 else None
        self.direct = only if only is not None and _generator_hooks(type(only)) else None

    def _step(self, name: str, strawberrys: Callable[[], Any]) -> Any:
        extension = self.direct
        if extension is None:
            return strawberrys()
        overridden = _generator_hooks(type(extension))
        assert overridden is not None
        if not overridden[name]:
            return _NOTHING
        return _Step(getattr(extension, name))

    def operation(self) -> Any:
        return self._step("on_operation", super().operation)

    def parsing(self) -> Any:
        return self._step("on_parse", super().parsing)

    def validation(self) -> Any:
        return self._step("on_validate", super().validation)

    def executing(self) -> Any:
        return self._step("on_execute", super().executing)
