"""GraphQL execution with fewer calls per field: direct resolvers and short paths.

Most fields of a large result are scalars or enums read straight from an attribute:
Strawberry's "basic" fields, with no resolver, no field extensions and no arguments, or
fields whose value was prefetched into an attribute. For each of them graphql-core's general
path builds a resolve info, calls Strawberry's resolver wrapper, checks the result for an
awaitable and completes it through several layers, about three microseconds a field; a nested
report of a large assessment has some 30,000 of them. ``LeafShortcutExecutionContext`` plans
each selection once per execution and then reads such a field with ``getattr`` and coerces the
value with the field's type directly; an object (or a list of objects) whose whole selection
is such fields (a score, an assignee, an action with its evidence) is built in place, without
graphql-core's frames per level. Anything out of the ordinary (``None`` for a non-null field,
an awaitable, an object of another class, a value the type cannot represent, an exception
while reading) sends the whole field down the general path, so results and errors are exactly
graphql-core's.

Both rest on internals of graphql-core and Strawberry. ``with_fast_path`` checks at schema
build that they are shaped as expected and otherwise builds the schema for plain execution,
with a warning; ``tests/test_execution_fast_path.py`` compares the two ways on a corpus.
"""

from __future__ import annotations

import functools
import inspect
import keyword
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import EnumMeta
from math import isfinite
from types import CoroutineType, GeneratorType
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar
from weakref import WeakKeyDictionary

import strawberry
from graphql import (
    GRAPHQL_MAX_INT,
    GRAPHQL_MIN_INT,
    GraphQLBoolean,
    GraphQLEnumType,
    GraphQLFloat,
    GraphQLID,
    GraphQLInt,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLString,
    OperationDefinitionNode,
    Undefined,
)
from graphql.pyutils import Path, gather_with_cancel
from strawberry.extensions import SchemaExtension

_IMPORT_ERROR: ImportError | None = None
if TYPE_CHECKING:
    from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
    from strawberry.schema.schema_converter import GraphQLCoreConverter
    from strawberry.types.base import StrawberryObjectDefinition
    from strawberry.types.cast import TYPE_CAST_ATTRIBUTE
    from strawberry.types.field import StrawberryField
else:
    try:  # internals: when one is gone, ``fast_path_problem`` says so and nothing uses them
        from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
        from strawberry.schema.schema_converter import GraphQLCoreConverter
        from strawberry.types.base import StrawberryObjectDefinition
        from strawberry.types.cast import TYPE_CAST_ATTRIBUTE
        from strawberry.types.field import StrawberryField
    except ImportError as error:
        _IMPORT_ERROR = error
        StrawberryGraphQLCoreExecutionContext = object  # a base for the class below, unused
        GraphQLCoreConverter = StrawberryField = StrawberryObjectDefinition = None
        TYPE_CAST_ATTRIBUTE = "__as_strawberry_type__"

log = logging.getLogger(__name__)
SchemaType = TypeVar("SchemaType", bound=strawberry.Schema)

_GENERAL: Any = object()  # a field that takes graphql-core's general path
# Never awaitable: exact classes without an instance ``__dict__`` or an ``__await__``.
_PLAIN = frozenset({str, int, float, bool, datetime, date, Decimal})

_ODD = ("__await__", TYPE_CAST_ATTRIBUTE)  # in an object's own attributes: general path


# Attribute look-up of object, str and int: the class, then the instance's ``__dict__``.
_GENERIC_GETATTRIBUTE = (object.__getattribute__, str.__getattribute__, int.__getattribute__)


@functools.cache  # the schema's classes, asked about on every execution
def _plain_class(cls: type) -> bool:
    """Whether instances of ``cls`` are awaitable, or answer attributes, only through
    their own ``__dict__`` (checked for ``_ODD`` per object) and the class."""
    return (
        not issubclass(cls, CoroutineType | GeneratorType)
        and not hasattr(cls, "__await__")
        and not hasattr(cls, TYPE_CAST_ATTRIBUTE)
        and not any("__getattr__" in vars(klass) for klass in cls.__mro__)
        and cls.__getattribute__ in _GENERIC_GETATTRIBUTE
        and type(cls).__instancecheck__ is type.__instancecheck__
    )


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
    inert: frozenset[type] = _PLAIN  # exact classes of values that are never awaitable
    same: type | None = None  # the exact class of values ``coerce`` returns unchanged


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
    if scalar.name == "Date":
        return _remembering(coerce, date)
    return coerce


_REMEMBERED = 4096  # texts kept per scalar; a list's dates repeat (a day's work, a due date)


