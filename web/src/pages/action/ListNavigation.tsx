import { Link } from "react-router";
import { actionDetailsPath } from "../actions/listParams";
import { useListNeighbours } from "./useListNeighbours";

/** "Back to list", "n of N" and previous/next within the list the person came from. */
export function ListNavigation({
  actionId,
  list,
  tab,
}: {
  actionId: string;
  list: string;
  tab: string | null;
}) {
  const neighbours = useListNeighbours(actionId, list);
  const listSearch = new URLSearchParams(list);
  const pathOf = (id: string) => {
    const path = actionDetailsPath(id, listSearch);
    return tab ? `${path}${path.includes("?") ? "&" : "?"}tab=${encodeURIComponent(tab)}` : path;
  };

  return (
    <nav aria-label="Filtered list" className="list-nav">
      <Link to={list ? `/actions?${list}` : "/actions"}>Back to list</Link>
      {neighbours.state === "loading" && (
        <span aria-busy="true">Finding this action in the list…</span>
      )}
      {neighbours.state === "error" && (
        <span role="alert">The list could not be read: {neighbours.message}</span>
      )}
      {neighbours.state === "absent" && (
        <span className="muted">
          This action is no longer in the filtered list ({neighbours.total} actions).
        </span>
      )}
      {neighbours.state === "found" && (
        <>
          {neighbours.previousId ? (
            <Link to={pathOf(neighbours.previousId)} rel="prev">
              ← Previous action
            </Link>
          ) : (
            <span className="muted">First in the list</span>
          )}
          <span>
            {neighbours.position} of {neighbours.total}
          </span>
          {neighbours.nextId ? (
            <Link to={pathOf(neighbours.nextId)} rel="next">
              Next action →
            </Link>
          ) : (
            <span className="muted">Last in the list</span>
          )}
        </>
      )}
    </nav>
  );
}
