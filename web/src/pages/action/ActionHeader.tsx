import { formatPoints, implementationLabel, testingSourceLabel, testLabel } from "../../format";
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
      <dl className="facts">
        <div>
          <dt>Score impact</dt>
          <dd>{outOfScope ? "None (out of scope)" : `+${formatPoints(remaining)} points`}</dd>
        </div>
        <div>
          <dt>Points achieved</dt>
          <dd>
            {formatPoints(action.score.earned)} / {formatPoints(action.points)}
          </dd>
        </div>
        <div>
          <dt>Implementation</dt>
          <dd>{implementationLabel(action.implementationStatus)}</dd>
        </div>
        <div>
          <dt>Test status</dt>
          <dd>{testLabel(action.testStatus)}</dd>
        </div>
        <div>
          <dt>Assigned to</dt>
          <dd>{action.assignee?.name ?? <span className="muted">Unassigned</span>}</dd>
        </div>
        <div>
          <dt>Testing source</dt>
          <dd>{testingSourceLabel(action.testingSource)}</dd>
        </div>
      </dl>
    </header>
  );
}