def _remembering(coerce: Callable[[Any], Any], cls: type) -> Callable[[Any], Any]:
    """``coerce``, with its answers for values of exactly ``cls`` (immutable, hashable, and
    equal only when the same: a ``date``) kept: formatting one costs more than a look-up."""
    texts: dict[Any, Any] = {}

    def coerce_remembered(value: Any) -> Any:
        if value.__class__ is not cls:
            return coerce(value)
        text = texts.get(value)
        if text is None:
            if len(texts) >= _REMEMBERED:
                texts.clear()
            text = texts[value] = coerce(value)
        return text

    return coerce_remembered


def _reader(field: Any) -> str | None:
    """The attribute a field's resolver answers with when it holds a value; None: none.

    A direct resolver reads it; a prefetched one answers with it unless it is NOT_LOADED.
    """
    resolve = field.resolve
    return getattr(resolve, _READS, None) or getattr(resolve, _PREFETCHES, None)


def _leaf(field: Any) -> _Leaf | None:
    """The short path for a field of the schema; None: take the general one."""
    attribute = _reader(field)
    if attribute is None:
        return None
    return_type = field.type
    nullable = not isinstance(return_type, GraphQLNonNull)
    named = return_type.of_type if isinstance(return_type, GraphQLNonNull) else return_type
    inert = _PLAIN
    if isinstance(named, GraphQLEnumType):
        coerce = _enum_coercer(named)
        members = getattr(named, "wrapped_cls", None)
        # Its members are never awaitable unless one was given an ``__await__`` of its own.
        listed: list[Any] = list(members) if isinstance(members, EnumMeta) else []
        if (
            isinstance(members, EnumMeta)
            and _plain_class(members)
            and not any(_ODD[0] in vars(member) for member in listed)
        ):
            inert = _PLAIN | {members}
    elif isinstance(named, GraphQLScalarType):
        coerce = _scalar_coercer(named)
    else:
        return None
    same = (
        str
        if named is GraphQLString or named is GraphQLID
        else bool
        if named is GraphQLBoolean
        else None
    )
    return _Leaf(attribute, nullable, coerce, inert, same)


# -- direct resolvers ---------------------------------------------------------------------------

_READS = "cmgraph_reads"  # on a resolver that only reads this attribute of its source
_PREFETCHES = "cmgraph_prefetches"  # on one that answers with this attribute when loaded


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

    setattr(resolve, _PREFETCHES, attribute)
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

# The executor's methods this module overrides or calls, with their parameters.
_METHODS = {
    "execute_fields": (
        "self",
        "parent_type",
        "source_value",
        "path",
        "grouped_field_set",
        "position_context",
    ),
    "execute_field": (
        "self",
        "parent_type",
        "source",
        "field_details_list",
        "path",
        "position_context",
    ),
    "collect_subfields": ("self", "return_type", "field_details_list"),
    "settle_in_background": ("self", "awaitables"),
}


def fast_path_problem() -> str | None:
    """Why the internals this module relies on are not as expected; None when they are.

    Checked before a schema is built: the classes and constants it imports, the shape of
    the executor's methods it overrides or calls (``_METHODS``) and of the attributes it
    reads, what collecting subfields answers and a grouped field set holds, and the parts of
    Strawberry's object definitions that say whether an object passes ``is_type_of``.
    ``use_direct_resolvers`` checks the fields of the built schema.
    """
    if _IMPORT_ERROR is not None:
        return f"cannot import Strawberry's internals ({_IMPORT_ERROR})"
    if not isinstance(getattr(GraphQLCoreConverter, "DEFINITION_BACKREF", None), str):
        return "GraphQLCoreConverter.DEFINITION_BACKREF is gone"
    base = StrawberryGraphQLCoreExecutionContext
    for method, expected in _METHODS.items():
        found = getattr(base, method, None)
        if not callable(found):
            return f"{base.__name__} has no {method}"
        parameters = tuple(inspect.signature(found).parameters)
        if parameters != expected:
            return f"{method} takes ({', '.join(parameters)})"
    for attribute in ("schema", "middleware_manager", "is_awaitable"):
        if not _declares(base, attribute):
            return f"{base.__name__} has no {attribute}"
    fields = getattr(StrawberryObjectDefinition, "__dataclass_fields__", {})
    if "origin" not in fields or "is_type_of" not in fields:
        return "Strawberry's object definitions have no origin or is_type_of"
    if not isinstance(TYPE_CAST_ATTRIBUTE, str):
        return "Strawberry's TYPE_CAST_ATTRIBUTE is not an attribute name"
    from graphql.execution import collect_fields, middleware

    if not _declares(middleware.MiddlewareManager, "middlewares"):
        return "graphql-core's MiddlewareManager has no middlewares"

    collected = getattr(collect_fields, "CollectedFields", None)
    if getattr(collected, "_fields", ())[:2] != ("grouped_field_set", "new_defer_usages"):
        return "graphql-core's collect_subfields no longer answers (grouped fields, defers, ...)"
    if len(getattr(collected, "_fields", ())) != 3:
        return "graphql-core's CollectedFields no longer holds three parts"
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


