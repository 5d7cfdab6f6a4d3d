"""Settings read from ``CMGRAPH_*`` environment variables.

Every setting has a default that suits the embedded demo; the README lists them all.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

DEFAULT_DATA_DIR = ".cmgraph"
MAX_PAGE_SIZE = 100  # the API convention: no connection page is larger


def _default_database_url(data_dir: Path) -> str:
    return f"sqlite+aiosqlite:///{data_dir / 'cmgraph.db'}"


@dataclass(frozen=True)
class Settings:
    """What a server, worker or CLI command needs to know about its environment."""

    data_dir: Path = Path(DEFAULT_DATA_DIR)
    database_url: str = ""
    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str = ""
    storage_dir: Path = field(default=Path(""))
    secret_key: str = field(default="", repr=False)
    mail_dir: Path = field(default=Path(""))
    smtp_url: str = ""
    smtp_allow_plain: bool = False
    mail_from: str = "cmgraph@localhost"
    mail_max_age_seconds: int = 86_400
    mail_retry_seconds: int = 30
    mail_lease_seconds: int = 300
    background_work: bool = True
    max_page_size: int = 100
    max_query_depth: int = 15
    max_aliases: int = 30
    max_tokens: int = 10_000
    max_query_nodes: int = 10_000_000
    max_request_bytes: int = 1_048_576
    max_upload_bytes: int = 26_214_400
    log_level: str = "INFO"
    # Browser sessions (``domain.sign_in``): ended after this long without a request, and at
    # the latest this long after signing in.
    session_idle_minutes: int = 120
    session_lifetime_hours: int = 24
    # Refused password sign-ins within the window, per account and per client address,
    # before further attempts answer 429 until the oldest of them leaves the window.
    sign_in_failure_window_minutes: int = 15
    sign_in_max_failures: int = 5
    sign_in_max_failures_per_address: int = 50
    # Origins (``https://app.example.org``) whose pages may call the API with the browser's
    # cookies: CORS with credentials, and WebSocket upgrades. Empty: the server's own only.
    cors_origins: str = ""

    def __post_init__(self) -> None:
        if not 1 <= self.max_page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"CMGRAPH_MAX_PAGE_SIZE must be between 1 and {MAX_PAGE_SIZE}")
        for name in (
            "session_idle_minutes",
            "session_lifetime_hours",
            "sign_in_failure_window_minutes",
            "sign_in_max_failures",
            "sign_in_max_failures_per_address",
        ):
            if getattr(self, name) < 1:
                raise ValueError(f"CMGRAPH_{name.upper()} must be at least 1")
        for origin in self.allowed_origins:
            parts = urlsplit(origin)
            if parts.scheme not in ("http", "https") or not parts.netloc or origin.count("/") != 2:
                raise ValueError(
                    "CMGRAPH_CORS_ORIGINS takes origins such as https://app.example.org "
                    f"(scheme and host, no path, no *), got {origin!r}"
                )
        if self.secret_key and len(self.secret_key) < 32:
            raise ValueError("CMGRAPH_SECRET_KEY must be at least 32 characters")
        # Folders default to places inside the data folder.
        if not self.database_url:
            object.__setattr__(self, "database_url", _default_database_url(self.data_dir))
        if self.storage_dir == Path(""):
            object.__setattr__(self, "storage_dir", self.data_dir / "storage")
        if self.mail_dir == Path(""):
            object.__setattr__(self, "mail_dir", self.data_dir / "mail")
        if not self.public_url:
            object.__setattr__(self, "public_url", f"http://{self.host}:{self.port}")

    @property
    def allowed_origins(self) -> tuple[str, ...]:
        return tuple(o.strip().rstrip("/") for o in self.cors_origins.split(",") if o.strip())

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides: object) -> Settings:
        """Build settings from ``CMGRAPH_<FIELD>`` variables; explicit overrides win."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}  # each of its field's type (``_parse``)
        for f in fields(cls):
            raw = env.get(f"CMGRAPH_{f.name.upper()}")
            if raw is None or raw == "":
                continue
            values[f.name] = _parse(f.type, raw, f.name)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


def _parse(kind: object, raw: str, name: str) -> object:
    if kind in ("bool", bool):
        word = raw.strip().lower()
        if word in {"1", "true", "yes", "on"}:
            return True
        if word in {"0", "false", "no", "off"}:
            return False
        raise ValueError(f"CMGRAPH_{name.upper()} must be true or false, got {raw!r}")
    if kind in ("int", int):
        try:
            value = int(raw)
        except ValueError:
            raise ValueError(f"CMGRAPH_{name.upper()} must be an integer, got {raw!r}") from None
        if value < 0:
            raise ValueError(f"CMGRAPH_{name.upper()} must not be negative")
        return value
    if kind in ("Path", Path):
        return Path(raw)
    return raw
