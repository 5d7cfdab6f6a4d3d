import { useState } from "react";
import { requestErrorMessage } from "./mutationErrors";

type Paged<K extends string> = Record<K, { nodes: readonly { id: string }[] }>;

/**
 * For fetchMore's `updateQuery`: the next page, with the connection under `key` holding the
 * nodes already shown followed by the new ones (a node that moved between pages once).
 */
export function appendNodes<K extends string>(key: K) {
  return <Q extends Paged<K>>(previous: Q, { fetchMoreResult }: { fetchMoreResult: Q }): Q => {
    const shown = new Set(previous[key].nodes.map((node) => node.id));
    return {
      ...fetchMoreResult,
      [key]: {
        ...fetchMoreResult[key],
        nodes: [
          ...previous[key].nodes,
          ...fetchMoreResult[key].nodes.filter((node) => !shown.has(node.id)),
        ],
      },
    };
  };
}

/** A "Show more" button's state: loading the next page, and why it failed if it did. */
export function useShowMore(): {
  loadingMore: boolean;
  moreError: string | null;
  showMore: (load: () => Promise<unknown>) => Promise<void>;
} {
  const [loadingMore, setLoadingMore] = useState(false);
  const [moreError, setMoreError] = useState<string | null>(null);

  async function showMore(load: () => Promise<unknown>) {
    setLoadingMore(true);
    setMoreError(null);
    try {
      await load();
    } catch (failure) {
      setMoreError(requestErrorMessage(failure));
    } finally {
      setLoadingMore(false);
    }
  }

  return { loadingMore, moreError, showMore };
}