Entries: TypeAlias = "tuple[tuple[str, _Leaf | None, _Nested | None], ...]"
# Completes an object's whole selection: (source, is_awaitable) -> dict, or _GENERAL.
Completer: TypeAlias = Callable[[Any, Callable[[Any], Any]], Any]


@dataclass(frozen=True, slots=True)
class _Nested:
    """How to produce an object field (or a list of objects) whose whole selection is short.

    ``attribute`` holds the value (the field's ``_reader``); each object must be exactly of
    ``cls`` (the type's Strawberry class, with no ``is_type_of`` of its own, so graphql-core's
    check would pass), and ``complete`` (``_completer``'s for its selection) produces it.
    """

    attribute: str
    nullable: bool
    many: bool  # a list of such objects
    item_nullable: bool
    cls: type
    complete: Completer


@dataclass(frozen=True, slots=True)
class _Plan:
    """What ``execute_fields`` does for one grouped field set: an entry per response name,
    with the field details for the general path."""

    fields: dict[str, Any]  # the grouped field set it was made for (holds its field nodes)
    parent: GraphQLObjectType
    entries: tuple[tuple[str, _Leaf | None, _Nested | None, Any], ...]


# Completers by the entries they were written for: a selection seen before (in another
# execution of a document, or another document) is not written and compiled again.
_COMPLETERS: dict[Entries, Completer] = {}


def _completer(entries: Entries) -> Completer:
    """A function that completes the selection ``entries`` describe on one object.

    It is the loop over the entries written out, one block per entry, so that nothing of an
    entry is looked up per object (a report completes some 30,000 fields this way, and the
    loop took about half their time). For each leaf it reads the attribute, and returns _GENERAL
    when the value needs the general path (which then produces the whole field, errors
    included): ``None`` for a non-null field, a value not yet loaded, an awaitable, a value
    the type cannot represent. A missing attribute raises ``AttributeError``, and any error
    while reading goes out to the caller, which takes the general path too.

    Writing and compiling one costs about 40 microseconds a field, once per selection and
    process: a new document pays it on its first run, beside parsing and validating it.
    """
    complete = _COMPLETERS.get(entries)
    if complete is not None:
        return complete
    names: dict[str, Any] = {
        "GENERAL": _GENERAL,
        "NOT_LOADED": NOT_LOADED,
        "Undefined": Undefined,
        "complete_object": _object,
    }
    lines = ["def complete(source, is_awaitable):"]
    for i, (_, leaf, nested) in enumerate(entries):
        value = f"v{i}"
        if leaf is None:
            names[f"N{i}"] = nested
            lines += [
                f"    {value} = complete_object(N{i}, source, is_awaitable)",
                f"    if {value} is GENERAL: return GENERAL",
            ]
            continue
        names |= {
            f"A{i}": leaf.attribute,
            f"S{i}": leaf.same,
            f"I{i}": leaf.inert,
            f"C{i}": leaf.coerce,
        }
        read = (
            f"source.{leaf.attribute}"
            if leaf.attribute.isidentifier() and not keyword.iskeyword(leaf.attribute)
            else f"getattr(source, A{i})"
        )
        lines += [f"    {value} = {read}", f"    if {value}.__class__ is not S{i}:"]
        if leaf.nullable:  # None stays None; anything else is coerced
            lines.append(f"        if {value} is not None:")
            indent = " " * 12
        else:
            lines.append(f"        if {value} is None: return GENERAL")
            indent = " " * 8
        lines += [
            f"{indent}if {value}.__class__ not in I{i} and ({value} is NOT_LOADED"
            f" or is_awaitable({value})): return GENERAL",
            f"{indent}{value} = C{i}({value})",
            f"{indent}if {value} is None or {value} is Undefined: return GENERAL",
        ]
    pairs = ", ".join(f"{name!r}: v{i}" for i, (name, _, _) in enumerate(entries))
    lines.append(f"    return {{{pairs}}}")
    # Identifiers made here, checked attribute names and quoted keys only; named so that a
    # traceback or a profile says where the function comes from.
    exec(compile("\n".join(lines), "<cmgraph.schema.execution._completer>", "exec"), names)
    complete = names["complete"]
    if len(_COMPLETERS) >= _KEPT_PLANS:
        _COMPLETERS.clear()
    _COMPLETERS[entries] = complete
    return complete


