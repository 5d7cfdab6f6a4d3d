import { roleLabel } from "../../format";
import { higherRole, mayAdminister, mayAssess, mayContribute } from "../../permissions";
import type { OrgRole, TestStatus, ViewerAccessQuery } from "../../gql/graphql";
import type { ActionDetails } from "./types";

/** Evidence stays once the action's test status records a result (DOMAIN.md section 6). */
export const EVIDENCE_LOCKED_STATUSES: readonly TestStatus[] = [
  "PASSED",
  "FAILED_LOW_RISK",
  "FAILED_MEDIUM_RISK",
  "FAILED_HIGH_RISK",
  "OUT_OF_SCOPE",
];

/** What the viewer may change on this action, and in words why not where they may not. */
export interface ActionAccess {
  /** The highest of the organisation role and the grants covering the action's assessments. */
  role: OrgRole | null;
  /** Why nothing on the action can be changed; null when something can. */
  readOnly: string | null;
  implementation: string | null;
  testStatus: string | null;
  testDate: string | null;
  additionalNotes: string | null;
  evidence: string | null;
  evidenceDelete: string | null;
  testingSource: string | null;
  automaticSource: string | null;
  acceptUpdate: string | null;
  /** Due date and re-testing cadence (contributors, whatever the testing source). */
  planning: string | null;
  /** Recording the provider's attested result: provider actions, administrators. */
  providerResult: string | null;
}

type Viewer = ViewerAccessQuery["viewer"];

export function effectiveRole(viewer: Viewer, action: ActionDetails): OrgRole | null {
  let best = viewer.role ?? null;
  for (const grant of viewer.grants) {
    const covers = action.assessments.some(
      (assessment) =>
        assessment.id === grant.assessment?.id || assessment.regulation.id === grant.regulation?.id,
    );
    if (covers) best = higherRole(best, grant.role);
  }
  return best;
}

function readOnlyReason(role: OrgRole | null, action: ActionDetails): string | null {
  if (action.owner === "PROVIDER") {
    return "Provider actions are read-only: the provider attests their implementation and testing, and your organisation's work does not change them.";
  }
  if (action.assessments.length > 0 && action.assessments.every((a) => a.archived)) {
    return "This action belongs only to archived assessments, which are read-only.";
  }
  if (!mayContribute({ role })) {
    return `Your access (${roleLabel(role)}) lets you read this action but not change it; contributors and above may.`;
  }
  return null;
}

/** A `null` entry means "allowed"; a string is the reason it is not. */
export function actionAccess(viewer: Viewer, action: ActionDetails): ActionAccess {
  const role = effectiveRole(viewer, action);
  const readOnly = readOnlyReason(role, action);
  const inherited =
    action.testingSource === "PARENT"
      ? "This action inherits implementation and testing from its parent action: change the parent, or set the testing source to Manual first."
      : null;
  const assessor = !mayAssess(role)
    ? "Test status, test date and testing notes need the assessor role."
    : null;
  const automatic =
    action.testingSource === "AUTOMATIC"
      ? "This action is tested automatically: its test status and testing notes come from automation. Entering a test date or evidence by hand, or an administrator setting the testing source to Manual, hands it back to manual testing."
      : null;
  const locked = EVIDENCE_LOCKED_STATUSES.includes(action.testStatus)
    ? "Evidence can no longer be deleted: the action's test status records a result (passed, failed or out of scope), and that result rests on its evidence."
    : null;
  const orgAdmin = mayAdminister(viewer);
  return {
    role,
    readOnly,
    implementation: readOnly ?? inherited,
    testStatus: readOnly ?? inherited ?? assessor ?? automatic,
    testDate: readOnly ?? inherited ?? assessor,
    additionalNotes: readOnly,
    evidence: readOnly,
    evidenceDelete: readOnly ?? locked,
    testingSource:
      readOnly ??
      (!mayAssess(role) ? "Choosing the testing source needs the assessor role." : null),
    automaticSource: !action.automaticTestingAvailable
      ? "Automatic testing is not available for this action."
      : orgAdmin
        ? null
        : "Turning automatic testing on or off for one action is for administrators.",
    acceptUpdate: orgAdmin ? null : "Accepting a definition update is for administrators.",
    planning: readOnly,
    providerResult:
      action.owner !== "PROVIDER"
        ? "Only provider actions take a provider's result."
        : orgAdmin
          ? null
          : "Administrators record the provider's result when the provider reports it.",
  };
}

/** Contributors may change only the additional notes of the testing fields. */
export function onlyAdditionalNotes(access: ActionAccess): boolean {
  return access.testStatus !== null && access.testDate !== null;
}
