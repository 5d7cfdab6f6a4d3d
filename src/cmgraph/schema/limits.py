"""What one GraphQL document may ask for: its depth, its aliases and how many objects it
can return.

Every figure is computed in one pass over the document in which each fragment is measured
once and remembered, so a document whose fragments spread each other many times costs time
in proportion to its length, never to the size of its expansion.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson
from graphql import (
    ASTValidationRule,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLNamedType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValueNode,
    VariableNode,
    get_named_type,
    get_nullable_type,
    is_abstract_type,
    is_leaf_type,
    is_list_type,
    value_from_ast_untyped,
)
from graphql.language.visitor import SKIP, VisitorAction
from graphql.type.introspection import SchemaMetaFieldDef, TypeMetaFieldDef

from cmgraph.domain.evidence import MAX_EVIDENCE_PER_ACTION
from cmgraph.domain.templates import MAX_ACTIONS_PER_CONTROL, MAX_CONTROLS_PER_TEMPLATE
from cmgraph.domain.workflow import MAX_CHAIN_DEPTH
from cmgraph.resolvers.pages import DEFAULT_PAGE_SIZE

# The most entries a plain list can hold, where a rule of the domain caps it. A list with a
# ``first`` argument counts that many, and ``nodes(ids:)`` the number of ids. Any other list
# (an action's assessments, controls and children, a group's assessments, an alert's events)
# has no hard cap but is short in practice; it is counted as DEFAULT_LIST_BOUND entries.
LIST_BOUNDS: Mapping[tuple[str, str], int] = {
    ("Assessment", "controls"): MAX_CONTROLS_PER_TEMPLATE,
    ("Control", "actions"): MAX_ACTIONS_PER_CONTROL,
    ("ImprovementAction", "evidence"): MAX_EVIDENCE_PER_ACTION,
    # Every parent up the chain holds its own evidence.
    ("ImprovementAction", "inheritedEvidence"): MAX_EVIDENCE_PER_ACTION * MAX_CHAIN_DEPTH,
}
DEFAULT_LIST_BOUND = 100
CONNECTION_SUFFIX = "Connection"

VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"


def document_rule(max_depth: int, max_aliases: int) -> type[ASTValidationRule]:
    """A validation rule refusing documents deeper than ``max_depth`` or with too many aliases.

    Depth counts nested selection sets of fields (introspection fields aside); aliases are
    counted as written, once each, however often their fragment is spread.
    """

    class DocumentLimits(ASTValidationRule):
        def enter_document(self, node: DocumentNode, *_: Any) -> VisitorAction:
            for error in _document_problems(node, max_depth, max_aliases):
                self.report_error(error)
            return SKIP

    return DocumentLimits


def _document_problems(
    document: DocumentNode, max_depth: int, max_aliases: int
) -> list[GraphQLError]:
    problems: list[GraphQLError] = []
    walk = _DepthWalk(_fragments(document))
    aliases = 0
    for definition in document.definitions:
        if not isinstance(definition, OperationDefinitionNode | FragmentDefinitionNode):
            continue
        aliases += walk.aliases_in(definition.selection_set)
        if not isinstance(definition, OperationDefinitionNode):
            continue
        depth = walk.depth_of(definition.selection_set)
        if depth > max_depth:
            name = definition.name.value if definition.name else "anonymous"
            problems.append(
                _error(
                    f"'{name}' exceeds maximum operation depth of {max_depth} (it is {depth}).",
                    "QUERY_TOO_DEEP",
                    definition,
                )
            )
    problems.extend(
        _error("Selection sets must not be empty.", VALIDATION_FAILED, empty)
        for empty in walk.empty_selection_sets
    )
    if aliases > max_aliases:
        problems.append(
            _error(
                f"{aliases} aliases found, more than the {max_aliases} aliases allowed.",
                "TOO_MANY_ALIASES",
            )
        )
    return problems


def _error(message: str, code: str, node: Any = None, **extensions: object) -> GraphQLError:
    return GraphQLError(message, node, extensions={"code": code, **extensions})


def _fragments(document: DocumentNode) -> dict[str, FragmentDefinitionNode]:
    return {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}


@dataclass
class _DepthWalk:
    fragments: dict[str, FragmentDefinitionNode]
    memo: dict[str, int] = field(default_factory=dict)
    empty_selection_sets: list[SelectionSetNode] = field(default_factory=list)

    def depth_of(self, selection_set: SelectionSetNode | None) -> int:
        if selection_set is None:
            return 0
        deepest = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                if selection.selection_set is None or selection.name.value.startswith("__"):
                    continue
                deepest = max(deepest, 1 + self.depth_of(selection.selection_set))
            elif isinstance(selection, InlineFragmentNode):
                deepest = max(deepest, self.depth_of(selection.selection_set))
            elif isinstance(selection, FragmentSpreadNode):
                deepest = max(deepest, self._fragment_depth(selection.name.value))
        return deepest

    def _fragment_depth(self, name: str) -> int:
        if name not in self.memo:
            self.memo[name] = 0  # a cycle (reported by another rule) adds nothing
            fragment = self.fragments.get(name)
            if fragment is not None:
                self.memo[name] = self.depth_of(fragment.selection_set)
        return self.memo[name]

    def aliases_in(self, selection_set: SelectionSetNode | None) -> int:
        """Aliases as written in this selection set; notes empty selection sets on the way."""
        if selection_set is None:
            return 0
        if not selection_set.selections:
            self.empty_selection_sets.append(selection_set)
        count = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                count += selection.alias is not None
                count += self.aliases_in(selection.selection_set)
            elif isinstance(selection, InlineFragmentNode):
                count += self.aliases_in(selection.selection_set)
        return count


_KNOWN_COUNTS = 500  # documents and variables remembered per schema
# Longer variables are counted each time: 500 of them must not hold megabytes.
_KNOWN_VARIABLES_LENGTH = 2048


class NodeCounter:
    """The most objects an operation can return, known before it runs.

    Like GitHub's node limit: a connection multiplies what is selected in it by its page size
    (``first`` or ``last``, else the default page size), a plain list by its bound
    (``LIST_BOUNDS``, its ``first``, or ``DEFAULT_LIST_BOUND``). Scalars cost nothing; every
    object counts one.
    """

    def __init__(self, schema: GraphQLSchema, max_page_size: int) -> None:
        self.schema = schema
        self.max_page_size = max_page_size
        self.introspection_bounds = _introspection_bounds(schema)
        # Counts of documents seen again (the parse cache hands out the same document for
        # the same text): (document, operation name, variables) -> (document, count).
        self._known: dict[tuple[int, str | None, bytes], tuple[DocumentNode, int]] = {}

    def count(
        self,
        document: DocumentNode,
        operation_name: str | None,
        variables: Mapping[str, Any] | None,
    ) -> int:
        try:
            spelled = orjson.dumps(variables, option=orjson.OPT_SORT_KEYS)
        except TypeError:  # values JSON did not bring: counted each time
            spelled = None
        if spelled is None or len(spelled) > _KNOWN_VARIABLES_LENGTH:
            return self._count(document, operation_name, variables)
        key = (id(document), operation_name, spelled)
        known = self._known.get(key)
        if known is not None and known[0] is document:
            return known[1]
        count = self._count(document, operation_name, variables)
        if len(self._known) >= _KNOWN_COUNTS:
            self._known.clear()
        self._known[key] = (document, count)
        return count

    def _count(
        self,
        document: DocumentNode,
        operation_name: str | None,
        variables: Mapping[str, Any] | None,
    ) -> int:
        operation = _operation(document, operation_name)
        if operation is None:
            return 0
        root = self.schema.get_root_type(operation.operation)
        if root is None:
            return 0
        values = _variable_defaults(operation)
        values.update(variables or {})
        walk = _CountWalk(self, _fragments(document), values)
        return walk.selection_set(operation.selection_set, root, page=None)


def _operation(document: DocumentNode, name: str | None) -> OperationDefinitionNode | None:
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if name is None:
        return operations[0] if len(operations) == 1 else None
    return next((o for o in operations if o.name and o.name.value == name), None)


def _variable_defaults(operation: OperationDefinitionNode) -> dict[str, Any]:
    """What the operation's variables are when the request leaves them out."""
    return {
        definition.variable.name.value: value_from_ast_untyped(definition.default_value)
        for definition in operation.variable_definitions or ()
        if definition.default_value is not None
    }


