// GraphiQL at /graphql for browsers, bundled into the build so it works with no internet.
// Requests go to the same origin: a signed-in browser's session cookie (with the CSRF
// header) authenticates them; an Authorization header set in the headers pane works too.
import "graphiql/setup-workers/vite";
import "graphiql/style.css";
import { createGraphiQLFetcher } from "@graphiql/toolkit";
import { GraphiQL } from "graphiql";
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { CSRF_HEADER } from "../api/auth";
import { graphqlSocketUrl } from "../api/subscriptionLink";

const fetcher = createGraphiQLFetcher({
  url: "/graphql",
  subscriptionUrl: graphqlSocketUrl(),
  headers: { [CSRF_HEADER]: "1" },
});

const DEFAULT_QUERY = `# Signed in to the web app in this browser? Queries run as you.
# Otherwise add {"Authorization": "Bearer <token>"} in the Headers pane.
{
  viewer { user { name } role }
  complianceScore { overall { earned possible percent } }
}
`;

const root = document.getElementById("graphiql");
if (!root) throw new Error("graphiql.html has no #graphiql element");

createRoot(root).render(
  <StrictMode>
    <GraphiQL fetcher={fetcher} defaultQuery={DEFAULT_QUERY}>
      <GraphiQL.Logo>
        <a href="/">cmgraph</a> GraphQL IDE
      </GraphiQL.Logo>
    </GraphiQL>
  </StrictMode>,
);
