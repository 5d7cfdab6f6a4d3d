"""Import an OSCAL profile (JSON): a catalog plus a selection of its controls, as a template.

A profile is mapped by narrowing its catalog and handing the result to the catalog mapping
(``oscal_catalog``), so every rule there holds here too, and a profile's actions have the
same keys, hence the same shared definitions, as its catalog's.

Resolving the catalog
  * ``--catalog FILE`` is used for every import of the profile when given.
  * Otherwise each ``imports[].href`` must name a local file: a relative path (resolved
    against the profile's folder), an absolute path or a ``file:`` URL; ``#<uuid>`` names a
    back-matter resource whose first local ``rlinks`` entry (JSON preferred) is used.
    Remote URLs are refused rather than fetched: download the catalog and pass ``--catalog``.
  * All imports must resolve to one catalog; a profile importing another profile is
    refused (resolve it to a catalog first).

Selecting controls
  * Per import: ``include-all``, or ``include-controls`` (``with-ids``, ``matching``
    patterns, ``with-child-controls: yes`` adding all enhancements below), minus
    ``exclude-controls`` (same forms). The template holds the union over the imports.
  * An id in ``with-ids`` that the catalog does not have is an error, as is a selection
    that selects nothing.
  * Order and families are the catalog's (``merge`` directives are not applied). A selected
    enhancement whose base control is not selected stays an enhancement (DISCRETIONARY).

Modifications
  * ``modify.set-parameters``: ``values``, ``label`` and ``select`` replace the catalog's,
    so the parameter placeholders in statements and objectives show the profile's values.
    Because objectives are part of an action's guidance, a profile that sets parameters
    publishes new versions of the shared definitions it changes. A parameter id the catalog
    lacks is an error. ``alters`` (added or removed parts) are not applied.

Template
  * Title = the profile's metadata title, certification = its version, description = its
    remarks; key = a slug of the profile title (``OscalMapping.template_key`` overrides).
  * Namespace and regulation come from the catalog, as for the catalog itself.
"""

from __future__ import annotations

import asyncio
import fnmatch
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import orjson

from cmgraph.adapters.db import UnitOfWork
from cmgraph.domain.templates import TemplateImport, TemplateSpec, import_template
from cmgraph.exchange.names import slug
from cmgraph.exchange.oscal_catalog import (
    OscalError,
    OscalMapping,
    catalog_to_template,
    clip,
)

_Json = dict[str, Any]

_TITLE_LIMIT = 300
_SHORT_LIMIT = 200
_WITHDRAWN = {"name": "status", "value": "withdrawn"}
_PARAMETER_FIELDS = ("values", "label", "select")


def read_profile(
    profile_path: Path | str,
    catalog_path: Path | str | None = None,
    mapping: OscalMapping = OscalMapping(),
) -> TemplateSpec:
    """Read a profile and its catalog and map them; every problem is an OscalError."""
    profile_path = Path(profile_path)
    profile_doc = _load(profile_path)
    profile = _profile(profile_doc, profile_path.name)
    imports = _imports(profile, profile_path.name)
    sources = [
        Path(catalog_path)
        if catalog_path is not None
        else _catalog_source(profile_path, profile, node, path)
        for path, node in imports
    ]
    distinct = {source.resolve() for source in sources}
    if len(distinct) > 1:
        names = ", ".join(sorted(source.name for source in distinct))
        raise OscalError(
            "profile.imports",
            f"imports several catalogs ({names}); only a profile over one catalog is supported",
            profile_path.name,
        )
    catalog_file = sources[0]
    catalog_doc = _load(catalog_file, "catalog")
    return profile_to_template(
        profile_doc,
        catalog_doc,
        mapping,
        profile_name=profile_path.name,
        catalog_name=catalog_file.name,
    )


async def import_profile(
    uow: UnitOfWork,
    profile_path: Path | str,
    catalog_path: Path | str | None = None,
    mapping: OscalMapping = OscalMapping(),
) -> TemplateImport:
    """Store an OSCAL profile as a template (or a new version of it) in ``uow``."""
    profile_path = Path(profile_path)
    # Catalogs are large; parse them off the event loop.
    spec = await asyncio.to_thread(read_profile, profile_path, catalog_path, mapping)
    return await import_template(uow, spec, source=f"oscal-profile:{profile_path.name}")


