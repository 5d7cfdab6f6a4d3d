import { useState } from "react";
import { formatPercent, testingSourceLabel, testLabel } from "../../format";
import { formatDate } from "./labels";
import type { ActionAccess } from "./permissions";
import { TestingForm } from "./TestingForm";
import { TestingHistoryExport } from "./TestingHistoryExport";
import type { ActionDetails } from "./types";

export function TestingTab({
  action,
  access,
  reload,
}: {
  action: ActionDetails;
  access: ActionAccess;
  reload: () => Promise<unknown>;
}) {
  const [editing, setEditing] = useState(false);
  const [saved, setSaved] = useState<string | null>(null);
  const canEditSomething =
    access.testStatus === null || access.testDate === null || access.additionalNotes === null;
  // What stays closed for this viewer, said once each.
  const reasons = [
    ...new Set([access.testStatus, access.testDate, access.additionalNotes].filter(Boolean)),
  ] as string[];

  return (
    <>
      <h2>Testing</h2>
      <dl className="facts">
        <div>
          <dt>Test status</dt>
          <dd>
            {testLabel(action.testStatus)}
            {action.testStatus === "PARTIALLY_TESTED" && action.automationFraction != null
              ? ` (${formatPercent(action.automationFraction * 100)} passed)`
              : ""}
          </dd>
        </div>
        <div>
          <dt>Test date</dt>
          <dd>{formatDate(action.testDate)}</dd>
        </div>
        <div>
          <dt>Testing source</dt>
          <dd>{testingSourceLabel(action.testingSource)}</dd>
        </div>
      </dl>
      <h3>Testing notes</h3>
      <p className="prewrap">
        {action.testingNotes || <span className="muted">No testing notes.</span>}
      </p>
      <h3>Additional notes</h3>
      <p className="prewrap">
        {action.additionalNotes || <span className="muted">No additional notes.</span>}
      </p>
      {action.testingSource === "AUTOMATIC" || action.testingLogic ? (
        <>
          <h3>Testing logic</h3>
          <p className="prewrap">
            {action.testingLogic || <span className="muted">No testing logic is described.</span>}
          </p>
        </>
      ) : null}

      <p role="status">{saved}</p>
      {reasons.length > 0 && (
        <ul className="read-only-reason">
          {reasons.map((reason) => (
            <li key={reason}>{reason}</li>
          ))}
        </ul>
      )}
      {canEditSomething &&
        (editing ? (
          <TestingForm
            action={action}
            access={access}
            reload={reload}
            onDone={(message) => {
              setEditing(false);
              setSaved(message || null);
            }}
          />
        ) : (
          <button
            type="button"
            className="primary"
            onClick={() => {
              setSaved(null);
              setEditing(true);
            }}
          >
            Edit testing details
          </button>
        ))}

      <h3>Testing history</h3>
      <p>Every change of the test status, as a spreadsheet.</p>
      <TestingHistoryExport actionId={action.id} />
    </>
  );
}
