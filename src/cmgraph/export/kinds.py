"""Every export the server can make, by the name its links and the CLI use."""

from __future__ import annotations

from cmgraph.export.downloads import ExportKind

EXPORT_KINDS: dict[str, ExportKind] = {kind.name: kind for kind in ()}