def _object(nested: _Nested, source: Any, is_awaitable: Callable[[Any], Any]) -> Any:
    """The completed value of a ``_Nested`` field of ``source``, or _GENERAL."""
    value = getattr(source, nested.attribute, NOT_LOADED)
    if value is None:
        return None if nested.nullable else _GENERAL
    cls, complete = nested.cls, nested.complete
    awaits, cast = _ODD
    if not nested.many:
        if value.__class__ is not cls or awaits in value.__dict__ or cast in value.__dict__:
            return _GENERAL
        return complete(value, is_awaitable)
    if value.__class__ is not list:
        return _GENERAL
    items: list[Any] = []
    for item in value:
        if item is None:
            if not nested.item_nullable:
                return _GENERAL
            items.append(None)
            continue
        if item.__class__ is not cls or awaits in item.__dict__ or cast in item.__dict__:
            return _GENERAL
        done = complete(item, is_awaitable)
        if done is _GENERAL:
            return _GENERAL
        items.append(done)
    return items


# A field's short path depends on the schema only: worked out once per field and schema
# (an enum's names for its members take a scan of its values each).
_LEAVES: WeakKeyDictionary[GraphQLSchema, dict[tuple[str, str], _Leaf | None]] = WeakKeyDictionary()


# Plans of operations whose selections are fixed, by parent type and field nodes.
_SHARED_PLANS: dict[tuple[int, ...], _Plan] = {}
_KEPT_PLANS = 4096  # far more than the sets of the documents a server sees; else emptied
# Whether an operation's selections are fixed, by operation node (kept alive by its entry).
_FIXED: dict[int, tuple[OperationDefinitionNode, bool]] = {}


def _fixed(operation: OperationDefinitionNode, fragments: dict[str, Any]) -> bool:
    """Whether the fields collected for ``operation`` are the same at every execution: no
    directive anywhere in its selections or its fragments (``@skip(if: $flag)``, say) and
    no fragment with variables of its own. Then a plan made for one execution serves all."""
    entry = _FIXED.get(id(operation))
    if entry is not None and entry[0] is operation:
        return entry[1]
    fixed = _without_directives(operation) and all(
        not f.definition.variable_definitions
        and not f.definition.directives
        and _without_directives(f.definition)
        for f in fragments.values()
    )
    if len(_FIXED) >= _KEPT_PLANS:
        _FIXED.clear()
    _FIXED[id(operation)] = (operation, fixed)
    return fixed


def _without_directives(node: Any) -> bool:
    selection_set = getattr(node, "selection_set", None)
    for selection in selection_set.selections if selection_set is not None else ():
        if selection.directives or not _without_directives(selection):
            return False
    return True


class LeafShortcutExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's execution context, taking the short path for plain fields.

    ``execute_fields`` works from a plan made once per grouped field set (graphql-core
    collects a field's subfields once per execution, so the set of a list's objects is one
    object): plain leaves are read and coerced in place, objects whose whole selection is
    plain (a score, an assignee, a list of evidence items) are built in place, and every
    other field, or one whose value is out of the ordinary, goes through graphql-core's
    ``execute_field``, in the order of the selection.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        manager = self.middleware_manager
        middleware = list(manager.middlewares or ()) if manager is not None else []
        # Middleware (schema extensions with a ``resolve`` hook) must see every field. One
        # added after the schema was built is told here, on the first execution.
        # By grouped field set (which the entry holds): the plan for it.
        self._plans: dict[int, tuple[dict[str, Any], _Plan]] | None = None if middleware else {}
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
        plans = self._plans
        if plans is None:
            return super().execute_fields(
                parent_type, source_value, path, grouped_field_set, position_context
            )
        entry = plans.get(id(grouped_field_set))
        if entry is None or entry[0] is not grouped_field_set or entry[1].parent is not parent_type:
            entry = (grouped_field_set, self._plan(parent_type, grouped_field_set))
            plans[id(grouped_field_set)] = entry
        plan = entry[1]
        is_awaitable = self.is_awaitable
        results: dict[str, Any] = {}
        awaitable_fields: list[str] = []
        try:
            for name, leaf, nested, details in plan.entries:
                if leaf is not None:
                    try:
                        value = getattr(source_value, leaf.attribute, NOT_LOADED)
                        if value.__class__ is leaf.same:
                            results[name] = value
                            continue
                        if value is None:
                            if leaf.nullable:
                                results[name] = None
                                continue
                        elif value.__class__ in leaf.inert or not (
                            value is NOT_LOADED or is_awaitable(value)
                        ):
                            coerced = leaf.coerce(value)
                            if coerced is not None and coerced is not Undefined:
                                results[name] = coerced
                                continue
                    except Exception:  # the general path reports it properly
                        pass
                elif nested is not None:
                    try:
                        value = _object(nested, source_value, is_awaitable)
                    except Exception:
                        value = _GENERAL
                    if value is not _GENERAL:
                        results[name] = value
                        continue
                result = self.execute_field(
                    parent_type,
                    source_value,
                    details,
                    Path(path, name, parent_type.name),
                    position_context,
                )
                if result is not Undefined:
                    results[name] = result
                    if is_awaitable(result):
                        awaitable_fields.append(name)
        except Exception:
            if awaitable_fields:  # as graphql-core does: they may fail too
                self.settle_in_background([results[field] for field in awaitable_fields])
            raise
        if not awaitable_fields:
            return results

        async def get_results() -> dict[str, Any]:
            if len(awaitable_fields) == 1:
                field = awaitable_fields[0]
                results[field] = await results[field]
            else:
                awaited = await gather_with_cancel(*(results[f] for f in awaitable_fields))
                results.update(zip(awaitable_fields, awaited, strict=True))
            return results

        return get_results()

    def _plan(self, parent_type: GraphQLObjectType, grouped_field_set: dict[str, Any]) -> _Plan:
        """The plan for this set, kept across executions when the operation's selections
        do not depend on its variables (``_fixed``): by the set's field nodes, which the
        plan holds (so no other node can take their ids while it is kept)."""
        key = None
        if _fixed(self.operation, self.fragments):
            key = (id(parent_type), *(id(d.node) for ds in grouped_field_set.values() for d in ds))
            plan = _SHARED_PLANS.get(key)
            if plan is not None:
                return plan
        entries = []
        for name, details in grouped_field_set.items():
            leaf, nested = self._short(parent_type, details)
            entries.append((name, leaf, nested, details))
        plan = _Plan(grouped_field_set, parent_type, tuple(entries))
        if key is not None:
            if len(_SHARED_PLANS) >= _KEPT_PLANS:
                _SHARED_PLANS.clear()
            _SHARED_PLANS[key] = plan
        return plan

    def _short(self, parent_type: GraphQLObjectType, details: Any) -> tuple[Any, Any]:
        """(leaf, None) or (None, nested) for a field that can take a short path, else
        (None, None)."""
        node = details[0].node
        field = self.schema.get_field(parent_type, node.name.value)
        if field is None or field.args or node.arguments:
            return None, None
        leaves = _LEAVES.get(self.schema)
        if leaves is None:
            leaves = _LEAVES[self.schema] = {}
        key = (parent_type.name, node.name.value)
        leaf = leaves[key] if key in leaves else leaves.setdefault(key, _leaf(field))
        if leaf is not None:
            return leaf, None
        return None, self._nested(field, details)

    def _nested(self, field: Any, details: Any) -> _Nested | None:
        attribute = _reader(field)
        if attribute is None or any(d.node.directives for d in details):
            return None  # (no @stream or @defer to honour)
        return_type = field.type
        nullable = not isinstance(return_type, GraphQLNonNull)
        if not nullable:
            return_type = return_type.of_type
        many = isinstance(return_type, GraphQLList)
        item_nullable = True
        if many:
            return_type = return_type.of_type
            item_nullable = not isinstance(return_type, GraphQLNonNull)
            if not item_nullable:
                return_type = return_type.of_type
        if not isinstance(return_type, GraphQLObjectType):
            return None
        definition = (return_type.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
        cls = getattr(definition, "origin", None)
        if (
            getattr(definition, "is_type_of", True) is not None
            or not isinstance(cls, type)
            or not _plain_class(cls)
        ):
            return None
        try:  # (as the general path would, and memoised the same way)
            grouped, defer_usages, _ = self.collect_subfields(return_type, details)
        except Exception:  # the general path reports it, where it arises
            return None
        if defer_usages:
            return None
        entries = []
        for name, sub_details in grouped.items():
            leaf, nested = self._short(return_type, sub_details)
            if leaf is None and nested is None:
                return None
            entries.append((name, leaf, nested))
        return _Nested(attribute, nullable, many, item_nullable, cls, _completer(tuple(entries)))
