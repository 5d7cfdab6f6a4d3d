import { Link } from "react-router";
import { DueBadges } from "../../components/DueBadges";
import {
  formatDate,
  formatDateTime,
  formatPoints,
  implementationLabel,
  implementationTypeLabel,
  priorityLabel,
  testingSourceLabel,
  testLabel,
} from "../../format";
import { EditSection } from "./EditSection";
import { Facts } from "./Facts";
import { enforcementLabels, purposeLabels } from "./labels";
import { PlanningForm } from "./PlanningForm";
import { TestingSourceForm } from "./TestingSourceForm";
import type { ActionTabProps } from "./types";

export function OverviewTab({ action, access, reload }: ActionTabProps) {
  return (
    <>
      <h2>Summary</h2>
      <Facts
        items={[
          ["Implementation status", implementationLabel(action.implementationStatus)],
          ["Test status", testLabel(action.testStatus)],
          [
            "Points achieved",
            `${formatPoints(action.score.earned)} of ${formatPoints(action.points)}`,
          ],
          ["Action type", implementationTypeLabel(action.implementationType)],
          ["Enforcement", enforcementLabels[action.enforcement]],
          ["Purpose", purposeLabels[action.purpose]],
          ["Category", action.category],
          ["Solution", action.solution],
          [
            "Managed by",
            action.owner === "PROVIDER" ? "The service provider" : "Your organisation",
          ],
          ["State shared", action.group ? `In group ${action.group.name}` : "Organisation-wide"],
          ["Last changed", formatDateTime(action.updatedAt)],
        ]}
      />
      <h3>Due date and retesting</h3>
      <Facts
        items={[
          [
            "Due date",
            <>
              {action.dueDate ? formatDate(action.dueDate) : <span className="muted">None</span>}{" "}
              <DueBadges dueState={action.dueState} isRetestDue={false} />
            </>,
          ],
          ["Priority", `${priorityLabel(action.priority)} (from its points)`],
          ["Retest every", retestCadence(action)],
          [
            "Next retest",
            action.retestDueOn ? (
              <>
                {formatDate(action.retestDueOn)}{" "}
                <DueBadges dueState="NONE" isRetestDue={action.isRetestDue} />
              </>
            ) : (
              <span className="muted">None scheduled</span>
            ),
          ],
        ]}
      />
      {action.pointsLapsed && (
        <p className="read-only-reason">
          This action&apos;s retest is due, and your organisation takes the points of such actions
          away until they are retested: it earns nothing now. Retest it to earn its{" "}
          {formatPoints(action.points)} points again.
        </p>
      )}
      {!action.pointsLapsed && action.isRetestDue && (
        <p className="read-only-reason">
          This action&apos;s retest is due: test it again to confirm it still passes.
        </p>
      )}
      <EditSection
        // The same reason closes the testing source below: said once, there.
        reasons={
          access.planning && access.planning !== access.testingSource ? [access.planning] : []
        }
        editable={access.planning === null}
        label="Edit due date and retesting"
        primary={false}
      >
        {(onDone) => <PlanningForm action={action} reload={reload} onDone={onDone} />}
      </EditSection>

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
      <EditSection
        reasons={access.testingSource ? [access.testingSource] : []}
        label="Change testing source"
        primary={false}
      >
        {(onDone) => (
          <TestingSourceForm action={action} access={access} reload={reload} onDone={onDone} />
        )}
      </EditSection>
    </>
  );
}

/** The cadence that applies, and whether it is the action's own or its definition's. */
function retestCadence(action: ActionTabProps["action"]): string {
  const days = action.effectiveRetestIntervalDays;
  if (days == null) return "Not retested on a schedule";
  const every = days === 1 ? "Every day" : `Every ${days} days`;
  return action.retestIntervalDays != null
    ? `${every} (this action's own)`
    : `${every} (the definition's default)`;
}
