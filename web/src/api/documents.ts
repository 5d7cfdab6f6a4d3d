import { print, type ASTNode } from "graphql";
import manifest from "../gql/persisted-documents.json";

// GraphQL Code Generator marks each generated document with the SHA-256 of its text in the
// persisted-documents manifest. The server trusts exactly that text (CMGRAPH_TRUSTED_DOCUMENTS),
// so the app sends the manifest's text, never a re-printed one.
const documents: Readonly<Record<string, string>> = manifest;

interface WithMeta {
  __meta__?: { hash?: unknown };
}

/** The document's hash in the manifest, or undefined for a document codegen did not write. */
export function documentHash(node: ASTNode): string | undefined {
  const hash = (node as WithMeta).__meta__?.hash;
  return typeof hash === "string" && hash in documents ? hash : undefined;
}

/** The text to send for a document: the manifest's when it has one. */
export function documentText(node: ASTNode): string {
  const hash = documentHash(node);
  return (hash === undefined ? undefined : documents[hash]) ?? print(node);
}
