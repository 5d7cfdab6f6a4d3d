"""GraphQL execution with fewer calls per field: direct resolvers and a leaf short path.

Most fields of a large result are scalars or enums read straight from an attribute:
Strawberry's "basic" fields, with no resolver, no field extensions and no arguments. For each
of them graphql-core's general path builds a resolve info, calls Strawberry's resolver
wrapper, checks the result for an awaitable and completes it through several layers, about
three microseconds a field; a nested report of a large assessment has some 30,000 of them.
``LeafShortcutExecutionContext`` reads such a field with ``getattr`` and coerces the value
with the field's type directly. Anything out of the ordinary (``None`` for a non-null field,
an awaitable, a value the type cannot represent, an exception while reading) takes the
general path, so results and errors are exactly graphql-core's.

Both rest on internals of graphql-core and Strawberry. ``with_fast_path`` checks at schema
build that they are shaped as expected and otherwise builds the schema for plain execution,
with a warning; ``tests/test_execution_fast_path.py`` compares the two ways on a corpus.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from dataclasses import dataclass
from math import isfinite
from typing import TYPE_CHECKING, Any, TypeVar, cast

import strawberry
from graphql import (
    GRAPHQL_MAX_INT,
    GRAPHQL_MIN_INT,
    GraphQLBoolean,
    GraphQLEnumType,
    GraphQLFloat,
    GraphQLID,
    GraphQLInt,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLString,
    Undefined,
)
from strawberry.extensions import SchemaExtension

_IMPORT_ERROR: ImportError | None = None
if TYPE_CHECKING:
    from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
    from strawberry.schema.schema_converter import GraphQLCoreConverter
    from strawberry.types.field import StrawberryField
else:
    try:  # internals: when one is gone, ``fast_path_problem`` says so and nothing uses them
        from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
        from strawberry.schema.schema_converter import GraphQLCoreConverter
        from strawberry.types.field import StrawberryField
    except ImportError as error:
        _IMPORT_ERROR = error
        StrawberryGraphQLCoreExecutionContext = object  # a base for the class below, unused
        GraphQLCoreConverter = StrawberryField = None

log = logging.getLogger(__name__)
SchemaType = TypeVar("SchemaType", bound=strawberry.Schema)

_NOT_READ: Any = object()
_GENERAL: Any = object()  # a field that takes graphql-core's general path
_PLAIN = frozenset({str, int, float, bool})  # never awaitable

# The metadata key of a field (``strawberry.field(metadata={PREFETCHED: "attribute"})``)
# whose value may have been loaded ahead into ``attribute`` of the object; NOT_LOADED there
# means it was not, and the field's resolver runs.
PREFETCHED = "cmgraph.prefetched"
NOT_LOADED: Any = object()


@dataclass(frozen=True, slots=True)
class _Leaf:
    """How to produce one plain leaf field: read ``attribute``, then ``coerce`` it."""

    attribute: str
    nullable: bool
    coerce: Callable[[Any], Any]


def _enum_coercer(enum_type: GraphQLEnumType) -> Callable[[Any], Any]:
    """The type's own coercion, with its answers for the Python enum's members remembered.

    Strawberry's enum type finds a member's name by scanning all values; the answer only
    depends on the member, so it is computed once here for each of them.
    """
    coerce = enum_type.coerce_output_value
    members = getattr(enum_type, "wrapped_cls", None)
    if members is None:
        return coerce
    names = {member: coerce(member) for member in members}

    def coerce_member(value: Any) -> Any:
        if value.__class__ is members:
            return names[value]
        return coerce(value)

    return coerce_member


def _scalar_coercer(scalar: GraphQLScalarType) -> Callable[[Any], Any]:
    """The scalar's coercion, skipped for values it would return unchanged.

    For the built-in scalars that is a ``str`` for String and ID, a ``bool`` for Boolean,
    an ``int`` within 32 bits for Int and a finite ``float`` for Float (exact types only).
    """
    coerce = scalar.coerce_output_value
    if scalar is GraphQLString or scalar is GraphQLID:
        return lambda value: value if value.__class__ is str else coerce(value)
    if scalar is GraphQLBoolean:
        return lambda value: value if value.__class__ is bool else coerce(value)
    if scalar is GraphQLInt:
        return lambda value: (
            value
            if value.__class__ is int and GRAPHQL_MIN_INT <= value <= GRAPHQL_MAX_INT
            else coerce(value)
        )
    if scalar is GraphQLFloat:
        return lambda value: (
            value if value.__class__ is float and isfinite(value) else coerce(value)
        )
    return coerce


def _leaf(schema: GraphQLSchema, parent_type: GraphQLObjectType, name: str) -> _Leaf | None:
    """The short path for field ``name`` of ``parent_type``; None: take the general one."""
    field = schema.get_field(parent_type, name)
    if field is None or field.args:
        return None
    attribute = getattr(field.resolve, _READS, None)
    if attribute is None:
        return None
    return_type = field.type
    nullable = not isinstance(return_type, GraphQLNonNull)
    named = return_type.of_type if isinstance(return_type, GraphQLNonNull) else return_type
    if isinstance(named, GraphQLEnumType):
        coerce = _enum_coercer(named)
    elif isinstance(named, GraphQLScalarType):
        coerce = _scalar_coercer(named)
    else:
        return None
    return _Leaf(attribute, nullable, coerce)


# -- direct resolvers ---------------------------------------------------------------------------

_READS = "cmgraph_reads"  # on a resolver that only reads this attribute of its source


def _attribute_resolver(attribute: str) -> Callable[..., Any]:
    def resolve(source: Any, info: Any) -> Any:
        return getattr(source, attribute)

    setattr(resolve, _READS, attribute)
    resolve._is_default = True  # type: ignore[attr-defined] # as Strawberry marks its own
    return resolve


def _prefetched_resolver(attribute: str, resolver: Callable[..., Any]) -> Callable[..., Any]:
    def resolve(source: Any, info: Any) -> Any:
        value = getattr(source, attribute, NOT_LOADED)
        return resolver(source, info) if value is NOT_LOADED else value

    resolve._is_default = getattr(resolver, "_is_default", False)  # type: ignore[attr-defined]
    return resolve


_BASIC_RESOLVER = "_get_basic_result"  # Strawberry's resolver for a field without one


def use_direct_resolvers(schema: strawberry.Schema) -> str | None:
    """Give fields plain graphql-core resolvers where Strawberry's wrappers add nothing.

    A basic field (no resolver, no field extensions, the default ``getattr`` resolver)
    reads its attribute directly, where Strawberry calls its default resolver through two
    layers. A field with ``PREFETCHED`` metadata and no arguments or extensions answers with
    the attribute named there when it holds a value, and otherwise calls its resolver
    through Strawberry as before. The results are the same; only the calls in between go.

    Every field is checked before any is changed: the reason Strawberry's fields are not
    shaped as expected is returned, and the schema is left as it was. Skipped (None) for a
    schema with exception handlers, which wrap every resolver.
    """
    if _exception_handlers(schema):
        return None
    backref = GraphQLCoreConverter.DEFINITION_BACKREF
    changes: list[tuple[Any, Callable[..., Any]]] = []
    defined = 0
    for named in schema._schema.type_map.values():
        if not isinstance(named, GraphQLObjectType) or named.name.startswith("__"):
            continue
        for field in named.fields.values():
            definition = (field.extensions or {}).get(backref)
            if not isinstance(definition, StrawberryField):
                continue
            defined += 1
            missing = [a for a in _FIELD_ATTRIBUTES if not hasattr(definition, a)]
            if missing:
                return f"Strawberry's fields have no {', '.join(missing)}"
            if definition.extensions:
                continue
            if definition.is_basic_field and definition.default_resolver is getattr:
                if getattr(field.resolve, "__name__", "") != _BASIC_RESOLVER:
                    return (
                        f"Strawberry's resolver for fields without one (as on {named.name}) "
                        f"is no longer {_BASIC_RESOLVER}"
                    )
                changes.append((field, _attribute_resolver(definition.python_name)))
            elif PREFETCHED in definition.metadata and not field.args and field.resolve:
                resolver = _prefetched_resolver(definition.metadata[PREFETCHED], field.resolve)
                changes.append((field, resolver))
    if not defined:
        return f"no field carries its Strawberry definition under {backref!r}"
    for field, resolver in changes:
        field.resolve = resolver
    return None


_FIELD_ATTRIBUTES = ("is_basic_field", "default_resolver", "python_name", "metadata", "extensions")


def _exception_handlers(schema: strawberry.Schema) -> tuple[Any, ...]:
    converter = getattr(schema, "schema_converter", None)
    return tuple(
        getattr(schema, "exception_handlers", ())
        or getattr(converter, "exception_handlers", ())
        or ()
    )


# -- the start-up check and the warnings --------------------------------------------------------

_EXECUTE_FIELDS = (
    "self",
    "parent_type",
    "source_value",
    "path",
    "grouped_field_set",
    "position_context",
)


def fast_path_problem() -> str | None:
    """Why the internals this module relies on are not as expected; None when they are.

    Checked before a schema is built: the classes and constants it imports, the shape of
    graphql-core's ``execute_fields`` (overridden below), the executor's attributes read
    there, and what a grouped field set holds. ``use_direct_resolvers`` checks the fields
    of the built schema.
    """
    if _IMPORT_ERROR is not None:
        return f"cannot import Strawberry's internals ({_IMPORT_ERROR})"
    if not isinstance(getattr(GraphQLCoreConverter, "DEFINITION_BACKREF", None), str):
        return "GraphQLCoreConverter.DEFINITION_BACKREF is gone"
    base = StrawberryGraphQLCoreExecutionContext
    execute_fields = getattr(base, "execute_fields", None)
    if execute_fields is None:
        return f"{base.__name__} has no execute_fields"
    parameters = tuple(inspect.signature(execute_fields).parameters)
    if parameters != _EXECUTE_FIELDS:
        return f"execute_fields takes ({', '.join(parameters)})"
    for attribute in ("schema", "middleware_manager", "is_awaitable"):
        if not _declares(base, attribute):
            return f"{base.__name__} has no {attribute}"
    from graphql.execution import collect_fields, middleware

    if not _declares(middleware.MiddlewareManager, "middlewares"):
        return "graphql-core's MiddlewareManager has no middlewares"

    details = getattr(collect_fields, "FieldDetails", None)
    if details is None or "node" not in getattr(details, "_fields", ()):
        return "graphql-core's grouped field sets no longer hold FieldDetails with a node"
    if not callable(getattr(GraphQLSchema, "get_field", None)):
        return "GraphQLSchema.get_field is gone"
    if not callable(getattr(GraphQLString, "coerce_output_value", None)) or not hasattr(
        GraphQLEnumType, "coerce_output_value"
    ):
        return "graphql-core's types have no coerce_output_value"
    return None


def _declares(cls: type, attribute: str) -> bool:
    """Whether ``cls`` or a base declares ``attribute`` (annotation, slot or __init__)."""
    for klass in cls.__mro__:
        if attribute in vars(klass).get("__annotations__", {}) or attribute in vars(klass).get(
            "__slots__", ()
        ):
            return True
        init = vars(klass).get("__init__")
        try:
            if init is not None and attribute in inspect.signature(init).parameters:
                return True
        except (TypeError, ValueError):  # no signature to read
            continue
    return False


_warned: set[str] = set()


def _warn_once(message: str) -> None:
    if message not in _warned:
        _warned.add(message)
        log.warning(message)


def _middleware_warning(names: list[str]) -> str:
    return (
        f"GraphQL leaf shortcut off: {', '.join(sorted(set(names)))} hook into every field "
        "(a schema extension's resolve), so each field takes graphql-core's general path"
    )


def _name(middleware: Any) -> str:
    return str(getattr(middleware, "__name__", None) or type(middleware).__name__)


def warn_if_disabled(schema: strawberry.Schema) -> None:
    """Log (once) what in ``schema`` turns the shortcut or the direct resolvers off.

    A schema extension with a ``resolve`` hook (tracing, for one) becomes graphql-core
    middleware, which must see every field; exception handlers wrap every resolver. The
    results stay right; only the speed goes, which would otherwise go unnoticed.
    """
    get_extensions = getattr(schema, "get_extensions", None)  # as Strawberry makes them
    middleware = [
        _name(extension)
        for extension in (get_extensions() if get_extensions else ())
        if getattr(type(extension), "resolve", SchemaExtension.resolve)
        is not SchemaExtension.resolve
    ]
    if middleware:
        _warn_once(_middleware_warning(middleware))
    if _exception_handlers(schema):
        _warn_once(
            "GraphQL direct resolvers and leaf shortcut off: the schema has exception "
            "handlers, which wrap every resolver"
        )


def with_fast_path(make: Callable[[type[Any] | None], SchemaType]) -> SchemaType:
    """The schema ``make`` builds for an execution context class, taking the short paths.

    ``make(None)`` builds it for Strawberry's plain execution: the fallback, with a warning
    saying why, when the internals checked by ``fast_path_problem`` and
    ``use_direct_resolvers`` are not as expected.
    """
    problem = fast_path_problem()
    if problem is None:
        schema = make(LeafShortcutExecutionContext)
        problem = use_direct_resolvers(schema)
        if problem is None:
            warn_if_disabled(schema)
            return schema
    log.warning(
        "GraphQL fast path off, plain execution instead: %s (graphql-core or Strawberry "
        "changed; see schema/execution.py)",
        problem,
    )
    return make(None)


class LeafShortcutExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's execution context, taking the short path for plain leaf fields.

    ``execute_fields`` produces the plain leaves of an object itself and hands the other
    fields (and any leaf that needs the general path) to graphql-core's ``execute_fields``,
    then puts the values back in the order of the selection.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        manager = self.middleware_manager
        middleware = list(manager.middlewares or ()) if manager is not None else []
        # Middleware (schema extensions with a ``resolve`` hook) must see every field. One
        # added after the schema was built is told here, on the first execution.
        self._leaves: dict[tuple[str, str], _Leaf | None] | None = None if middleware else {}
        if middleware:
            _warn_once(_middleware_warning([_name(m) for m in middleware]))

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Any,
        grouped_field_set: dict[str, Any],
        position_context: Any,
    ) -> Any:
        if self._leaves is None:
            return super().execute_fields(
                parent_type, source_value, path, grouped_field_set, position_context
            )
        values: dict[str, Any] = {}
        others: dict[str, Any] = {}
        for response_name, field_details_list in grouped_field_set.items():
            value = self._leaf_value(parent_type, source_value, field_details_list)
            if value is _GENERAL:
                others[response_name] = field_details_list
            else:
                values[response_name] = value
        if not others:
            return values
        rest = super().execute_fields(parent_type, source_value, path, others, position_context)
        if not values:
            return rest
        if self.is_awaitable(rest):

            async def in_order() -> dict[str, Any]:
                return _in_order(grouped_field_set, values, await rest)

            return in_order()
        # ``is_awaitable`` is a TypeGuard, which narrows only where it holds: here it did not.
        return _in_order(grouped_field_set, values, cast("dict[str, Any]", rest))

    def _leaf_value(self, parent_type: GraphQLObjectType, source: Any, details: Any) -> Any:
        """The completed value of a plain leaf field, or _GENERAL for the general path."""
        node = details[0].node
        key = (parent_type.name, node.name.value)
        leaves = self._leaves
        assert leaves is not None
        leaf = leaves.get(key, _NOT_READ)
        if leaf is _NOT_READ:
            leaf = leaves[key] = _leaf(self.schema, parent_type, key[1])
        if leaf is None or node.arguments:
            return _GENERAL
        try:
            value = getattr(source, leaf.attribute)
            if value is None:
                return None if leaf.nullable else _GENERAL
            if value.__class__ not in _PLAIN and self.is_awaitable(value):
                return _GENERAL
            coerced = leaf.coerce(value)
        except Exception:
            return _GENERAL  # the general path reports it properly
        return _GENERAL if coerced is None or coerced is Undefined else coerced


def _in_order(
    order: dict[str, Any], leaves: dict[str, Any], others: dict[str, Any]
) -> dict[str, Any]:
    """Both parts' values, in the order of the selection (``others`` may lack some)."""
    result: dict[str, Any] = {}
    for name in order:
        if name in leaves:
            result[name] = leaves[name]
        elif name in others:
            result[name] = others[name]
    return result
