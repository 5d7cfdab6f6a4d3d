import { useApolloClient } from "@apollo/client/react";
import { useEffect, useState } from "react";
import { actionListFilter, actionListOrder, parseActionListParams } from "../actions/listParams";
import type { ActionNeighboursQuery as ActionNeighboursQueryType } from "../../gql/graphql";
import { ActionNeighboursQuery } from "./documents";

export type Neighbours =
  | { state: "loading" }
  | { state: "error"; message: string }
  | { state: "absent"; total: number }
  | {
      state: "found";
      position: number;
      total: number;
      previousId: string | null;
      nextId: string | null;
    };

type Page = ActionNeighboursQueryType["improvementActions"];

interface Result {
  key: string;
  neighbours: Neighbours;
}

/**
 * Where this action sits in the filtered, ordered list it was opened from: the list's ids are
 * read 100 a page (the API's largest), and reading stops once the action and the one after
 * it are known.
 */
// How far into a list the page looks for the action (pages of up to 100 ids).
const MAX_PAGES = 50;

export function useListNeighbours(actionId: string, list: string): Neighbours {
  const client = useApolloClient();
  const key = `${actionId}|${list}`;
  const [result, setResult] = useState<Result | null>(null);

  useEffect(() => {
    let cancelled = false;
    const params = parseActionListParams(new URLSearchParams(list));
    const variables = { filter: actionListFilter(params), orderBy: actionListOrder(params) };

    async function readPage(after: string | null): Promise<Page> {
      // From the server each time: the list changes as people work through it.
      const { data } = await client.query({
        query: ActionNeighboursQuery,
        variables: { ...variables, after },
        fetchPolicy: "network-only",
      });
      if (!data) throw new Error("The list could not be read.");
      return data.improvementActions;
    }

    async function find(): Promise<Neighbours> {
      let after: string | null = null;
      let offset = 0;
      let previousId: string | null = null;
      let position: number | null = null;
      for (let pages = 0; pages < MAX_PAGES; pages++) {
        const page = await readPage(after);
        const ids = page.nodes.map((node) => node.id);
        if (position !== null) {
          // The action was the last of the previous page: its next is this page's first.
          return {
            state: "found",
            position,
            total: page.totalCount,
            previousId,
            nextId: ids[0] ?? null,
          };
        }
        const index = ids.indexOf(actionId);
        if (index >= 0) {
          previousId = index > 0 ? (ids[index - 1] ?? null) : previousId;
          const found = offset + index + 1;
          position = found;
          if (index < ids.length - 1 || !page.pageInfo.hasNextPage) {
            return {
              state: "found",
              position: found,
              total: page.totalCount,
              previousId,
              nextId: ids[index + 1] ?? null,
            };
          }
        } else {
          previousId = ids[ids.length - 1] ?? previousId;
          const endCursor = page.pageInfo.endCursor;
          if (!page.pageInfo.hasNextPage || ids.length === 0 || !endCursor) {
            return { state: "absent", total: page.totalCount };
          }
        }
        offset += ids.length;
        after = page.pageInfo.endCursor ?? null;
      }
      throw new Error(`The action is not among the list's first ${MAX_PAGES * 100} actions.`);
    }

    find().then(
      (neighbours) => {
        if (!cancelled) setResult({ key, neighbours });
      },
      (error: unknown) => {
        if (!cancelled) {
          setResult({
            key,
            neighbours: {
              state: "error",
              message: error instanceof Error ? error.message : "The list could not be read.",
            },
          });
        }
      },
    );
    return () => {
      cancelled = true;
    };
  }, [client, actionId, list, key]);

  return result?.key === key ? result.neighbours : { state: "loading" };
}
