import { readFileSync } from "node:fs";
import react from "@vitejs/plugin-react";
import { defineConfig, type Plugin, type ProxyOptions } from "vite";
import { graphqlDocuments } from "./plugins/graphqlDocuments";

// The cmgraph server the dev and preview servers forward the API to
// (`cmgraph serve --demo` listens on 127.0.0.1:8000).
const api = process.env.CMGRAPH_API_URL ?? "http://127.0.0.1:8000";

// The Host header is passed through unchanged (no changeOrigin): the server then sees the
// page's own origin, so its same-origin WebSocket check and the session cookie both work
// as they do when it serves the app itself.
const proxy: Record<string, ProxyOptions> = {
  "/graphql": { target: api, ws: true },
  "/auth": { target: api },
  "/evidence": { target: api },
  "/exports": { target: api },
};

// The build ships the app's GraphQL documents (codegen's manifest) beside index.html: the
// server then knows each by its hash from the first request on.
const persistedDocuments: Plugin = {
  name: "cmgraph-persisted-documents",
  apply: "build",
  generateBundle() {
    this.emitFile({
      type: "asset",
      fileName: "persisted-documents.json",
      source: readFileSync("src/gql/persisted-documents.json", "utf-8"),
    });
  },
};

export default defineConfig({
  plugins: [graphqlDocuments(), react(), persistedDocuments],
  server: { proxy },
  // The dev server pre-bundles what the app imports; GraphiQL's editor workers (`?worker`)
  // cannot be pre-bundled, and the IDE is served by cmgraph from the build anyway.
  optimizeDeps: { entries: ["index.html"] },
  preview: { proxy },
  build: {
    outDir: "dist",
    sourcemap: true,
    // Monaco, GraphiQL's editor, is one large chunk that only the IDE page loads.
    chunkSizeWarningLimit: 3000,
    // The app, and GraphiQL (served at /graphql to browsers) as a page of its own.
    rolldownOptions: {
      input: { app: "index.html", graphiql: "graphiql.html" },
      onLog(level, log, handler) {
        // GraphiQL's packages mark modules "use no memo" for the React Compiler, which
        // this build does not run: nothing to preserve.
        if (log.code === "MODULE_LEVEL_DIRECTIVE") return;
        handler(level, log);
      },
    },
  },
});
