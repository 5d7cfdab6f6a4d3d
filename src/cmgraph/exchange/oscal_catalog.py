"""Import an OSCAL catalog (JSON) as a template.

An OSCAL catalog lists requirements; a template maps requirements to action definitions
that the organisation works on and is scored by. The rules below are the project's
documented defaults; ``OscalMapping`` overrides the few an organisation may want to choose.

Controls
  * Groups become control families (family = group title). Nested groups are flattened: a
    control belongs to its innermost group. Controls outside any group form "General".
  * Controls and their enhancements (controls nested in controls) all become template
    controls, in document order. An enhancement keeps the family of its base control.
  * Key = the ``label`` prop, preferring the one without a ``class`` (``AC-2``,
    ``AC-2(1)``), else the first label, else the id upper-cased. Title = the control title.
  * Description = the ``statement`` part flattened (searched deeper when it is not a
    top-level part): its prose and every nested part, each prefixed with its label
    (``a.``, ``1.``) and indented two spaces per level.
  * Parameter insertions ``{{ insert: param, id }}`` become readable placeholders, looked up
    across the whole catalog (enhancements use their base control's parameters): the
    parameter's ``values`` when set; else the values of the parameters it ``aggregates``
    when those are set; else ``[Selection: a; b]`` or ``[Selection (one or more): a; b]``
    for a ``select``; else ``[Assignment: <label>]`` (the id when there is no label).
  * Controls whose ``status`` prop is ``withdrawn`` are skipped; their enhancements are
    still read, each deciding for itself.

Actions
  * Each SP 800-53A assessment method of a control (a part named ``assessment-method``, or
    ``assessment`` in older catalogs, with a ``method`` prop) becomes one definition:
    EXAMINE -> DOCUMENTATION, INTERVIEW -> OPERATIONAL, TEST -> TECHNICAL. Other method
    names are ignored. Guidance lists the method's assessment objects and the control's
    assessment objective; testing logic holds the objective.
  * A control without a known method gets one OPERATIONAL action "<key>: Implement <title>"
    whose guidance is the statement and the control's discussion (``guidance`` part).
  * Key = ``<namespace>:<control id>:<method>`` (``:statement`` for the statement action), so
    the same control in two baselines maps to one definition and its shared state.
  * Enforcement: MANDATORY for base controls, DISCRETIONARY for enhancements. Purpose:
    DETECTIVE for TEST, PREVENTATIVE otherwise. Points come from the default table.
  * Category: the SP 800-53 family (the control id's prefix, ``ac`` in ``ac-2.1``) mapped to
    the categories of DOMAIN.md; otherwise the family title. Solution: the family title.

Template
  * Title = metadata title; certification = metadata version; description = metadata
    remarks; product = ``OscalMapping.product``.
  * A title naming SP 800-53 Revision N (all four NIST Rev. 5 baselines, LOW, MODERATE, HIGH
    and PRIVACY, do) gives namespace ``nist-sp-800-53-rN`` and regulation ``NIST SP 800-53
    Rev. N``; any other catalog gets a slug of its title as namespace and its title as
    regulation. The template key is a slug of the title, so each baseline is a template.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from cmgraph.adapters.db import UnitOfWork
from cmgraph.domain.enums import Enforcement, ImplementationType, Purpose
from cmgraph.domain.errors import DomainError, ErrorCode
from cmgraph.domain.templates import (
    ActionSpec,
    ControlSpec,
    TemplateImport,
    TemplateSpec,
    import_template,
)
from cmgraph.exchange.names import slug

_Json = dict[str, Any]
_KINDS: dict[type, str] = {dict: "an object", list: "an array", str: "a string"}

# Column sizes of the template tables: generated text is clipped, keys are refused.
_CONTROL_KEY_LIMIT = 100
_TITLE_LIMIT = 500
_NAME_LIMIT = 300
_SHORT_LIMIT = 200

_UNGROUPED_FAMILY = "General"

_FAMILY_CATEGORIES: dict[str, str] = {
    **dict.fromkeys(("ac", "ia"), "Control access"),
    **dict.fromkeys(("sc", "mp", "pe"), "Protect information"),
    **dict.fromkeys(("cm", "ma"), "Manage devices"),
    **dict.fromkeys(("pl", "pm", "ps", "pt", "sa", "sr", "ca", "ra", "at"), "Govern information"),
    **dict.fromkeys(("au", "ir", "cp"), "Discover and respond"),
    "si": "Protect against threats",
}

_METHOD_PARTS = frozenset({"assessment-method", "assessment"})
_OBJECTS_PARTS = frozenset({"assessment-objects", "objects"})
_OBJECTIVE_PARTS = frozenset({"assessment-objective", "objective"})

MAX_INSERTIONS = 1000  # parameters one text may insert, nested insertions included
_INSERT = re.compile(r"\{\{\s*insert:\s*([\w-]+)\s*,\s*([^\s}]+)\s*\}\}")
# NIST's prose often leaves a space between an insertion and the punctuation after it.
_SPACE_AFTER_PLACEHOLDER = re.compile(r"(?<=\]) +(?=[;,.:])")
_SP_800_53 = re.compile(r"\b800-53\b.*?\brev(?:ision|\.)?\s*(\d+)", re.IGNORECASE)


@dataclass(frozen=True)
class _Method:
    """How one SP 800-53A assessment method becomes an action definition."""

    name: str
    implementation_type: ImplementationType
    purpose: Purpose
    title_phrase: str
    objects_heading: str


_METHODS: dict[str, _Method] = {
    "EXAMINE": _Method(
        "Examine",
        ImplementationType.DOCUMENTATION,
        Purpose.PREVENTATIVE,
        "Examine documentation for",
        "Examine these documents and records",
    ),
    "INTERVIEW": _Method(
        "Interview",
        ImplementationType.OPERATIONAL,
        Purpose.PREVENTATIVE,
        "Interview staff about",
        "Interview these people",
    ),
    "TEST": _Method(
        "Test",
        ImplementationType.TECHNICAL,
        Purpose.DETECTIVE,
        "Test processes and mechanisms for",
        "Test these processes and mechanisms",
    ),
}


@dataclass(frozen=True)
class OscalMapping:
    """Choices an importer may override; ``None`` means the documented default rule."""

    enforcement: Enforcement | None = None
    purpose: Purpose | None = None
    key_namespace: str | None = None
    regulation: str | None = None
    product: str = "Information system"
    template_key: str | None = None


class OscalError(DomainError):
    """A catalog that cannot be imported; the message says what is wrong and where."""

    def __init__(self, path: str, problem: str, source: str = "") -> None:
        where = ": ".join(part for part in (source, path) if part)
        super().__init__(ErrorCode.INVALID, f"{where}: {problem}" if where else problem)
        self.path = path
        self.problem = problem
        self.source = source

    def in_source(self, source: str) -> OscalError:
        """The same error, naming the file it came from."""
        return OscalError(self.path, self.problem, source)


def catalog_to_template(
    document: dict[str, Any], mapping: OscalMapping = OscalMapping(), *, source_name: str = ""
) -> TemplateSpec:
    """Map a parsed OSCAL catalog to a template spec by the rules of this module."""
    try:
        return _convert(document, mapping)
    except OscalError as exc:
        if source_name and not exc.source:
            raise exc.in_source(source_name) from None
        raise


def read_catalog(path: Path | str, mapping: OscalMapping = OscalMapping()) -> TemplateSpec:
    """Read and map an OSCAL catalog file; every problem with the file is an OscalError."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise OscalError("", f"cannot read the file ({exc.strerror or exc})", path.name) from exc
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise OscalError("", f"not valid JSON ({exc})", path.name) from exc
    return catalog_to_template(document, mapping, source_name=path.name)


