import { useQuery } from "@apollo/client/react";
import { useEffect, useState } from "react";
import { PeopleListQuery } from "./documents";
import { InviteDialog } from "./InviteDialog";
import { PeopleTable } from "./PeopleTable";
import { appendNodes, useShowMore } from "../../showMore";

const PAGE_SIZE = 50;
const SEARCH_DELAY_MS = 300;

interface PeopleDirectoryProps {
  search: string;
  onSearch: (search: string) => void;
  personHref: (id: string) => string;
  onInvited: (id: string, email: string) => void;
}

/** Everyone with access: a search, the table, more on demand, and the invitation. */
export function PeopleDirectory({ search, onSearch, personHref, onInvited }: PeopleDirectoryProps) {
  const [typed, setTyped] = useState(search);
  // The URL's search changed from outside the box (back, forward, a link): show it.
  const [shownSearch, setShownSearch] = useState(search);
  if (search !== shownSearch) {
    setShownSearch(search);
    if (search !== typed.trim()) setTyped(search);
  }
  const [inviting, setInviting] = useState(false);
  const { loadingMore, moreError, showMore: loadMore } = useShowMore();
  const { data, previousData, error, loading, fetchMore } = useQuery(PeopleListQuery, {
    variables: { filter: { search: search || null }, first: PAGE_SIZE },
  });

  // The URL follows the search box once typing pauses, so a search can be shared.
  useEffect(() => {
    if (typed.trim() === search) return;
    const timer = setTimeout(() => {
      onSearch(typed.trim());
    }, SEARCH_DELAY_MS);
    return () => {
      clearTimeout(timer);
    };
  }, [typed, search, onSearch]);

  function showMore(after: string) {
    void loadMore(() => fetchMore({ variables: { after }, updateQuery: appendNodes("users") }));
  }

  // While a new search loads, the previous results stay (marked busy) instead of flashing.
  const users = (data ?? previousData)?.users;
  return (
    <>
      <div className="people-toolbar">
        <label className="people-search">
          Search people
          <input
            type="search"
            placeholder="Part of a name or email"
            value={typed}
            onChange={(event) => {
              setTyped(event.target.value);
            }}
          />
        </label>
        <button
          type="button"
          className="primary"
          onClick={() => {
            setInviting(true);
          }}
        >
          Invite person
        </button>
      </div>

      {inviting && (
        <InviteDialog
          onClose={() => {
            setInviting(false);
          }}
          onInvited={(person) => {
            setInviting(false);
            onInvited(person.id, person.email);
          }}
        />
      )}

      {error && (
        <p role="alert">
          {users ? "Showing earlier results: " : "The people could not be loaded: "}
          {error.message}
        </p>
      )}
      {!users && !error && <p aria-busy={loading}>Loading people…</p>}
      {users && (
        <>
          <p className="muted" role="status">
            {users.totalCount === 1 ? "1 person" : `${users.totalCount} people`}
            {search ? ` match “${search}”` : ""}.
          </p>
          {users.nodes.length === 0 ? (
            <p>
              {search
                ? "Nobody matches this search. Try part of a name or an email."
                : "Nobody has access yet: invite someone."}
            </p>
          ) : (
            <div aria-busy={loading}>
              <PeopleTable people={users.nodes} personHref={personHref} />
            </div>
          )}
          {users.pageInfo.hasNextPage && users.pageInfo.endCursor && (
            <p>
              <button
                type="button"
                disabled={loadingMore}
                onClick={() => {
                  showMore(users.pageInfo.endCursor ?? "");
                }}
              >
                {loadingMore ? "Loading…" : "Show more people"}
              </button>
            </p>
          )}
          {moreError && <p role="alert">More people could not be loaded: {moreError}</p>}
          <p className="hint people-legend">
            Invited: has neither signed in nor been given an API token yet. Last seen: the latest
            browser request or API token use.
          </p>
        </>
      )}
    </>
  );
}
