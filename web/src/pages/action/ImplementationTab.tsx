import { useState } from "react";
import { implementationLabel, implementationTypeLabel } from "../../format";
import { ImplementationForm } from "./ImplementationForm";
import { formatDate } from "./labels";
import type { ActionAccess } from "./permissions";
import type { ActionDetails } from "./types";

export function ImplementationTab({
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

  return (
    <>
      <h2>Implementation</h2>
      <dl className="facts">
        <div>
          <dt>Implementation status</dt>
          <dd>{implementationLabel(action.implementationStatus)}</dd>
        </div>
        <div>
          <dt>Implementation date</dt>
          <dd>{formatDate(action.implementationDate)}</dd>
        </div>
        <div>
          <dt>Action type</dt>
          <dd>{implementationTypeLabel(action.implementationType)}</dd>
        </div>
        <div>
          <dt>
            {action.implementationType === "TECHNICAL" ? "Where the work is done" : "Solution"}
          </dt>
          <dd>{action.solution}</dd>
        </div>
      </dl>
      <h3>Implementation notes</h3>
      <p className="prewrap">
        {action.implementationNotes || <span className="muted">No notes yet.</span>}
      </p>

      <p role="status">{saved}</p>
      {access.implementation ? (
        <p className="read-only-reason">{access.implementation}</p>
      ) : editing ? (
        <ImplementationForm
          action={action}
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
          Edit implementation details
        </button>
      )}

      <h3>Guidance</h3>
      <div className="guidance prewrap">
        {action.guidance || <span className="muted">This action has no guidance.</span>}
      </div>
    </>
  );
}