async def import_catalog(
    uow: UnitOfWork, path: Path | str, mapping: OscalMapping = OscalMapping()
) -> TemplateImport:
    """Store an OSCAL catalog file as a template (or a new version of it) in ``uow``."""
    path = Path(path)
    # Parsing a large catalog takes a while; keep the event loop free meanwhile.
    spec = await asyncio.to_thread(read_catalog, path, mapping)
    return await import_template(uow, spec, source=f"oscal:{path.name}")


# --- reading JSON with a path for every complaint -------------------------------------------


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    return _KINDS.get(type(value), "a value")


def _object(value: object, path: str, what: str) -> _Json:
    if not isinstance(value, dict):
        raise OscalError(path, f"{what} must be a JSON object, not {_kind(value)}")
    return value


def _objects(node: _Json, key: str, path: str, what: str) -> list[tuple[str, _Json]]:
    """The objects of an optional array member, each with its own path."""
    value = node.get(key, [])
    if not isinstance(value, list):
        raise OscalError(f"{path}.{key}", f"must be an array, not {_kind(value)}")
    return [
        (f"{path}.{key}[{i}]", _object(item, f"{path}.{key}[{i}]", what))
        for i, item in enumerate(value)
    ]


def _string(node: _Json, key: str, path: str, what: str, *, required: bool = False) -> str:
    value = node.get(key)
    if value is None:
        if required:
            raise OscalError(path, f"{what} has no {key}")
        return ""
    if not isinstance(value, str):
        raise OscalError(f"{path}.{key}", f"{what} {key} must be a string, not {_kind(value)}")
    if required and not value.strip():
        raise OscalError(path, f"{what} has an empty {key}")
    return value


