import type { AlertStatus, Severity } from "../../gql/graphql";
import { alertStatusLabel, severityLabel } from "./labels";

/** Severity as a word on a tint; the word carries the meaning, the tint only helps. */
export function SeverityBadge({ severity }: { severity: Severity }) {
  return (
    <span className={`badge severity-${severity.toLowerCase()}`}>{severityLabel(severity)}</span>
  );
}

export function StatusBadge({ status }: { status: AlertStatus }) {
  return <span className={`badge status-${status.toLowerCase()}`}>{alertStatusLabel(status)}</span>;
}
