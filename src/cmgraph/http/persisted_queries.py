"""Requests that name their document by hash: automatic persisted queries, trusted documents.

Runs on a request Strawberry has parsed, before anything executes, and either fills in the
document the request names or refuses it:

- ``extensions.persistedQuery {version: 1, sha256Hash}`` without a ``query`` (Apollo's
  APQ): the registered document, or ``PERSISTED_QUERY_NOT_FOUND`` so that the client sends
  the query along with the hash. With the query, the hash must be the query's
  (``PERSISTED_QUERY_HASH_MISMATCH``) and the document is registered once it has proved
  valid (``GraphQLApp.execute_operation``): never for a request that did not sign in (such a
  request is refused with 401 before it gets here), never beyond the query size limits.
- ``documentId`` (the GraphQL-over-HTTP persisted documents appendix, and GraphQL Code
  Generator's client preset), in a request without ``query``: a document of the trusted
  manifest, or a registered one.
- With a trusted-documents manifest, anyone but an owner may run only its documents,
  named by hash or sent in full (``PERSISTED_QUERY_NOT_ALLOWED``).
- The web app's build ships its own manifest: those documents are known by hash from the
  start, so the app's first request for each is answered without the APQ round trip. They
  restrict nothing.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from strawberry.http import GraphQLRequestData

from cmgraph.domain.permissions import Principal
from cmgraph.domain.persisted_documents import (
    SHA256_HEX,
    DocumentStore,
    TrustedDocuments,
    may_run_any_document,
    normalised_id,
    sha256_hex,
)

NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"
HASH_MISMATCH = "PERSISTED_QUERY_HASH_MISMATCH"
NOT_ALLOWED = "PERSISTED_QUERY_NOT_ALLOWED"
APQ_VERSION = 1


@dataclass
class DocumentRefused(Exception):
    """The request's document cannot run; answered as a JSON error with ``code``.

    ``status`` is the answer in ``application/graphql-response+json``; ``json_status`` the
    one in plain ``application/json`` where it differs: a hash the server does not know yet
    is an ordinary step of APQ, which Apollo's clients and servers answer with 200 there.
    """

    status: int
    code: str
    message: str
    json_status: int | None = None


@dataclass(frozen=True)
class Resolved:
    data: GraphQLRequestData
    register: bool  # the request sent a new document with its hash: keep it once valid


class PersistedDocuments:
    """The registered documents, the web app's, and, when configured, the trusted manifest."""

    def __init__(
        self,
        store: DocumentStore,
        trusted: TrustedDocuments | None,
        web_app: TrustedDocuments | None = None,
    ) -> None:
        self.store = store
        self.trusted = trusted
        self.web_app = web_app

    def trusted_only(self, principal: Principal) -> bool:
        return self.trusted is not None and not may_run_any_document(principal)

    def refusal(self, document: str, principal: Principal) -> DocumentRefused | None:
        """Why ``principal`` may not run ``document`` sent in full, if it may not."""
        if self.trusted is None or not self.trusted_only(principal):
            return None
        if self.trusted.holds(document):
            return None
        return DocumentRefused(
            400,
            NOT_ALLOWED,
            "This server runs only its trusted documents: send the `documentId` (or the "
            "persisted query hash) of one of them.",
        )

    async def resolve(
        self, data: GraphQLRequestData, document_id: object, principal: Principal
    ) -> Resolved:
        persisted = (data.extensions or {}).get("persistedQuery")
        if persisted is not None:
            sha256_hash = _apq_hash(persisted)
            if data.query is None:
                return Resolved(await self._named(data, sha256_hash, principal), register=False)
            if sha256_hex(data.query) != sha256_hash:
                raise DocumentRefused(
                    400,
                    HASH_MISMATCH,
                    "`extensions.persistedQuery.sha256Hash` is not the SHA-256 of `query` "
                    "(hex of the UTF-8 text, exactly as sent).",
                )
            self._check(data.query, principal)
            return Resolved(data, register=not self.trusted_only(principal))
        if document_id is not None:  # read only from a request without ``query``
            if not isinstance(document_id, str) or not document_id.strip():
                raise DocumentRefused(400, "BAD_REQUEST", "`documentId` must be a string.")
            return Resolved(await self._named(data, document_id, principal), register=False)
        if data.query is not None:
            self._check(data.query, principal)
        return Resolved(data, register=False)

    def _check(self, document: str, principal: Principal) -> None:
        refusal = self.refusal(document, principal)
        if refusal is not None:
            raise refusal

    async def _named(
        self, data: GraphQLRequestData, document_id: str, principal: Principal
    ) -> GraphQLRequestData:
        document = self.trusted.find(document_id) if self.trusted is not None else None
        if document is None and self.web_app is not None and not self.trusted_only(principal):
            document = self.web_app.find(document_id)
        if document is None and not self.trusted_only(principal):
            # Registered documents are named by their bare SHA-256 (or ``sha256:<hex>``).
            key = normalised_id(document_id).removeprefix("sha256:")
            if SHA256_HEX.match(key):
                document = await self.store.find(key)
        if document is None:
            # The message is the one Apollo's and urql's clients look for.
            raise DocumentRefused(404, NOT_FOUND, "PersistedQueryNotFound", json_status=200)
        return dataclasses.replace(data, query=document)


def _apq_hash(persisted: Any) -> str:
    if not isinstance(persisted, dict):
        raise DocumentRefused(400, "BAD_REQUEST", "`extensions.persistedQuery` must be an object.")
    if persisted.get("version") != APQ_VERSION:
        raise DocumentRefused(
            400,
            "BAD_REQUEST",
            f"Unsupported persisted query version; this server speaks version {APQ_VERSION}.",
        )
    sha256_hash = persisted.get("sha256Hash")
    if not isinstance(sha256_hash, str) or not SHA256_HEX.match(sha256_hash.lower()):
        raise DocumentRefused(
            400,
            "BAD_REQUEST",
            "`extensions.persistedQuery.sha256Hash` must be 64 hexadecimal digits.",
        )
    return sha256_hash.lower()
