import { DueBadges } from "../../components/DueBadges";
import {
  formatDate,
  formatPoints,
  implementationLabel,
  priorityLabel,
  testingSourceLabel,
  testLabel,
} from "../../format";
import { Facts } from "./Facts";
import type { ActionDetails } from "./types";

/** Name, points and statuses: what a person needs before choosing a tab. */
export function ActionHeader({ action }: { action: ActionDetails }) {
  const outOfScope =
    action.implementationStatus === "OUT_OF_SCOPE" || action.testStatus === "OUT_OF_SCOPE";
  const remaining = outOfScope ? 0 : Math.max(action.points - action.score.earned, 0);
  return (
    <header className="action-header">
      <p className="muted action-key">
        {action.key}
        {action.owner === "PROVIDER" && <span className="badge">Provider action</span>}
        {action.pendingUpdate && <span className="badge">Pending update</span>}
      </p>
      <h1>{action.title}</h1>
      <Facts
        items={[
          [
            "Score impact",
            outOfScope ? "None (out of scope)" : `+${formatPoints(remaining)} points`,
          ],
          [
            "Points achieved",
            `${formatPoints(action.score.earned)} / ${formatPoints(action.points)}`,
          ],
          ["Implementation", implementationLabel(action.implementationStatus)],
          ["Test status", testLabel(action.testStatus)],
          ["Assigned to", action.assignee?.name ?? <span className="muted">Unassigned</span>],
          ["Testing source", testingSourceLabel(action.testingSource)],
          ["Priority", priorityLabel(action.priority)],
          [
            "Due",
            action.dueDate ? (
              formatDate(action.dueDate)
            ) : (
              <span className="muted">No due date</span>
            ),
          ],
        ]}
      />
      <p className="action-badges">
        <DueBadges
          dueState={action.dueState}
          isRetestDue={action.isRetestDue}
          hasExpiredEvidence={action.hasExpiredEvidence}
        />
        {action.pointsLapsed && (
          <span className="status-badge status-danger">Points lapsed until retested</span>
        )}
      </p>
    </header>
  );
}
