import { formatPercent } from "../../format";
import type { ActionOwner, AssessmentStatus, ControlStatus } from "../../gql/graphql";

// DOMAIN.md §16: four assessment statuses where Microsoft shows "Non-compliant" / "In progress".
const assessmentStatusLabels: Record<AssessmentStatus, string> = {
  NONE: "Not started",
  IN_PROGRESS: "In progress",
  INCOMPLETE: "Incomplete",
  COMPLETE: "Complete",
};

export const CONTROL_STATUSES: readonly ControlStatus[] = [
  "FAILED",
  "IN_PROGRESS",
  "NONE",
  "PASSED",
  "OUT_OF_SCOPE",
];

export function assessmentStatusLabel(status: AssessmentStatus): string {
  return assessmentStatusLabels[status];
}

const assessmentStatusHints: Record<AssessmentStatus, string> = {
  NONE: "No action has been tested yet.",
  IN_PROGRESS: "Testing has started; no control failed.",
  INCOMPLETE: "At least one control failed.",
  COMPLETE: "Every in-scope control passed.",
};

/** What a status means, for the assessment page. */
export function assessmentStatusHint(status: AssessmentStatus): string {
  return assessmentStatusHints[status];
}

export function actionOwnerLabel(owner: ActionOwner): string {
  return owner === "PROVIDER" ? "Provider" : "Your organisation";
}

/** Progress is a share 0–1; shown as a percentage like every other. */
export function formatProgress(share: number): string {
  return formatPercent(share * 100);
}