def profile_to_template(
    profile_document: object,
    catalog_document: object,
    mapping: OscalMapping = OscalMapping(),
    *,
    profile_name: str = "",
    catalog_name: str = "",
) -> TemplateSpec:
    """Map a parsed profile over a parsed catalog to a template spec (module rules)."""
    profile = _profile(profile_document, profile_name)
    metadata = profile.get("metadata")
    if not isinstance(metadata, dict):
        raise OscalError("profile", "profile has no metadata", profile_name)
    title = _text(metadata, "title", "profile.metadata", profile_name).strip()
    if not title:
        raise OscalError("profile.metadata", "metadata has no title", profile_name)
    catalog = _catalog(catalog_document, catalog_name)
    index = _Index.of(catalog)
    selected: set[str] = set()
    for path, node in _imports(profile, profile_name):
        selected |= _selection(node, path, index, profile_name, catalog_name)
    if not selected:
        raise OscalError(
            "profile.imports", "nothing selected: the imports select no control", profile_name
        )
    overrides = _parameter_overrides(profile, index, profile_name)
    narrowed = {**catalog, **_narrow(catalog, selected, overrides)}
    key_mapping = replace(mapping, template_key=mapping.template_key or slug(title) or "profile")
    spec = catalog_to_template({"catalog": narrowed}, key_mapping, source_name=catalog_name)
    return replace(
        spec,
        title=clip(title, _TITLE_LIMIT),
        certification=clip(
            _text(metadata, "version", "profile.metadata", profile_name).strip(), _SHORT_LIMIT
        ),
        description=_text(metadata, "remarks", "profile.metadata", profile_name),
    )


# --- reading the documents ------------------------------------------------------------------


def _load(path: Path, what: str = "") -> object:
    try:
        data = path.read_bytes()
    except OSError as exc:
        problem = f"cannot read the {what or 'file'} ({exc.strerror or exc})"
        if what:
            problem += "; pass the catalog file with --catalog"
        raise OscalError("", problem, path.name) from exc
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise OscalError("", f"not valid JSON ({exc})", path.name) from exc


def _profile(document: object, source: str) -> _Json:
    if not isinstance(document, dict) or not isinstance(document.get("profile"), dict):
        hint = (
            ": it is a catalog, import it with `templates import-oscal`"
            if isinstance(document, dict) and "catalog" in document
            else ""
        )
        raise OscalError("", f"not an OSCAL profile: no 'profile' object{hint}", source)
    return document["profile"]


def _catalog(document: object, source: str) -> _Json:
    if isinstance(document, dict) and "profile" in document:
        raise OscalError(
            "", "the import is a profile, not a catalog: resolve it to a catalog first", source
        )
    if not isinstance(document, dict) or not isinstance(document.get("catalog"), dict):
        raise OscalError("", "not an OSCAL catalog: no 'catalog' object", source)
    return document["catalog"]


def _text(node: _Json, key: str, path: str, source: str) -> str:
    value = node.get(key, "")
    if not isinstance(value, str):
        raise OscalError(f"{path}.{key}", f"{key} must be a string", source)
    return value


def _list(node: _Json, key: str, path: str, source: str) -> list[tuple[str, Any]]:
    value = node.get(key, [])
    if not isinstance(value, list):
        raise OscalError(f"{path}.{key}", "must be an array", source)
    return [(f"{path}.{key}[{i}]", item) for i, item in enumerate(value)]


def _objects(node: _Json, key: str, path: str, source: str) -> list[tuple[str, _Json]]:
    items = _list(node, key, path, source)
    for item_path, item in items:
        if not isinstance(item, dict):
            raise OscalError(item_path, "must be a JSON object", source)
    return items


def _imports(profile: _Json, source: str) -> list[tuple[str, _Json]]:
    imports = _objects(profile, "imports", "profile", source)
    if not imports:
        raise OscalError("profile", "profile has no imports", source)
    return imports


# --- resolving the catalog ------------------------------------------------------------------


def _catalog_source(profile_path: Path, profile: _Json, node: _Json, path: str) -> Path:
    source = profile_path.name
    href = _text(node, "href", path, source).strip()
    if not href:
        raise OscalError(path, "import has no href", source)
    if href.startswith("#"):
        href = _resource_href(profile, href[1:], path, source)
    local = _local_path(href)
    if local is None:
        raise OscalError(
            f"{path}.href",
            f"imports the remote catalog {href}, which is not fetched: download it and pass "
            "--catalog FILE",
            source,
        )
    return local if local.is_absolute() else profile_path.parent / local


def _resource_href(profile: _Json, uuid: str, path: str, source: str) -> str:
    back_matter = profile.get("back-matter")
    resources = (
        _objects(back_matter, "resources", "profile.back-matter", source)
        if isinstance(back_matter, dict)
        else []
    )
    for resource_path, resource in resources:
        if resource.get("uuid") != uuid:
            continue
        links = [
            link
            for _, link in _objects(resource, "rlinks", resource_path, source)
            if isinstance(link.get("href"), str) and _local_path(link["href"]) is not None
        ]
        if not links:
            raise OscalError(
                resource_path,
                f"resource {uuid} has no link to a local file: pass --catalog FILE",
                source,
            )
        json_links = [
            link
            for link in links
            if "json" in str(link.get("media-type", "")) or link["href"].endswith(".json")
        ]
        return str((json_links or links)[0]["href"])
    raise OscalError(f"{path}.href", f"no back-matter resource has uuid {uuid}", source)


def _local_path(href: str) -> Path | None:
    parts = urlsplit(href)
    if parts.scheme == "file" and parts.netloc in ("", "localhost"):
        return Path(unquote(parts.path))
    # One letter is a Windows drive ("C:/catalogs/..."), not a URL scheme.
    if parts.scheme and len(parts.scheme) > 1:
        return None
    return Path(unquote(href))


