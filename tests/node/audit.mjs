// Runs graphql-http's GraphQL-over-HTTP audits against a server and prints the results as JSON.
//
//   node audit.mjs http://127.0.0.1:8000/graphql
//
// CMGRAPH_AUDIT_TOKEN, when set, is sent as `Authorization: Bearer <token>` with every
// request: cmgraph answers nothing but 401 to an anonymous caller, and the audits are about
// what a signed-in client gets. Output: {"summary": "...", "counts": {...}, "results": [...]}.
import { auditServer } from "graphql-http";

const url = process.argv[2];
if (!url) {
  console.error("usage: node audit.mjs <graphql url>");
  process.exit(2);
}
const token = process.env.CMGRAPH_AUDIT_TOKEN;

function withToken(input, init = {}) {
  const headers = new Headers(init.headers);
  if (token) headers.set("authorization", `Bearer ${token}`);
  return fetch(input, { ...init, headers });
}

const results = await auditServer({ url, fetchFn: withToken });
const counts = { ok: 0, notice: 0, warn: 0, error: 0 };
const report = [];
for (const result of results) {
  counts[result.status] += 1;
  const entry = { id: result.id, name: result.name, status: result.status };
  if (result.status !== "ok") {
    entry.reason = result.reason;
    entry.httpStatus = result.response.status;
    entry.contentType = result.response.headers.get("content-type");
    try {
      entry.body = (await result.response.clone().text()).slice(0, 500);
    } catch {
      entry.body = null; // already read by the audit
    }
  }
  report.push(entry);
}
const summary =
  `${results.length} audits: ${counts.ok} ok, ${counts.notice} notices (MAY), ` +
  `${counts.warn} warnings (SHOULD), ${counts.error} errors (MUST)`;
console.log(JSON.stringify({ summary, counts, results: report }, null, 2));
