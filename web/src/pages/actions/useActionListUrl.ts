import { useCallback, useMemo } from "react";
import { useSearchParams } from "react-router";
import {
  actionListSearch,
  parseActionListParams,
  type ActionGroupBy,
  type ActionListParams,
} from "./listParams";

/** Which page of the list: the cursor to start after, or to end before (URL keys). */
export type PageCursor = { after: string } | { before: string } | null;

export interface ActionListUrl {
  params: ActionListParams;
  cursor: PageCursor;
  /** The list's own query string (filters, order, page), for links that come back to it. */
  search: URLSearchParams;
  /** New filters or order, over the URL as it is now: back to the first page. */
  update: (patch: Partial<ActionListParams>) => void;
  setCursor: (cursor: PageCursor) => void;
}

/**
 * The list's state in the URL. `defaultGroupBy` applies when the URL names none (My action
 * items groups by assessment), so choosing "none" there is written out explicitly.
 */
export function useActionListUrl(defaultGroupBy: ActionGroupBy = "none"): ActionListUrl {
  const [searchParams, setSearchParams] = useSearchParams();

  const parse = useCallback(
    (search: URLSearchParams) => {
      const parsed = parseActionListParams(search);
      return search.has("groupBy") ? parsed : { ...parsed, groupBy: defaultGroupBy };
    },
    [defaultGroupBy],
  );
  const params = useMemo(() => parse(searchParams), [parse, searchParams]);

  const after = searchParams.get("after");
  const before = searchParams.get("before");
  const cursor: PageCursor = after ? { after } : before ? { before } : null;

  const toSearch = useCallback(
    (next: ActionListParams, nextCursor: PageCursor) => {
      const search = actionListSearch(next);
      if (next.groupBy !== defaultGroupBy) search.set("groupBy", next.groupBy);
      else search.delete("groupBy");
      if (nextCursor && "after" in nextCursor) search.set("after", nextCursor.after);
      if (nextCursor && "before" in nextCursor) search.set("before", nextCursor.before);
      return search;
    },
    [defaultGroupBy],
  );

  // Read the address bar, not this render's params: two quick changes both count.
  const update = useCallback(
    (patch: Partial<ActionListParams>) => {
      const current = parse(new URLSearchParams(window.location.search));
      setSearchParams(toSearch({ ...current, ...patch }, null));
    },
    [parse, setSearchParams, toSearch],
  );
  const setCursor = useCallback(
    (nextCursor: PageCursor) => {
      setSearchParams(toSearch(params, nextCursor));
    },
    [setSearchParams, toSearch, params],
  );

  return { params, cursor, search: searchParams, update, setCursor };
}
