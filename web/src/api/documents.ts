import { printExecutableGraphQLDocument } from "@graphql-tools/documents";
import type { ASTNode, DocumentNode } from "graphql";

// GraphQL Code Generator marks each generated document with the SHA-256 of its text in the
// persisted-documents manifest, which the build ships to the server (see vite.config.ts), so
// the server knows the app's documents by hash. The manifest's text is the document printed
// in the stable form below: sending that text (on a server that did not know the hash) keeps
// hash and text in agreement, and matches CMGRAPH_TRUSTED_DOCUMENTS exactly.

interface WithMeta {
  __meta__?: { hash?: unknown };
}

/** The document's hash in the manifest, or undefined for a document codegen did not write. */
export function documentHash(node: ASTNode): string | undefined {
  const hash = (node as WithMeta).__meta__?.hash;
  return typeof hash === "string" ? hash : undefined;
}

/** The text to send for a document: as the manifest prints it. */
export function documentText(node: DocumentNode): string {
  return printExecutableGraphQLDocument(node);
}
