import react from "@vitejs/plugin-react";
import { defineConfig, type ProxyOptions } from "vite";

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

export default defineConfig({
  plugins: [react()],
  server: { proxy },
  preview: { proxy },
  build: {
    outDir: "dist",
    sourcemap: true,
    // Monaco, GraphiQL's editor, is one large chunk that only the IDE page loads.
    chunkSizeWarningLimit: 3000,
    // The app, and GraphiQL (served at /graphql to browsers) as a page of its own.
    rolldownOptions: {
      input: { app: "index.html", graphiql: "graphiql.html" },
      onwarn(warning, warn) {
        // GraphiQL's packages mark modules "use no memo" for the React Compiler, which
        // this build does not run: nothing to preserve.
        if (warning.code === "MODULE_LEVEL_DIRECTIVE") return;
        warn(warning);
      },
    },
  },
});
