"""The project's own starter template: a small data protection baseline shipped as JSON.

It lets a fresh installation (and the demo) show real assessments without importing anything.
The JSON lives inside the package (``cmgraph/data``) so it ships in the wheel; it is read
through ``importlib.resources`` so it also works from a zip or an installed wheel.
"""

from __future__ import annotations

import json
from functools import cache
from importlib.resources import files

from cmgraph.domain.templates import TemplateSpec

STARTER_TEMPLATE_KEY = "cmgraph-data-protection-baseline"
STARTER_TEMPLATE_SOURCE = "cmgraph starter template"


@cache
def starter_template() -> TemplateSpec:
    """The starter template as a validated spec (parsed once; specs are immutable)."""
    resource = files("cmgraph") / "data" / "starter_template.json"
    spec = TemplateSpec.from_dict(json.loads(resource.read_text(encoding="utf-8")))
    if spec.key != STARTER_TEMPLATE_KEY:
        raise RuntimeError(f"starter template has key {spec.key!r}, expected the starter key")
    return spec
