import { readFileSync } from "node:fs";
import type { Plugin } from "vite";

// Codegen's `graphql()` looks each document up in one map of every document in the app
// (src/gql/gql.ts), so all of them would land in the first chunk. For the build, each
// `graphql(`…`)` call becomes an import of that one document, as a module of its own, so a
// page's documents load with the page's code. Type checking still sees the `graphql()` calls.

const GENERATED = "src/gql/graphql.ts";
const PREFIX = "virtual:cmgraph-document/";
const CALL = /\bgraphql\(\s*`([^`]*)`\s*\)/g;
const IMPORT = /^import \{ graphql \} from "(?:\.\.?\/)+gql";$/m;
const EXPORTED = /^export const (\w+) = (\{.*\}) as unknown as DocumentNode</gm;

/** The name codegen exports a document under: `FooDocument`, or `FooFragmentDoc`. */
function exportName(source: string): string | undefined {
  const operation = /\b(?:query|mutation|subscription)\s+(\w+)/.exec(source);
  if (operation) return `${operation[1] ?? ""}Document`;
  const fragment = /\bfragment\s+(\w+)/.exec(source);
  return fragment ? `${fragment[1] ?? ""}FragmentDoc` : undefined;
}

export function graphqlDocuments(): Plugin {
  const documents = new Map<string, string>();
  return {
    name: "cmgraph-graphql-documents",
    apply: "build",
    enforce: "pre",
    buildStart() {
      documents.clear();
      for (const [, name, json] of readFileSync(GENERATED, "utf-8").matchAll(EXPORTED)) {
        if (name && json) documents.set(name, json);
      }
    },
    resolveId(id) {
      return id.startsWith(PREFIX) ? `\0${id}` : null;
    },
    load(id) {
      if (!id.startsWith(`\0${PREFIX}`)) return null;
      return `export default ${documents.get(id.slice(PREFIX.length + 1)) ?? "null"};`;
    },
    transform(code, id) {
      if (!/\/src\/.+\.tsx?$/.test(id) || id.includes("/src/gql/") || !IMPORT.test(code)) {
        return null;
      }
      const imports: string[] = [];
      const rewritten = code.replace(CALL, (call, source: string) => {
        const name = exportName(source);
        if (name === undefined || !documents.has(name)) {
          this.error(`${id}: no generated document for ${call.slice(0, 80)}… (run codegen)`);
        }
        const local = `__document${imports.length}`;
        imports.push(`import ${local} from "${PREFIX}${name}";`);
        return local + "\n".repeat(call.split("\n").length - 1); // keep the line numbers
      });
      return { code: rewritten.replace(IMPORT, imports.join(" ")), map: null };
    },
  };
}
