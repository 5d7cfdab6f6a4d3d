"""Names made from titles: template and action keys, download file names."""

from __future__ import annotations

import re
import unicodedata


def slug(text: str, limit: int | None = 80) -> str:
    """Lower-case ASCII words joined by hyphens, at most ``limit`` characters (may be empty)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    words = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return words if limit is None else words[:limit].rstrip("-")