def _strings(node: _Json, key: str, path: str, what: str) -> tuple[str, ...]:
    value = node.get(key, [])
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise OscalError(f"{path}.{key}", f"{what} {key} must be an array of strings")
    return tuple(value)


@dataclass(frozen=True)
class _Prop:
    name: str
    value: str
    cls: str


def _props(node: _Json, path: str) -> list[_Prop]:
    return [
        _Prop(
            _string(prop, "name", prop_path, "prop", required=True),
            _string(prop, "value", prop_path, "prop"),
            _string(prop, "class", prop_path, "prop"),
        )
        for prop_path, prop in _objects(node, "props", path, "prop")
    ]


def _label(props: list[_Prop]) -> str:
    """The plain label (``AC-2``) over classed variants (``AC-02``, zero-padded)."""
    labels = [p for p in props if p.name == "label" and p.value.strip()]
    plain = [p for p in labels if not p.cls]
    return (plain or labels)[0].value.strip() if labels else ""


def _name(part: _Json, path: str) -> str:
    return _string(part, "name", path, "part")


# --- parameters -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Param:
    label: str
    values: tuple[str, ...]
    choices: tuple[str, ...] | None
    one_or_more: bool
    aggregates: tuple[str, ...]


def _read_param(node: _Json, path: str) -> tuple[str, _Param]:
    param_id = _string(node, "id", path, "parameter", required=True)
    choices: tuple[str, ...] | None = None
    one_or_more = False
    if node.get("select") is not None:
        select = _object(node["select"], f"{path}.select", "parameter select")
        choices = _strings(select, "choice", f"{path}.select", "selection")
        one_or_more = _string(select, "how-many", f"{path}.select", "selection") == "one-or-more"
    aggregates = tuple(p.value for p in _props(node, path) if p.name == "aggregates")
    param = _Param(
        label=_string(node, "label", path, "parameter").strip(),
        values=_strings(node, "values", path, "parameter"),
        choices=choices,
        one_or_more=one_or_more,
        aggregates=aggregates,
    )
    return param_id, param


class _Text:
    """Replaces parameter insertions with readable placeholders.

    A text may insert a parameter whose value inserts others: a crafted catalog could nest
    them so that each level doubles the work, so one text expands a bounded number of them.
    """

    def __init__(self, params: dict[str, _Param]) -> None:
        self._params = params
        self._left = MAX_INSERTIONS

    def __call__(self, text: str, seen: frozenset[str] = frozenset()) -> str:
        if "{{" not in text:
            return text
        if not seen:  # a text of the catalog, not a parameter's value inside one
            self._left = MAX_INSERTIONS
        filled = _INSERT.sub(lambda m: self._insert(m[1], m[2], seen), text)
        return _SPACE_AFTER_PLACEHOLDER.sub("", filled)

    def _insert(self, kind: str, target: str, seen: frozenset[str]) -> str:
        if kind != "param":
            return f"[{kind}: {target}]"
        return self._placeholder(target, seen)

    def _is_set(self, param_id: str) -> bool:
        param = self._params.get(param_id)
        return param is not None and bool(param.values)

    def _placeholder(self, param_id: str, seen: frozenset[str]) -> str:
        self._left -= 1
        if self._left < 0:
            raise OscalError(
                "catalog",
                f"a text inserts more than {MAX_INSERTIONS} parameters, counting those that "
                f"parameters insert (at {param_id})",
            )
        param = self._params.get(param_id)
        if param is None or param_id in seen:
            return f"[Assignment: {param_id}]"
        seen = seen | {param_id}
        if param.values:
            return ", ".join(self(value, seen) for value in param.values)
        if param.aggregates and any(self._is_set(a) for a in param.aggregates):
            return ", ".join(self._placeholder(a, seen) for a in param.aggregates)
        if param.choices is not None:
            kind = "Selection (one or more)" if param.one_or_more else "Selection"
            choices = "; ".join(self(choice, seen).strip() for choice in param.choices)
            return f"[{kind}: {choices}]"
        if param.label:
            return f"[Assignment: {self(param.label, seen)}]"
        if param.aggregates:
            return ", ".join(self._placeholder(a, seen) for a in param.aggregates)
        return f"[Assignment: {param_id}]"


