import { formatDateTime } from "../../format";
import { Link } from "react-router";
import type { AlertListFieldsFragment } from "../../gql/graphql";
import { SeverityBadge, StatusBadge } from "./Badges";
import { alertKindLabel } from "./labels";

export function AlertsTable({
  alerts,
  caption,
}: {
  alerts: readonly AlertListFieldsFragment[];
  caption: string;
}) {
  return (
    <div className="table-scroll">
      <table className="data">
        <caption className="visually-hidden">{caption}</caption>
        <thead>
          <tr>
            <th scope="col">Alert</th>
            <th scope="col">Severity</th>
            <th scope="col">Status</th>
            <th scope="col">Kind</th>
            <th scope="col" className="num">
              Events
            </th>
            <th scope="col">Assigned to</th>
            <th scope="col">Detected</th>
            <th scope="col">Last change</th>
          </tr>
        </thead>
        <tbody>
          {alerts.map((alert) => (
            <tr key={alert.id}>
              <th scope="row">
                <Link to={`/alerts/${encodeURIComponent(alert.id)}`}>{alert.policyName}</Link>
              </th>
              <td>
                <SeverityBadge severity={alert.severity} />
              </td>
              <td>
                <StatusBadge status={alert.status} />
              </td>
              <td>{alertKindLabel(alert.kind)}</td>
              <td className="num">{alert.eventCount}</td>
              <td>{alert.assignee?.name ?? <span className="muted">Unassigned</span>}</td>
              <td>
                <time dateTime={alert.detectedAt}>{formatDateTime(alert.detectedAt)}</time>
              </td>
              <td>
                <time dateTime={alert.updatedAt}>{formatDateTime(alert.updatedAt)}</time>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
