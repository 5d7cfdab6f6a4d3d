import { formatDateTime } from "../../format";
import { useQuery } from "@apollo/client/react";
import { Link, useParams } from "react-router";
import { SeverityBadge, StatusBadge } from "./Badges";
import { EventsLog } from "./EventsLog";
import { TriageForm } from "./TriageForm";
import { AlertDetailsQuery } from "./documents";
import { alertKindLabel } from "./labels";
import { useAlertsLive } from "./useAlertsLive";
import { useAlertViewer } from "./viewer";
import "./alerts.css";

export function AlertDetailsPage() {
  const { id = "" } = useParams();
  const viewer = useAlertViewer();
  const { data, error, loading, refetch } = useQuery(AlertDetailsQuery, { variables: { id } });
  // Live: new events join the alert; its header fields update through the cache.
  const liveNote = useAlertsLive((changedId) => {
    if (changedId === id) void refetch();
  });

  const node = data?.node;
  const alert = node?.__typename === "Alert" ? node : null;

  if (!alert) {
    return (
      <div className="alerts-page">
        <p>
          <Link to="/alerts">All alerts</Link>
        </p>
        <h1>Alert</h1>
        {error ? (
          <p role="alert">The alert could not be loaded: {error.message}</p>
        ) : data ? (
          <p>
            This alert does not exist or is not yours to see.{" "}
            <Link to="/alerts">See all alerts</Link>.
          </p>
        ) : (
          <p aria-busy={loading}>Loading the alert…</p>
        )}
      </div>
    );
  }

  return (
    <div className="alerts-page">
      <p>
        <Link to="/alerts">All alerts</Link>
      </p>
      <h1>Alert: {alert.policyName}</h1>
      {error && <p role="alert">Showing earlier details: {error.message}</p>}
      <p role="status" className="live-note">
        {liveNote}
      </p>
      <section className="card" aria-labelledby="summary-heading">
        <h2 id="summary-heading">Summary</h2>
        <dl className="alert-summary">
          <div>
            <dt>Severity</dt>
            <dd>
              <SeverityBadge severity={alert.severity} />
            </dd>
          </div>
          <div>
            <dt>Status</dt>
            <dd>
              <StatusBadge status={alert.status} />
            </dd>
          </div>
          <div>
            <dt>Assigned to</dt>
            <dd>{alert.assignee?.name ?? <span className="muted">Unassigned</span>}</dd>
          </div>
          <div>
            <dt>Kind</dt>
            <dd>{alertKindLabel(alert.kind)}</dd>
          </div>
          <div>
            <dt>Events</dt>
            <dd>{alert.eventCount}</dd>
          </div>
          <div>
            <dt>Detected</dt>
            <dd>
              <time dateTime={alert.detectedAt}>{formatDateTime(alert.detectedAt)}</time>
            </dd>
          </div>
          <div>
            <dt>Last change</dt>
            <dd>
              <time dateTime={alert.updatedAt}>{formatDateTime(alert.updatedAt)}</time>
            </dd>
          </div>
          <div>
            <dt>Joins matches until</dt>
            <dd>
              <time dateTime={alert.windowEndsAt}>{formatDateTime(alert.windowEndsAt)}</time>
            </dd>
          </div>
          <div>
            <dt>Policy</dt>
            <dd>
              {alert.policy ? (
                viewer.managesPolicies ? (
                  <Link to="/alert-policies">{alert.policy.name}</Link>
                ) : (
                  alert.policy.name
                )
              ) : (
                <>
                  {alert.policyName} <span className="muted">(deleted or not visible)</span>
                </>
              )}
            </dd>
          </div>
        </dl>
        {alert.policy?.description && <p className="muted">{alert.policy.description}</p>}
      </section>

      {viewer.mayTriage && <TriageForm alert={alert} />}

      <section aria-labelledby="events-heading">
        <h2 id="events-heading">Events log</h2>
        {alert.events.length === 0 ? (
          <p>No events you can see: they concern assessments you cannot read.</p>
        ) : (
          <EventsLog events={alert.events} />
        )}
      </section>
    </div>
  );
}