# --- selecting ------------------------------------------------------------------------------


@dataclass
class _Index:
    """The catalog's control ids, their enhancements, and its parameter ids."""

    children: dict[str, list[str]]
    params: set[str]

    @classmethod
    def of(cls, catalog: _Json) -> _Index:
        index = cls({}, set())
        index.walk(catalog)
        return index

    def walk(self, node: _Json, parent: str | None = None) -> None:
        self.params.update(_ids(node.get("params")))
        for group in _dicts(node.get("groups")):
            self.walk(group)
        for control in _dicts(node.get("controls")):
            control_id = control.get("id")
            if not isinstance(control_id, str):
                continue  # the catalog mapping reports it with its path
            control_id = control_id.strip()
            self.children.setdefault(control_id, [])
            if parent is not None:
                self.children[parent].append(control_id)
            self.walk(control, control_id)

    def descendants(self, control_id: str) -> Iterator[str]:
        for child in self.children.get(control_id, ()):
            yield child
            yield from self.descendants(child)


def _dicts(value: object) -> list[_Json]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _ids(value: object) -> set[str]:
    return {item["id"] for item in _dicts(value) if isinstance(item.get("id"), str)}


def _selection(node: _Json, path: str, index: _Index, source: str, catalog: str) -> set[str]:
    if "include-all" in node:
        chosen = set(index.children)
    elif "include-controls" in node:
        chosen = _matching(node, "include-controls", path, index, source, catalog)
    else:
        raise OscalError(
            path, "import selects nothing: give include-all or include-controls", source
        )
    return chosen - _matching(node, "exclude-controls", path, index, source, catalog)


def _matching(
    node: _Json, key: str, path: str, index: _Index, source: str, catalog: str
) -> set[str]:
    found: set[str] = set()
    for select_path, select in _objects(node, key, path, source):
        ids: set[str] = set()
        for id_path, control_id in _list(select, "with-ids", select_path, source):
            if not isinstance(control_id, str):
                raise OscalError(id_path, "a control id must be a string", source)
            if control_id.strip() not in index.children:
                raise OscalError(id_path, f"control {control_id} is not in {catalog}", source)
            ids.add(control_id.strip())
        for match_path, match in _objects(select, "matching", select_path, source):
            pattern = _text(match, "pattern", match_path, source)
            ids.update(fnmatch.filter(index.children, pattern))
        children = _text(select, "with-child-controls", select_path, source)
        if children == "yes":
            ids.update(child for control_id in list(ids) for child in index.descendants(control_id))
        elif children not in ("", "no"):
            raise OscalError(f"{select_path}.with-child-controls", "must be yes or no", source)
        found |= ids
    return found


def _parameter_overrides(profile: _Json, index: _Index, source: str) -> dict[str, _Json]:
    modify = profile.get("modify")
    if modify is None:
        return {}
    if not isinstance(modify, dict):
        raise OscalError("profile.modify", "must be a JSON object", source)
    overrides: dict[str, _Json] = {}
    for path, setting in _objects(modify, "set-parameters", "profile.modify", source):
        param_id = _text(setting, "param-id", path, source).strip()
        if not param_id:
            raise OscalError(path, "set-parameter has no param-id", source)
        if param_id not in index.params:
            raise OscalError(path, f"parameter {param_id} is not in the catalog", source)
        fields = {k: setting[k] for k in _PARAMETER_FIELDS if k in setting}
        overrides[param_id] = {**overrides.get(param_id, {}), **fields}
    return overrides


# --- narrowing the catalog ------------------------------------------------------------------


def _narrow(node: _Json, selected: set[str], overrides: dict[str, _Json]) -> _Json:
    """Copies of the node's members that change: unselected controls become withdrawn.

    Keeping unselected controls in place (withdrawn, so the mapping skips them) keeps every
    enhancement nested under its base control, every parameter where enhancements look it
    up, and every path in the catalog mapping's error messages true to the catalog file.
    """
    changed: _Json = {}
    if isinstance(node.get("params"), list):
        changed["params"] = [
            {**param, **overrides[param["id"]]}
            if isinstance(param, dict) and param.get("id") in overrides
            else param
            for param in node["params"]
        ]
    for key in ("groups", "controls"):
        if isinstance(node.get(key), list):
            changed[key] = [_narrow_child(child, key, selected, overrides) for child in node[key]]
    return changed


def _narrow_child(
    child: object, key: str, selected: set[str], overrides: dict[str, _Json]
) -> object:
    if not isinstance(child, dict):
        return child
    copy = {**child, **_narrow(child, selected, overrides)}
    control_id = child.get("id")
    if key == "controls" and not (isinstance(control_id, str) and control_id.strip() in selected):
        props = child.get("props", [])
        if isinstance(props, list):
            copy["props"] = [*props, _WITHDRAWN]
            copy.pop("parts", None)
    return copy
