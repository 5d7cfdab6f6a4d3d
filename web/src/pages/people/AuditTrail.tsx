import { formatDateTime } from "../../format";
import { useQuery } from "@apollo/client/react";
import { useCallback, useId } from "react";
import { auditLabel } from "./auditLabels";
import { describeAuditEvent, type NameLookup } from "./auditText";
import { AuditTrailQuery, GrantScopesQuery } from "./documents";
import { appendNodes, useShowMore } from "../../showMore";

const PAGE_SIZE = 20;

/** A global id is the base64 of "<TypeName>:<row id>" (README, "Global ids"); audit details hold row ids. */
function globalId(typeName: string, rowId: number): string {
  return btoa(`${typeName}:${rowId}`);
}

/** Every change to this person's account and access, newest first. */
export function AuditTrail({ userId, userName }: { userId: string; userName: string }) {
  const id = useId();
  const { data, error, loading, fetchMore } = useQuery(AuditTrailQuery, {
    variables: { userId, first: PAGE_SIZE },
  });
  const scopes = useQuery(GrantScopesQuery);
  const { loadingMore, moreError, showMore: loadMore } = useShowMore();

  const assessments = scopes.data?.assessments.nodes;
  const names = useCallback<NameLookup>(
    (typeName, rowId) => {
      const wanted = globalId(typeName, rowId);
      for (const assessment of assessments ?? []) {
        if (typeName === "Assessment" && assessment.id === wanted) return assessment.name;
        if (typeName === "Regulation" && assessment.regulation.id === wanted) {
          return assessment.regulation.name;
        }
      }
      return null;
    },
    [assessments],
  );

  function showMore(after: string) {
    void loadMore(() =>
      fetchMore({ variables: { after }, updateQuery: appendNodes("auditEvents") }),
    );
  }

  const events = data?.auditEvents;
  return (
    <section aria-labelledby={`${id}-heading`} className="card wide">
      <h3 id={`${id}-heading`}>Audit trail</h3>
      {error && (
        <p role="alert">
          {events ? "Showing earlier entries: " : "The audit trail could not be loaded: "}
          {error.message}
        </p>
      )}
      {!events && !error && <p aria-busy={loading}>Loading the audit trail…</p>}
      {events?.nodes.length === 0 && <p>No changes recorded for {userName} yet.</p>}
      {events && events.nodes.length > 0 && (
        <div className="table-scroll">
          <table className="data">
            <caption className="visually-hidden">
              Changes to the account and access of {userName}, newest first
            </caption>
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Change</th>
                <th scope="col">What</th>
                <th scope="col">By</th>
              </tr>
            </thead>
            <tbody>
              {events.nodes.map((event) => (
                <tr key={event.id}>
                  <th scope="row">{formatDateTime(event.createdAt)}</th>
                  <td>{auditLabel(event.action)}</td>
                  <td>{describeAuditEvent(event.action, event.detail, names)}</td>
                  <td>
                    {event.actor ? (
                      event.actor.name
                    ) : (
                      <span className="muted">Command line or system</span>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {events?.pageInfo.hasNextPage && events.pageInfo.endCursor && (
        <p>
          <button
            type="button"
            disabled={loadingMore}
            onClick={() => {
              showMore(events.pageInfo.endCursor ?? "");
            }}
          >
            {loadingMore
              ? "Loading…"
              : `Show older changes (${events.nodes.length} of ${events.totalCount})`}
          </button>
        </p>
      )}
      {moreError && <p role="alert">Older changes could not be loaded: {moreError}</p>}
    </section>
  );
}
