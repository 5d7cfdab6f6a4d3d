"""Builds the GraphQL schema with its limits, caches and error masking."""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import Iterator
from typing import Any

import strawberry
from graphql import (
    DocumentNode,
    GraphQLError,
    GraphQLSchema,
    GraphQLSyntaxError,
    OperationDefinitionNode,
)
from graphql.validation import ASTValidationRule
from strawberry.extensions import MaskErrors, ParserCache, SchemaExtension
from strawberry.extensions.runner import SchemaExtensionsRunner
from strawberry.schema.schema import validate_document
from strawberry.types import ExecutionContext
from strawberry.types.graphql import OperationType

from cmgraph.adapters.db import database_unavailable
from cmgraph.config import Settings
from cmgraph.schema.execution import with_fast_path
from cmgraph.schema.extension_hooks import HookRunner
from cmgraph.schema.input_values import build_inputs_directly
from cmgraph.schema.limits import VALIDATION_FAILED, NodeCounter, document_rule

log = logging.getLogger("cmgraph.graphql")

CACHE_SIZE = 512
UNAVAILABLE = "SERVICE_UNAVAILABLE"  # the HTTP view answers 503 for a result with this code


def _unexpected(error: GraphQLError) -> bool:
    """Raised by a bug or the environment, not on purpose."""
    original = error.original_error
    return original is not None and not isinstance(original, GraphQLError)


def _code_expected(result: Any) -> None:
    """Errors of GraphQL itself get a code: a syntax error, or a variable or operation name
    that does not fit the document."""
    for error in getattr(result, "errors", None) or ():
        if not _unexpected(error):
            if isinstance(error, GraphQLSyntaxError):
                _give_code(error, "GRAPHQL_PARSE_FAILED")
            elif error.path is None:
                _give_code(error, "BAD_USER_INPUT")


class MaskUnexpectedErrors(MaskErrors):
    """Strawberry's error masking, with the request id and the database's state in the error.

    Errors raised on purpose (``GraphQLError`` with a code, validation errors) pass through;
    anything else is logged with its traceback and replaced by a generic error carrying the
    request id the client can quote.
    """

    def __init__(self) -> None:
        super().__init__(should_mask_error=_unexpected)

    def on_operation(self) -> Iterator[None]:
        yield from super().on_operation()
        _code_expected(self.execution_context.result)

    def on_stream_result(self, result: Any) -> Iterator[None]:
        """Subscriptions: each message is masked before it is sent."""
        _code_expected(result)
        yield from super().on_stream_result(result)

    def _process_result(self, result: Any) -> None:
        """Strawberry's, without its check of ``result`` against a runtime Protocol, which
        cost as much as the rest of the extension (every result with errors has them in
        ``errors``). Were Strawberry to rename the method, its own would run: the same."""
        if errors := getattr(result, "errors", None):
            result.errors = self._process_errors(errors)

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        original = error.original_error
        assert original is not None
        request_id = getattr(self.execution_context.context, "request_id", "-")
        if database_unavailable(original):
            # The environment, not a bug: one line, and a code that the HTTP view answers
            # with a 503 as a whole (http/app.py), unless a mutation already applied a
            # change: a retry of the whole document would apply it twice.
            log.warning("database unavailable in request %s: %r", request_id, original)
            return self._unavailable(error, request_id)
        log.error(
            "unexpected error in request %s at %s",
            request_id,
            error.path,
            exc_info=(type(original), original, original.__traceback__),
        )
        return GraphQLError(
            f"Unexpected error (request id {request_id}).",
            nodes=error.nodes,
            path=error.path,
            extensions={"code": "INTERNAL_SERVER_ERROR", "requestId": request_id},
        )

    def _unavailable(self, error: GraphQLError, request_id: str) -> GraphQLError:
        applied: set[str] = getattr(self.execution_context.context, "applied", set())
        if not applied:
            message, code = "The database is unavailable; try again shortly.", UNAVAILABLE
        elif error.path and error.path[0] in applied:
            message = (
                "The change was applied, but this field could not be read: "
                "the database is unavailable."
            )
            code = "APPLIED_BUT_UNREADABLE"
        else:
            # Root payloads are non-null: this error may null the whole reply, so it names
            # the root fields whose change was applied.
            return GraphQLError(
                "Not applied: the database became unavailable; send this change again (the "
                "fields in `extensions.applied` were applied).",
                nodes=error.nodes,
                path=error.path,
                extensions={"code": "NOT_APPLIED", "applied": sorted(applied)},
            )
        return GraphQLError(
            message,
            nodes=error.nodes,
            path=error.path,
            extensions={"code": code, "requestId": request_id},
        )


@functools.cache
def node_counter(schema: GraphQLSchema, max_page_size: int) -> NodeCounter:
    """One counter per schema: it measures the schema's introspection lists once."""
    return NodeCounter(schema, max_page_size)


# Documents parsed before, by text (and options): Strawberry's cache, shared by every request.
_parse = ParserCache(maxsize=CACHE_SIZE).cached_parse_document


