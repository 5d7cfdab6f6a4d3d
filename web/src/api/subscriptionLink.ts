import { ApolloLink } from "@apollo/client";
import { createClient, type Client } from "graphql-ws";
import { Observable } from "rxjs";
import { documentText } from "./documents";

/** ws(s)://<this host>/graphql: the page's own origin, whose cookie signs the socket in. */
export function graphqlSocketUrl(location: Location = window.location): string {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}/graphql`;
}

/** Close codes the server uses when the session is missing or no longer valid. */
const SIGNED_OUT_CLOSE_CODES = new Set([4401, 4403]);

export interface SubscriptionLinkOptions {
  url: string;
  onUnauthenticated: () => void;
}

/**
 * Subscriptions over graphql-transport-ws. The connection_init payload is empty: the upgrade
 * request's session cookie signs the socket in. Each operation goes out with the manifest's
 * text (see documents.ts) so a server holding only trusted documents accepts it.
 */
export function createSubscriptionLink({ url, onUnauthenticated }: SubscriptionLinkOptions): {
  link: ApolloLink;
  client: Client;
} {
  const client = createClient({
    url,
    connectionParams: {},
    lazy: true,
    shouldRetry: (event) =>
      !(event instanceof CloseEvent && SIGNED_OUT_CLOSE_CODES.has(event.code)),
    on: {
      closed: (event) => {
        if (event instanceof CloseEvent && SIGNED_OUT_CLOSE_CODES.has(event.code)) {
          onUnauthenticated();
        }
      },
    },
  });
  const link = new ApolloLink(
    (operation) =>
      new Observable<ApolloLink.Result>((observer) =>
        client.subscribe<ApolloLink.Result["data"], ApolloLink.Result["extensions"]>(
          {
            query: documentText(operation.query),
            variables: operation.variables,
            ...(operation.operationName ? { operationName: operation.operationName } : {}),
          },
          {
            next: (result) => {
              observer.next(result as ApolloLink.Result);
            },
            error: (error: unknown) => {
              observer.error(error instanceof Error ? error : new Error(describeClose(error)));
            },
            complete: () => {
              observer.complete();
            },
          },
        ),
      ),
  );
  return { link, client };
}

function describeClose(error: unknown): string {
  if (error instanceof CloseEvent) {
    return `The live connection closed (${error.code}${error.reason ? `: ${error.reason}` : ""}).`;
  }
  return "The live connection failed.";
}
