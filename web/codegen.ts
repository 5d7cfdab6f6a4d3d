import type { CodegenConfig } from "@graphql-codegen/cli";
import { addTypenameSelectionDocumentTransform } from "@graphql-codegen/client-preset";

// Typed documents for every `graphql(...)` call under src/, from the committed schema.
// `persistedDocuments` also writes src/gql/persisted-documents.json (sha256 → document),
// the manifest the server accepts as CMGRAPH_TRUSTED_DOCUMENTS.
const config: CodegenConfig = {
  schema: "../schema.graphql",
  documents: ["src/**/*.{ts,tsx}", "!src/gql/**/*"],
  ignoreNoDocuments: false,
  generates: {
    "src/gql/": {
      preset: "client",
      // Apollo's cache needs __typename; adding it here keeps the manifest's text and the
      // text Apollo sends the same document.
      documentTransforms: [addTypenameSelectionDocumentTransform],
      presetConfig: {
        fragmentMasking: false,
        persistedDocuments: { hashAlgorithm: "sha256" },
      },
      config: {
        enumsAsTypes: true,
        useTypeImports: true,
        strictScalars: true,
        scalars: {
          Date: "string",
          DateTime: "string",
          Upload: "File",
          JSON: "unknown",
        },
      },
    },
  },
};

export default config;