def _introspection_bounds(schema: GraphQLSchema) -> dict[tuple[str, str], int]:
    """The longest list each introspection field can return for this schema."""
    types = list(schema.type_map.values())

    def longest(values: Any) -> int:
        return max((len(v) for v in values), default=0)

    members = {
        ("__Schema", "types"): len(types),
        ("__Schema", "directives"): len(schema.directives),
        ("__Directive", "args"): longest(d.args for d in schema.directives),
        ("__Type", "fields"): longest(getattr(t, "fields", {}) for t in types),
        ("__Type", "inputFields"): longest(getattr(t, "fields", {}) for t in types),
        ("__Type", "enumValues"): longest(getattr(t, "values", {}) for t in types),
        ("__Type", "interfaces"): longest(getattr(t, "interfaces", ()) for t in types),
        ("__Type", "possibleTypes"): longest(
            schema.get_possible_types(t) for t in types if is_abstract_type(t)
        ),
        ("__Field", "args"): longest(
            f.args for t in types for f in getattr(t, "fields", {}).values() if hasattr(f, "args")
        ),
    }
    return members


@dataclass
class _CountWalk:
    counter: NodeCounter
    fragments: dict[str, FragmentDefinitionNode]
    variables: dict[str, Any]
    memo: dict[tuple[str, int | None], int] = field(default_factory=dict)

    def selection_set(
        self,
        selection_set: SelectionSetNode | None,
        parent: GraphQLNamedType,
        page: int | None,
        spread: set[str] | None = None,
    ) -> int:
        """Objects below one ``parent`` object; ``page`` is set inside a connection."""
        if selection_set is None:
            return 0
        spread = set() if spread is None else spread  # a fragment spread twice runs once
        total = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                total += self.field(selection, parent, page)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                own = self.counter.schema.get_type(condition.name.value) if condition else parent
                total += self.selection_set(selection.selection_set, own or parent, page, spread)
            elif isinstance(selection, FragmentSpreadNode) and selection.name.value not in spread:
                spread.add(selection.name.value)
                total += self.fragment(selection.name.value, page)
        return total

    def fragment(self, name: str, page: int | None) -> int:
        key = (name, page)
        if key not in self.memo:
            self.memo[key] = 0  # cycles are refused by validation; count them as nothing
            fragment = self.fragments.get(name)
            own = (
                None
                if fragment is None
                else self.counter.schema.get_type(fragment.type_condition.name.value)
            )
            if fragment is not None and own is not None:
                self.memo[key] = self.selection_set(fragment.selection_set, own, page)
        return self.memo[key]

    def field(self, node: FieldNode, parent: GraphQLNamedType, page: int | None) -> int:
        definition = self._definition(parent, node.name.value)
        if definition is None:
            return 0
        named = get_named_type(definition.type)
        if is_leaf_type(named):
            return 0
        entries = self._entries(node, parent, definition, page)
        if named.name.endswith(CONNECTION_SUFFIX) and "first" in definition.args:
            # ``last`` reads a page backwards: the same size of page.
            size = self._int_argument(node, "last", DEFAULT_PAGE_SIZE)
            inner_page = self._int_argument(node, "first", size)
            inner_page = max(0, min(inner_page, self.counter.max_page_size))
            return entries * (1 + self.selection_set(node.selection_set, named, inner_page))
        return entries * (1 + self.selection_set(node.selection_set, named, None))

    def _definition(self, parent: GraphQLNamedType, name: str) -> GraphQLField | None:
        schema = self.counter.schema
        if name == "__schema" and parent is schema.query_type:
            return SchemaMetaFieldDef
        if name == "__type" and parent is schema.query_type:
            return TypeMetaFieldDef
        fields = getattr(parent, "fields", None)
        return fields.get(name) if fields else None

    def _entries(
        self, node: FieldNode, parent: GraphQLNamedType, definition: GraphQLField, page: int | None
    ) -> int:
        """How many objects this field returns for one parent object, at most."""
        if not is_list_type(get_nullable_type(definition.type)):
            return 1
        if page is not None and parent.name.endswith(CONNECTION_SUFFIX):
            return page  # ``edges`` and ``nodes`` of a connection
        if parent.name.startswith("__"):
            return self.counter.introspection_bounds.get((parent.name, node.name.value), 1)
        if "ids" in definition.args:
            return self._list_argument_length(node, "ids")
        bound = LIST_BOUNDS.get((parent.name, node.name.value), DEFAULT_LIST_BOUND)
        if "first" in definition.args:
            return max(0, min(self._int_argument(node, "first", bound), bound))
        return bound

    def _argument(self, node: FieldNode, name: str) -> object:
        value: ValueNode | None = next(
            (a.value for a in node.arguments or () if a.name.value == name), None
        )
        if isinstance(value, VariableNode):
            return self.variables.get(value.name.value)
        if isinstance(value, IntValueNode):
            return int(value.value)
        if isinstance(value, ListValueNode):
            return value.values
        return None

    def _int_argument(self, node: FieldNode, name: str, default: int) -> int:
        value = self._argument(node, name)
        return value if isinstance(value, int) and not isinstance(value, bool) else default

    def _list_argument_length(self, node: FieldNode, name: str) -> int:
        value = self._argument(node, name)
        return len(value) if isinstance(value, list | tuple) else 1