class _Same:
    """A key that is ``value`` itself, not its contents."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __hash__(self) -> int:
        return id(self.value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Same) and other.value is self.value


@functools.lru_cache(maxsize=CACHE_SIZE)
def _validated(
    schema: GraphQLSchema, document: _Same, rules: tuple[type[ASTValidationRule], ...]
) -> list[GraphQLError]:
    return validate_document(schema, document.value, rules)


def _validate(
    schema: GraphQLSchema, document: DocumentNode, rules: tuple[type[ASTValidationRule], ...]
) -> list[GraphQLError]:
    """The document's validation errors, from a cache kept by document object: the parse
    cache gives the same object for the same text. (Strawberry's is kept by the document's
    contents, and graphql-core hashes those by walking the whole tree on every look-up.)
    A key holds its document, so no other document can take its ``id`` while it is kept."""
    return _validated(schema, _Same(document), tuple(rules))


def _give_code(error: GraphQLError, code: str) -> None:
    if not (error.extensions or {}).get("code"):
        error.extensions = {**(error.extensions or {}), "code": code}


class EachOperation(MaskUnexpectedErrors):
    """Every step of an operation, as the schema's one extension.

    - Before it, the document rules (depth and aliases) join the validation rules and the
      token limit the parse options, as Strawberry's ``AddValidationRules`` and
      ``MaxTokensLimiter`` would set them.
    - Parsing and validation come from caches. A syntax error is left for Strawberry to
      report: raised from the cache, it would escape the operation (and get no code).
    - Once a document is valid, the checks that need its operation (a subscription over
      HTTP, several operations without a name, too many objects) refuse it as a validation
      error would, over HTTP and WebSocket alike; validation errors get a code.
    - After it, errors are masked (``MaskUnexpectedErrors``) and the context drops what it
      cached for the operation (``release()``).

    One extension rather than five: Strawberry makes each extension anew for each
    operation, and enters and leaves a generator for each of its hooks.
    """

    def __init__(self, settings: Settings, rules: tuple[type[ASTValidationRule], ...]) -> None:
        super().__init__()
        self.rules = rules
        self.max_tokens = settings.max_tokens
        self.max_nodes = settings.max_query_nodes
        self.max_page_size = settings.max_page_size

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context
        context.validation_rules = context.validation_rules + self.rules
        context.parse_options["max_tokens"] = self.max_tokens
        yield from super().on_operation()
        release = getattr(context.context, "release", None)
        if release is not None:
            release()

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        with contextlib.suppress(GraphQLError):
            context.graphql_document = _parse(context.query, **context.parse_options)
        yield

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        assert document is not None  # Strawberry answers a syntax error before validating
        context.pre_execution_errors = _validate(
            context.schema._schema, document, context.validation_rules
        )
        if not context.pre_execution_errors:
            refusal = self._refusal()
            if refusal is not None:
                context.pre_execution_errors = [refusal]
        yield
        for error in context.pre_execution_errors or ():
            _give_code(error, VALIDATION_FAILED)

    def _refusal(self) -> GraphQLError | None:
        context = self.execution_context
        over_websocket = getattr(context.context, "over_websocket", False)
        if context.operation_type is OperationType.SUBSCRIPTION and not over_websocket:
            return GraphQLError(
                "Subscriptions run over WebSocket: connect to /graphql with the "
                "graphql-transport-ws protocol.",
                extensions={"code": "BAD_REQUEST"},
            )
        assert context.graphql_document is not None
        definitions = context.graphql_document.definitions
        operations = sum(isinstance(d, OperationDefinitionNode) for d in definitions)
        # ``operation_name`` falls back to the first operation's name: only a sent one counts.
        if operations > 1 and not getattr(context, "_provided_operation_name", None):
            return GraphQLError(
                "This document holds several operations: name the one to run (`operationName`).",
                extensions={"code": "BAD_REQUEST"},
            )
        counter = node_counter(context.schema._schema, self.max_page_size)
        count = counter.count(context.graphql_document, context.operation_name, context.variables)
        if count <= self.max_nodes:
            return None
        return GraphQLError(
            f"This operation could return up to {count:,} objects; the limit is "
            f"{self.max_nodes:,}. Ask for smaller pages (`first`) or fewer nested lists.",
            extensions={"code": "QUERY_TOO_COMPLEX", "nodeCount": count, "limit": self.max_nodes},
        )


class Schema(strawberry.Schema):
    """Strawberry's schema, without its log line per error, and on the fast path with the
    extension's hooks entered directly (``extension_hooks``).

    ``MaskUnexpectedErrors`` logs what needs a look; a client's mistake (a bad id, a
    refused query) is the client's, and one fuzzing client must not fill the log.
    """

    def create_extensions_runner(
        self, execution_context: ExecutionContext, extensions: list[SchemaExtension]
    ) -> SchemaExtensionsRunner:
        if self.execution_context_class is None:  # plain execution: Strawberry's throughout
            return super().create_extensions_runner(execution_context, extensions)
        return HookRunner(execution_context, extensions)

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        return None


def build_schema(
    query: type, settings: Settings, *, fast: bool = True, **kwargs: object
) -> strawberry.Schema:
    """The schema with its extensions; ``fast=False`` (the tests' reference) builds it for
    Strawberry's plain execution, without schema/execution.py's short paths."""
    # The depth and alias rule is made here once: the validation cache is keyed by the
    # rules, and a rule class made per request would miss the cache every time.
    limits = (document_rule(settings.max_query_depth, settings.max_aliases),)

    def make(execution_context_class: type[Any] | None) -> strawberry.Schema:
        return Schema(
            query=query,
            extensions=[lambda: EachOperation(settings, limits)],
            execution_context_class=execution_context_class,
            **kwargs,  # type: ignore[arg-type]
        )

    schema = with_fast_path(make) if fast else make(None)
    build_inputs_directly(schema)
    return schema
