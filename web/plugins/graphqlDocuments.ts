import { readFileSync } from "node:fs";
import { Kind, parse } from "graphql";
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

/** The name codegen exports a document under, after its first definition: `FooDocument`
 * for an operation, `FooFragmentDoc` for a fragment. */
function exportName(source: string): string | undefined {
  const first = parse(source).definitions[0];
  if (first?.kind === Kind.OPERATION_DEFINITION && first.name) return `${first.name.value}Document`;
  if (first?.kind === Kind.FRAGMENT_DEFINITION) return `${first.name.value}FragmentDoc`;
  return undefined;
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
      const calls = code.split("graphql(").length - 1;
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
      if (imports.length !== calls) {
        this.error(`${id}: only graphql(\`…\`) with a plain template literal can be built`);
      }
      return { code: rewritten.replace(IMPORT, imports.join(" ")), map: null };
    },
  };
}