# --- walking the catalog --------------------------------------------------------------------


@dataclass(frozen=True)
class _Control:
    path: str
    node: _Json
    oscal_id: str
    key: str
    title: str
    family: str
    enhancement: bool
    withdrawn: bool


@dataclass
class _Walk:
    """Everything the first pass finds: controls in document order and all parameters."""

    params: dict[str, _Param]
    controls: list[_Control]

    def collect_params(self, node: _Json, path: str) -> None:
        for param_path, param in _objects(node, "params", path, "parameter"):
            param_id, value = _read_param(param, param_path)
            self.params.setdefault(param_id, value)

    def groups(self, node: _Json, path: str) -> None:
        for group_path, group in _objects(node, "groups", path, "group"):
            family = _string(group, "title", group_path, "group", required=True).strip()
            self.collect_params(group, group_path)
            self.controls_of(group, group_path, family, enhancement=False)
            self.groups(group, group_path)

    def controls_of(self, node: _Json, path: str, family: str, *, enhancement: bool) -> None:
        for control_path, control in _objects(node, "controls", path, "control"):
            self.controls.append(_read_control(control, control_path, family, enhancement))
            self.collect_params(control, control_path)
            self.controls_of(control, control_path, family, enhancement=True)


def _read_control(node: _Json, path: str, family: str, enhancement: bool) -> _Control:
    oscal_id = _string(node, "id", path, "control", required=True).strip()
    title = _string(node, "title", path, "control", required=True).strip()
    props = _props(node, path)
    key = _label(props) or oscal_id.upper()
    if len(key) > _CONTROL_KEY_LIMIT:
        raise OscalError(path, f"control key {key[:40]}... is longer than {_CONTROL_KEY_LIMIT}")
    withdrawn = any(p.name == "status" and p.value.strip().lower() == "withdrawn" for p in props)
    return _Control(path, node, oscal_id, key, title, family, enhancement, withdrawn)


def _check_unique(controls: list[_Control]) -> None:
    """Two controls with one id or key would make one action or an ambiguous control."""
    by_id: dict[str, str] = {}
    by_key: dict[str, str] = {}
    for control in controls:
        if control.oscal_id in by_id:
            first = by_id[control.oscal_id]
            raise OscalError(control.path, f"duplicate control id {control.oscal_id} ({first})")
        if control.key in by_key:
            first = by_key[control.key]
            raise OscalError(control.path, f"duplicate control key {control.key} ({first})")
        by_id[control.oscal_id] = control.path
        by_key[control.key] = control.path


# --- flattening parts to text ---------------------------------------------------------------

_Lines = list[tuple[int, str]]


def _flatten(part: _Json, path: str, text: _Text, depth: int = 0) -> _Lines:
    """A part and its sub-parts as (depth, "label prose") lines, placeholders filled in."""
    lines: _Lines = []
    prose = text(_string(part, "prose", path, "part")).strip()
    if prose:
        label = _label(_props(part, path))
        lines.append((depth, f"{label} {prose}" if label else prose))
        depth += 1
    for child_path, child in _objects(part, "parts", path, "part"):
        lines.extend(_flatten(child, child_path, text, depth))
    return lines


