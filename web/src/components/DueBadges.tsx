import type { DueState } from "../gql/graphql";
import { dueStateLabel } from "../format";

/**
 * Where an action stands against its due date and its re-testing cadence, as badges: Overdue
 * or Due soon (on track and no due date need none), Retest due, and evidence past review.
 */
export function DueBadges({
  dueState,
  isRetestDue,
  hasExpiredEvidence = false,
}: {
  dueState: DueState;
  isRetestDue: boolean;
  hasExpiredEvidence?: boolean;
}) {
  return (
    <>
      {dueState === "OVERDUE" && (
        <span className="status-badge status-danger">{dueStateLabel(dueState)}</span>
      )}
      {dueState === "DUE_SOON" && (
        <span className="status-badge status-warning">{dueStateLabel(dueState)}</span>
      )}
      {isRetestDue && <span className="status-badge status-warning">Retest due</span>}
      {hasExpiredEvidence && <span className="status-badge status-warning">Evidence expired</span>}
    </>
  );
}
