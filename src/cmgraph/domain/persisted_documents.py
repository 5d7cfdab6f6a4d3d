"""GraphQL documents named by their hash instead of sent in full.

Two sources, both keyed by the document's hash:

- **Automatic persisted queries** (Apollo's APQ): a signed-in client registers a document
  under its SHA-256 the first time it sends it; afterwards the hash alone stands for it.
  Registered documents live in the database (``persisted_query``), so a hash registered
  through one server process works on every other, and each process caches what it read:
  a hash names one document for ever, so a cached entry can never be stale.
- **Trusted documents**: a manifest (``CMGRAPH_TRUSTED_DOCUMENTS``), a JSON object of
  hash -> document as GraphQL Code Generator's client preset writes it
  (``persisted-documents.json``). While it is set, only its documents run for anyone but
  owners (``may_run_any_document``).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cmgraph.adapters.db import UnitOfWork
from cmgraph.domain.models import PersistedQuery
from cmgraph.domain.permissions import Principal, may_manage_people

SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")
_HEX_LENGTHS = {"sha256": 64, "sha1": 40}  # the algorithms a manifest may use
CACHE_SIZE = 4_096  # documents per process; the table itself is unbounded


def sha256_hex(document: str) -> str:
    return hashlib.sha256(document.encode()).hexdigest()


def may_run_any_document(principal: Principal) -> bool:
    """Owners may run documents outside the trusted manifest (the IDE, an ad-hoc report)."""
    return may_manage_people(principal)


class DocumentStore:
    """Registered documents by SHA-256: the database table, with a per-process cache.

    Only hits are cached: a hash missing here may be registered by another process at any
    moment, and must then be found.
    """

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], cache_size: int = CACHE_SIZE
    ) -> None:
        self._sessions = sessions
        self._cache: OrderedDict[str, str] = OrderedDict()
        self._cache_size = cache_size

    async def find(self, sha256_hash: str) -> str | None:
        document = self._cached(sha256_hash)
        if document is not None:
            return document
        async with self._sessions() as session:
            document = await session.scalar(
                select(PersistedQuery.document).where(PersistedQuery.sha256_hash == sha256_hash)
            )
        if document is not None:
            self._remember(sha256_hash, document)
        return document

    async def register(self, document: str) -> str:
        """Store ``document`` under its SHA-256 (once, whoever else registers it meanwhile)."""
        sha256_hash = sha256_hex(document)
        if self._cached(sha256_hash) is not None:
            return sha256_hash
        async with UnitOfWork(self._sessions) as uow:
            dialect = postgresql if uow.session.get_bind().dialect.name == "postgresql" else sqlite
            await uow.session.execute(
                dialect.insert(PersistedQuery)
                .values(sha256_hash=sha256_hash, document=document)
                .on_conflict_do_nothing(index_elements=["sha256_hash"])
            )
        self._remember(sha256_hash, document)
        return sha256_hash

    def _cached(self, sha256_hash: str) -> str | None:
        document = self._cache.get(sha256_hash)
        if document is not None:
            self._cache.move_to_end(sha256_hash)
        return document

    def _remember(self, sha256_hash: str, document: str) -> None:
        self._cache[sha256_hash] = document
        self._cache.move_to_end(sha256_hash)
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)


class TrustedDocumentsError(ValueError):
    """The manifest cannot be used; the server refuses to start rather than trust less."""


@dataclass(frozen=True)
class TrustedDocuments:
    """The manifest's documents, by the id it gives them and by their SHA-256."""

    by_id: Mapping[str, str]
    by_sha256: Mapping[str, str]

    @classmethod
    def load(cls, path: Path, origin: str = "CMGRAPH_TRUSTED_DOCUMENTS") -> TrustedDocuments:
        """Read and check a manifest: every key must be the hash of its document.

        Keys are hex SHA-256 or SHA-1 digests (Code Generator's ``hashAlgorithm``),
        optionally prefixed ``sha256:`` / ``sha1:`` as the GraphQL-over-HTTP persisted
        documents appendix spells them.
        """
        where = f"{origin} ({path})"
        try:
            manifest = json.loads(path.read_text(encoding="utf-8"))
        except OSError as error:
            raise TrustedDocumentsError(f"{where}: cannot be read: {error}") from None
        except ValueError as error:
            raise TrustedDocumentsError(f"{where}: is not JSON: {error}") from None
        if not isinstance(manifest, dict):
            raise TrustedDocumentsError(f"{where}: must be a JSON object of hash -> document")
        by_id: dict[str, str] = {}
        by_sha256: dict[str, str] = {}
        for key, document in manifest.items():
            if not isinstance(document, str) or not document.strip():
                raise TrustedDocumentsError(f"{where}: the document of {key!r} is not a string")
            document_id = normalised_id(key)
            algorithm, digest = _split(document_id)
            if algorithm is None:
                raise TrustedDocumentsError(
                    f"{where}: {key!r} is not a hex SHA-256 or SHA-1 digest"
                    " (optionally prefixed sha256: or sha1:)"
                )
            actual = hashlib.new(algorithm, document.encode()).hexdigest()
            if actual != digest:
                raise TrustedDocumentsError(
                    f"{where}: {key!r} is not the {algorithm} of its document"
                    f" (which hashes to {actual})"
                )
            by_id[document_id] = document
            by_sha256[sha256_hex(document)] = document
        return cls(by_id, by_sha256)

    def find(self, document_id: str) -> str | None:
        """The document a ``documentId`` or an APQ ``sha256Hash`` names, if trusted."""
        key = normalised_id(document_id)
        return self.by_id.get(key) or self.by_sha256.get(key.removeprefix("sha256:"))

    def holds(self, document: str) -> bool:
        return sha256_hex(document) in self.by_sha256


def normalised_id(document_id: str) -> str:
    return document_id.strip().lower()


def _split(document_id: str) -> tuple[str | None, str]:
    """``(algorithm, hex digest)``, or ``(None, ...)`` when it is neither spelling."""
    prefix, _, digest = document_id.rpartition(":")
    candidates = [prefix] if prefix else list(_HEX_LENGTHS)
    for algorithm in candidates:
        length = _HEX_LENGTHS.get(algorithm)
        if length == len(digest) and all(c in "0123456789abcdef" for c in digest):
            return algorithm, digest
    return None, digest