def _plain(lines: _Lines) -> str:
    return "\n".join("  " * depth + line for depth, line in lines)


def _bullets(lines: _Lines) -> str:
    return "\n".join("  " * depth + "- " + line for depth, line in lines)


def _markdown(lines: _Lines) -> str:
    """One paragraph stays prose; labelled items become a nested list."""
    return lines[0][1] if len(lines) == 1 else _bullets(lines)


def _find_statement(parts: list[tuple[str, _Json]]) -> tuple[str, _Json] | None:
    for path, part in parts:
        if _name(part, path) == "statement":
            return path, part
    for path, part in parts:
        found = _find_statement(_objects(part, "parts", path, "part"))
        if found is not None:
            return found
    return None


def _named(parts: list[tuple[str, _Json]], names: frozenset[str], text: _Text) -> _Lines:
    return [
        line
        for path, part in parts
        if _name(part, path) in names
        for line in _flatten(part, path, text)
    ]


def _assessment_objects(part: _Json, path: str, text: _Text) -> list[str]:
    """The things a method looks at, one per paragraph of the objects prose."""
    children = [
        (child_path, child)
        for child_path, child in _objects(part, "parts", path, "part")
        if _name(child, child_path) in _OBJECTS_PARTS
    ]
    sources = children or [(path, part)]
    prose = "\n".join(_string(node, "prose", node_path, "part") for node_path, node in sources)
    return [text(item).strip() for item in prose.splitlines() if item.strip()]


def _methods(parts: list[tuple[str, _Json]], text: _Text) -> dict[str, list[str]]:
    """Known assessment methods of a control, in canonical order, with their objects."""
    found: dict[str, list[str]] = {}
    for path, part in parts:
        if _name(part, path) not in _METHOD_PARTS:
            continue
        method = next(
            (p.value.strip().upper() for p in _props(part, path) if p.name == "method"), ""
        )
        if method in _METHODS:
            found.setdefault(method, []).extend(_assessment_objects(part, path, text))
    return {name: found[name] for name in _METHODS if name in found}


# --- building the spec ----------------------------------------------------------------------


@dataclass(frozen=True)
class _Naming:
    namespace: str
    regulation: str
    template_key: str


def _naming(title: str, mapping: OscalMapping) -> _Naming:
    """Baselines of one SP 800-53 revision share a namespace; other catalogs get their own."""
    match = _SP_800_53.search(title)
    if match:
        namespace, regulation = f"nist-sp-800-53-r{match[1]}", f"NIST SP 800-53 Rev. {match[1]}"
    else:
        namespace, regulation = slug(title) or "catalog", title
    return _Naming(
        namespace=mapping.key_namespace or namespace,
        regulation=clip(mapping.regulation or regulation, _NAME_LIMIT),
        template_key=mapping.template_key or slug(title) or "catalog",
    )


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _catalog(document: object) -> _Json:
    if not isinstance(document, dict):
        raise OscalError("", f"the document must be a JSON object, not {_kind(document)}")
    if "catalog" not in document:
        found = ", ".join(sorted(str(k) for k in document)[:5]) or "nothing"
        raise OscalError("", f"not an OSCAL catalog: no 'catalog' member (found {found})")
    return _object(document["catalog"], "catalog", "catalog")


def _convert(document: object, mapping: OscalMapping) -> TemplateSpec:
    catalog = _catalog(document)
    if "metadata" not in catalog:
        raise OscalError("catalog", "catalog has no metadata")
    metadata = _object(catalog["metadata"], "catalog.metadata", "metadata")
    title = _string(metadata, "title", "catalog.metadata", "metadata", required=True).strip()
    walk = _Walk({}, [])
    walk.collect_params(catalog, "catalog")
    walk.controls_of(catalog, "catalog", _UNGROUPED_FAMILY, enhancement=False)
    walk.groups(catalog, "catalog")
    controls = [c for c in walk.controls if not c.withdrawn]
    if not controls:
        problem = "every control is withdrawn" if walk.controls else "it has no controls"
        raise OscalError("catalog", f"nothing to import: {problem}")
    _check_unique(controls)
    naming = _naming(title, mapping)
    text = _Text(walk.params)
    control_specs: list[ControlSpec] = []
    action_specs: list[ActionSpec] = []
    for control in controls:
        control_spec, actions = _control_spec(control, naming, mapping, text)
        control_specs.append(control_spec)
        action_specs.extend(actions)
    return TemplateSpec(
        key=naming.template_key,
        title=clip(title, _NAME_LIMIT),
        regulation=naming.regulation,
        product=mapping.product,
        certification=clip(
            _string(metadata, "version", "catalog.metadata", "metadata"), _SHORT_LIMIT
        ),
        description=_string(metadata, "remarks", "catalog.metadata", "metadata"),
        controls=tuple(control_specs),
        actions=tuple(action_specs),
    )


