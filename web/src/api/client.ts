import {
  ApolloClient,
  ApolloLink,
  CombinedGraphQLErrors,
  HttpLink,
  InMemoryCache,
  ServerError,
  type TypePolicies,
} from "@apollo/client";
import { ErrorLink } from "@apollo/client/link/error";
import { Kind } from "graphql";
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

// An action's lists always arrive whole (queries, mutation payloads, live messages): the
// newest replaces the cached one, so a shorter list (a deleted evidence) is no lost data.
const WHOLE_ACTION_LISTS = [
  "evidence",
  "inheritedEvidence",
  "controls",
  "assessments",
  "children",
  "history",
  "pendingUpdateChanges",
] as const;

const typePolicies: TypePolicies = {
  // One viewer per session: every page's `viewer` selection merges into the same object.
  Viewer: { keyFields: [], merge: true },
  Organisation: { keyFields: [], merge: true },
  ImprovementAction: {
    fields: {
      ...Object.fromEntries(WHOLE_ACTION_LISTS.map((field) => [field, { merge: false }])),
      // Pages select different parts of an action's score: keep the union.
      score: { merge: true },
    },
  },
};

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
    print: (node, print) => (node.kind === Kind.DOCUMENT ? documentText(node) : print(node)),
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
    cache: new InMemoryCache({ typePolicies }),
    defaultOptions: { watchQuery: { fetchPolicy: "cache-and-network" } },
  });
}
