import { useState } from "react";
import { Link } from "react-router";
import {
  formatDateTime,
  formatPoints,
  implementationLabel,
  implementationTypeLabel,
  testingSourceLabel,
  testLabel,
} from "../../format";
import { enforcementLabels, purposeLabels } from "./labels";
import type { ActionAccess } from "./permissions";
import { TestingSourceForm } from "./TestingSourceForm";
import type { ActionDetails } from "./types";

export function OverviewTab({
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
      <h2>Summary</h2>
      <dl className="facts">
        <div>
          <dt>Implementation status</dt>
          <dd>{implementationLabel(action.implementationStatus)}</dd>
        </div>
        <div>
          <dt>Test status</dt>
          <dd>{testLabel(action.testStatus)}</dd>
        </div>
        <div>
          <dt>Points achieved</dt>
          <dd>
            {formatPoints(action.score.earned)} of {formatPoints(action.points)}
          </dd>
        </div>
        <div>
          <dt>Action type</dt>
          <dd>{implementationTypeLabel(action.implementationType)}</dd>
        </div>
        <div>
          <dt>Enforcement</dt>
          <dd>{enforcementLabels[action.enforcement]}</dd>
        </div>
        <div>
          <dt>Purpose</dt>
          <dd>{purposeLabels[action.purpose]}</dd>
        </div>
        <div>
          <dt>Category</dt>
          <dd>{action.category}</dd>
        </div>
        <div>
          <dt>Solution</dt>
          <dd>{action.solution}</dd>
        </div>
        <div>
          <dt>Managed by</dt>
          <dd>{action.owner === "PROVIDER" ? "The service provider" : "Your organisation"}</dd>
        </div>
        <div>
          <dt>State shared</dt>
          <dd>{action.group ? `In group ${action.group.name}` : "Organisation-wide"}</dd>
        </div>
        <div>
          <dt>Last changed</dt>
          <dd>{formatDateTime(action.updatedAt)}</dd>
        </div>
      </dl>
      {action.assignmentNotes && (
        <>
          <h3>Assignment notes</h3>
          <p className="prewrap">{action.assignmentNotes}</p>
        </>
      )}

      <h3>Assessments</h3>
      {action.assessments.length === 0 ? (
        <p>This action counts in no assessment you can read.</p>
      ) : (
        <ul>
          {action.assessments.map((assessment) => (
            <li key={assessment.id}>
              <Link to={`/assessments/${encodeURIComponent(assessment.id)}`}>
                {assessment.name}
              </Link>{" "}
              <span className="muted">
                {assessment.regulation.name}, group {assessment.group.name}
                {assessment.archived ? ", archived" : ""}
              </span>
            </li>
          ))}
        </ul>
      )}

      <h3>Testing source</h3>
      <p>
        {testingSourceLabel(action.testingSource)}
        {action.parent && (
          <>
            : inherits from{" "}
            <Link to={`/actions/${encodeURIComponent(action.parent.id)}`}>
              {action.parent.key} {action.parent.title}
            </Link>
          </>
        )}
      </p>
      {action.children.length > 0 && (
        <>
          <p>Actions that inherit from this one:</p>
          <ul>
            {action.children.map((child) => (
              <li key={child.id}>
                <Link to={`/actions/${encodeURIComponent(child.id)}`}>
                  {child.key} {child.title}
                </Link>
              </li>
            ))}
          </ul>
        </>
      )}
      <p role="status">{saved}</p>
      {access.testingSource ? (
        <p className="read-only-reason">{access.testingSource}</p>
      ) : editing ? (
        <TestingSourceForm
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
          onClick={() => {
            setSaved(null);
            setEditing(true);
          }}
        >
          Change testing source
        </button>
      )}
    </>
  );
}