@dataclass(frozen=True)
class _ControlText:
    title: str
    statement: _Lines
    objective: _Lines
    discussion: _Lines


def _control_spec(
    control: _Control, naming: _Naming, mapping: OscalMapping, text: _Text
) -> tuple[ControlSpec, list[ActionSpec]]:
    parts = _objects(control.node, "parts", control.path, "part")
    statement = _find_statement(parts)
    texts = _ControlText(
        title=clip(text(control.title), _TITLE_LIMIT),
        statement=_flatten(statement[1], statement[0], text) if statement else [],
        objective=_named(parts, _OBJECTIVE_PARTS, text),
        discussion=_named(parts, frozenset({"guidance"}), text),
    )
    methods = _methods(parts, text)
    if methods:
        actions = [
            _method_action(control, _METHODS[name], objects, texts, naming, mapping)
            for name, objects in methods.items()
        ]
    else:
        actions = [_statement_action(control, texts, naming, mapping)]
    spec = ControlSpec(
        key=control.key,
        family=clip(control.family, _NAME_LIMIT),
        title=texts.title,
        description=_plain(texts.statement),
        action_keys=tuple(a.key for a in actions),
    )
    return spec, actions


def _enforcement(control: _Control, mapping: OscalMapping) -> Enforcement:
    if mapping.enforcement is not None:
        return mapping.enforcement
    return Enforcement.DISCRETIONARY if control.enhancement else Enforcement.MANDATORY


def _category(control: _Control) -> str:
    prefix = control.oscal_id.split("-", 1)[0].lower() if "-" in control.oscal_id else ""
    return clip(_FAMILY_CATEGORIES.get(prefix, control.family), _SHORT_LIMIT)


def _method_action(
    control: _Control,
    method: _Method,
    objects: list[str],
    texts: _ControlText,
    naming: _Naming,
    mapping: OscalMapping,
) -> ActionSpec:
    sections = []
    if objects:
        sections.append(f"{method.objects_heading}:\n\n" + "\n".join(f"- {o}" for o in objects))
    if texts.objective:
        sections.append("Determine if:\n\n" + _bullets(texts.objective))
    return ActionSpec(
        key=f"{naming.namespace}:{control.oscal_id}:{method.name.lower()}",
        title=clip(f"{control.key}: {method.title_phrase} {texts.title}", _TITLE_LIMIT),
        implementation_type=method.implementation_type,
        enforcement=_enforcement(control, mapping),
        purpose=mapping.purpose or method.purpose,
        guidance="\n\n".join(sections),
        solution=clip(control.family, _SHORT_LIMIT),
        category=_category(control),
        testing_logic=_plain(texts.objective),
    )


def _statement_action(
    control: _Control, texts: _ControlText, naming: _Naming, mapping: OscalMapping
) -> ActionSpec:
    sections = [_markdown(texts.statement)] if texts.statement else []
    if texts.discussion:
        sections.append("Discussion:\n\n" + "\n\n".join(line for _, line in texts.discussion))
    return ActionSpec(
        key=f"{naming.namespace}:{control.oscal_id}:statement",
        title=clip(f"{control.key}: Implement {texts.title}", _TITLE_LIMIT),
        implementation_type=ImplementationType.OPERATIONAL,
        enforcement=_enforcement(control, mapping),
        purpose=mapping.purpose or Purpose.PREVENTATIVE,
        guidance="\n\n".join(sections),
        solution=clip(control.family, _SHORT_LIMIT),
        category=_category(control),
        testing_logic=_plain(texts.objective),
    )
