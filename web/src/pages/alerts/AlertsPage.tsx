import { useQuery } from "@apollo/client/react";
import { Link, useSearchParams } from "react-router";
import { AlertFiltersForm } from "./AlertFiltersForm";
import { AlertsTable } from "./AlertsTable";
import { AlertsListQuery } from "./documents";
import { hasFilters, readFilters, toAlertFilter, writeFilters } from "./listFilters";
import { useAlertsLive } from "./useAlertsLive";
import { useAlertViewer } from "./viewer";
import "./alerts.css";
import { appendNodes, useShowMore } from "../../showMore";

const PAGE_SIZE = 50;

export function AlertsPage() {
  const [params, setParams] = useSearchParams();
  const filters = readFilters(params);
  const filtered = hasFilters(filters);
  const viewer = useAlertViewer();
  const { data, error, loading, refetch, fetchMore } = useQuery(AlertsListQuery, {
    variables: { filter: toAlertFilter(filters), first: PAGE_SIZE, after: null },
    notifyOnNetworkStatusChange: true,
  });
  const { loadingMore, moreError, showMore: loadMore } = useShowMore();
  const alerts = data?.alerts.nodes ?? [];

  // A known row updates itself through the cache; anything else may change which alerts
  // match, so the first page is read again.
  const liveNote = useAlertsLive((alertId) => {
    if (filtered || !alerts.some((alert) => alert.id === alertId)) void refetch();
  });

  function showMore() {
    const after = data?.alerts.pageInfo.endCursor;
    if (!after) return;
    void loadMore(() => fetchMore({ variables: { after }, updateQuery: appendNodes("alerts") }));
  }

  return (
    <div className="alerts-page">
      <div className="page-head">
        <h1>Alerts</h1>
        {viewer.managesPolicies && <Link to="/alert-policies">Alert policies</Link>}
      </div>
      <AlertFiltersForm
        filters={filters}
        viewerId={viewer.userId}
        mayPickPeople={viewer.mayTriage}
        onChange={(next) => {
          setParams(writeFilters(next), { replace: true });
        }}
      />
      <p role="status" className="live-note">
        {liveNote}
      </p>
      {!data ? (
        error ? (
          <p role="alert">The alerts could not be loaded: {error.message}</p>
        ) : (
          <p aria-busy={loading}>Loading alerts…</p>
        )
      ) : (
        <>
          {error && <p role="alert">Showing earlier results: {error.message}</p>}
          <p className="muted" aria-busy={loading}>
            {data.alerts.totalCount === 1 ? "1 alert" : `${data.alerts.totalCount} alerts`}
            {filtered ? " match the filters" : ""}
            {alerts.length < data.alerts.totalCount ? `; showing ${alerts.length}` : ""}.
          </p>
          {alerts.length === 0 ? (
            <p>
              {filtered
                ? "No alert matches these filters: clear some to see more."
                : "No alerts yet. Alerts open when an alert policy matches a change; set up policies under Alert policies."}
            </p>
          ) : (
            <AlertsTable alerts={alerts} caption="Alerts, newest first" />
          )}
          {data.alerts.pageInfo.hasNextPage && (
            <p>
              <button
                type="button"
                disabled={loadingMore}
                onClick={() => {
                  showMore();
                }}
              >
                {loadingMore ? "Loading more alerts…" : "Show more alerts"}
              </button>
            </p>
          )}
          {moreError && <p role="alert">More alerts could not be loaded: {moreError}</p>}
        </>
      )}
    </div>
  );
}
