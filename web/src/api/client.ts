import {
  ApolloClient,
  ApolloLink,
  CombinedGraphQLErrors,
  HttpLink,
  InMemoryCache,
  ServerError,
} from "@apollo/client";
import { ErrorLink } from "@apollo/client/link/error";
import { PersistedQueryLink } from "@apollo/client/link/persisted-queries";
import { isSubscriptionOperation } from "@apollo/client/utilities";
import { CSRF_HEADER } from "./auth";
import { documentHash, documentText } from "./documents";
import { createSubscriptionLink, graphqlSocketUrl } from "./subscriptionLink";

export interface ClientOptions {
  /** Called when the API says the browser is not signed in (401, or a socket closed 4401/4403). */
  onUnauthenticated: () => void;
  /** Same-origin by default; the Vite dev server forwards it to cmgraph. */
  httpUrl?: string;
  socketUrl?: string;
}

function isUnauthenticated(error: unknown): boolean {
  if (ServerError.is(error)) return error.statusCode === 401;
  if (CombinedGraphQLErrors.is(error)) {
    return error.errors.some((e) => e.extensions?.code === "UNAUTHENTICATED");
  }
  return false;
}

async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

export function createApolloClient({
  onUnauthenticated,
  httpUrl = "/graphql",
  socketUrl = graphqlSocketUrl(),
}: ClientOptions): ApolloClient {
  const unauthenticated = new ErrorLink(({ error }) => {
    if (isUnauthenticated(error)) onUnauthenticated();
  });

  // Queries and mutations: the document's hash first (a trusted document, or one the server
  // registered before); when the server does not know it, the manifest's text with the hash.
  const persisted = new PersistedQueryLink({
    generateHash: (document) => documentHash(document) ?? sha256Hex(documentText(document)),
  });
  const http = new HttpLink({
    uri: httpUrl,
    credentials: "include",
    headers: { [CSRF_HEADER]: "1" },
    print: (node) => documentText(node),
  });

  const { link: subscriptions } = createSubscriptionLink({ url: socketUrl, onUnauthenticated });

  return new ApolloClient({
    link: ApolloLink.from([
      unauthenticated,
      ApolloLink.split(
        ({ query }) => isSubscriptionOperation(query),
        subscriptions,
        persisted.concat(http),
      ),
    ]),
    cache: new InMemoryCache({
      // One viewer per session: every query's `viewer` merges into the same object.
      typePolicies: { Viewer: { keyFields: [], merge: true } },
    }),
    defaultOptions: { watchQuery: { fetchPolicy: "cache-and-network" } },
  });
}
