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
# Organisation roles as settings name them (``domain.enums.OrgRole``, which a test keeps
# equal to this: settings are read before, and without, the domain).
ROLE_NAMES = ("READER", "CONTRIBUTOR", "ASSESSOR", "ADMINISTRATOR", "OWNER")


def _default_database_url(data_dir: Path) -> str:
    return f"sqlite+aiosqlite:///{data_dir / 'cmgraph.db'}"


@dataclass(frozen=True)
class Settings:
    """What a server, worker or CLI command needs to know about its environment."""

    data_dir: Path = Path(DEFAULT_DATA_DIR)
    database_url: str = ""
    host: str = "127.0.0.1"
    port: int = 8000
    # Server processes sharing the port (``cmgraph serve``); more than one needs PostgreSQL.
    processes: int = 1
    # PostgreSQL connections each server process keeps open; a request beyond them waits.
    db_pool_size: int = 20
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
    # How often background work runs the scheduled checks (due dates, retests, evidence
    # review dates); it also runs right after each UTC midnight. Once per item and day
    # whatever the interval, so a shorter one only notices new findings sooner.
    schedule_seconds: int = 3600
    max_page_size: int = 100
    max_query_depth: int = 15
    max_aliases: int = 30
    max_tokens: int = 10_000
    max_query_nodes: int = 10_000_000
    max_request_bytes: int = 1_048_576
    max_upload_bytes: int = 26_214_400
    # A JSON manifest of hash -> GraphQL document (``domain.persisted_documents``): when set,
    # only those documents run for anyone but owners. Empty: any document runs.
    trusted_documents: str = ""
    # The built web app (``npm run build`` in ``web/``); empty: ``web/dist`` of this checkout.
    web_dir: Path = field(default=Path(""))
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
    # Single sign-on with OpenID Connect (``http.oidc``, ``domain.single_sign_on``): the
    # provider's issuer URL and this server's client there. Empty issuer: no single sign-on.
    oidc_issuer: str = ""
    oidc_client_id: str = ""
    oidc_client_secret: str = field(default="", repr=False)
    oidc_scopes: str = "openid email profile"
    # Whom a verified email that names nobody becomes: a new user with this role (a role
    # name); empty: refused. ``oidc_role_claim`` names a claim (a list of the provider's
    # groups) and ``oidc_role_map`` maps its values to roles: ``"cm-owners=OWNER,..."``.
    oidc_default_role: str = ""
    oidc_role_claim: str = ""
    oidc_role_map: str = ""
    # False: people sign in only through single sign-on (organisations where it is the rule).
    password_sign_in: bool = True

    def __post_init__(self) -> None:
        if not 1 <= self.max_page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"CMGRAPH_MAX_PAGE_SIZE must be between 1 and {MAX_PAGE_SIZE}")
        for name in (
            "session_idle_minutes",
            "session_lifetime_hours",
            "sign_in_failure_window_minutes",
            "sign_in_max_failures",
            "sign_in_max_failures_per_address",
            "schedule_seconds",
            "processes",
            "db_pool_size",
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
        self._check_single_sign_on()
        # Folders default to places inside the data folder.
        if not self.database_url:
            object.__setattr__(self, "database_url", _default_database_url(self.data_dir))
        if self.storage_dir == Path(""):
            object.__setattr__(self, "storage_dir", self.data_dir / "storage")
        if self.mail_dir == Path(""):
            object.__setattr__(self, "mail_dir", self.data_dir / "mail")
        if self.web_dir == Path(""):
            object.__setattr__(self, "web_dir", Path(__file__).resolve().parents[2] / "web/dist")
        if not self.public_url:
            object.__setattr__(self, "public_url", f"http://{self.host}:{self.port}")

    def _check_single_sign_on(self) -> None:
        """Refuse at start-up what would only fail at someone's first sign-in."""
        oidc = (self.oidc_issuer, self.oidc_client_id, self.oidc_client_secret)
        if any(oidc) and not all(oidc):
            raise ValueError(
                "Set CMGRAPH_OIDC_ISSUER, CMGRAPH_OIDC_CLIENT_ID and CMGRAPH_OIDC_CLIENT_SECRET "
                "together (or none of them)"
            )
        if not self.oidc_issuer:
            for name in ("oidc_default_role", "oidc_role_claim", "oidc_role_map"):
                if getattr(self, name):
                    raise ValueError(f"CMGRAPH_{name.upper()} needs CMGRAPH_OIDC_ISSUER")
            if not self.password_sign_in:
                raise ValueError(
                    "CMGRAPH_PASSWORD_SIGN_IN=false needs single sign-on (CMGRAPH_OIDC_ISSUER): "
                    "otherwise nobody could sign in from a browser"
                )
            return
        issuer = urlsplit(self.oidc_issuer)
        loopback = issuer.hostname in ("localhost", "127.0.0.1", "::1")
        if not issuer.hostname or not (
            issuer.scheme == "https" or (issuer.scheme == "http" and loopback)
        ):
            raise ValueError(
                "CMGRAPH_OIDC_ISSUER must be an https URL (http only on this machine: "
                f"localhost), got {self.oidc_issuer!r}"
            )
        if issuer.query or issuer.fragment:
            raise ValueError("CMGRAPH_OIDC_ISSUER takes no query or fragment")
        if "openid" not in self.oidc_scopes.split():
            raise ValueError("CMGRAPH_OIDC_SCOPES must include openid")
        if self.oidc_default_role and self.oidc_default_role not in ROLE_NAMES:
            raise ValueError(
                f"CMGRAPH_OIDC_DEFAULT_ROLE must be one of {', '.join(ROLE_NAMES)}, "
                f"got {self.oidc_default_role!r}"
            )
        if bool(self.oidc_role_claim) != bool(self.oidc_role_map):
            raise ValueError("Set CMGRAPH_OIDC_ROLE_CLAIM and CMGRAPH_OIDC_ROLE_MAP together")
        _role_map(self.oidc_role_map)

    @property
    def oidc_roles(self) -> dict[str, str]:
        """``CMGRAPH_OIDC_ROLE_MAP`` as {group: role name}."""
        return _role_map(self.oidc_role_map)

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


def _role_map(raw: str) -> dict[str, str]:
    """``group=ROLE`` pairs separated by commas as {group: role}; a group named twice is refused."""
    roles: dict[str, str] = {}
    for pair in raw.split(","):
        if not pair.strip():
            continue
        group, equals, role = (part.strip() for part in pair.rpartition("="))
        if not equals or not group or role not in ROLE_NAMES or group in roles:
            raise ValueError(
                "CMGRAPH_OIDC_ROLE_MAP takes group=ROLE pairs separated by commas, each "
                f"group once, the roles among {', '.join(ROLE_NAMES)}; got {pair.strip()!r}"
            )
        roles[group] = role
    return roles


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
