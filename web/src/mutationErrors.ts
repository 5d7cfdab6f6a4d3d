import { CombinedGraphQLErrors, ServerError } from "@apollo/client";
import type { UserErrorCode } from "./gql/graphql";

/** A refused change as every mutation payload reports it (no code: the request failed). */
export interface UserErrorItem {
  field?: readonly string[] | null;
  code?: UserErrorCode;
  message: string;
}

// Input fields as the forms label them, by the last named segment of a userError's field.
const FIELD_LABELS: Readonly<Record<string, string>> = {
  name: "Name",
  email: "Email",
  role: "Role",
  disabled: "Account",
  userId: "Person",
  assessmentId: "Assessment",
  assessmentIds: "Assessments",
  regulationId: "Regulation",
  regulationIds: "Regulations",
  grantId: "Grant",
  tokenId: "Token",
  sessionId: "Session",
  expiresAt: "Expiry",
  automaticTesting: "Automatic testing",
  templateId: "Template",
  groupId: "Group",
  groupIds: "Groups",
  newGroupName: "New group name",
  copyFromGroupId: "Copy from group",
  alertId: "Alert",
  alertPolicyId: "Policy",
  assigneeId: "Assignee",
  status: "Status",
  description: "Description",
  conditions: "Conditions",
  direction: "Direction",
  minPoints: "Smallest change",
  toStatuses: "Statuses",
  scope: "Scope",
  categories: "Categories",
  severity: "Severity",
  trigger: "Trigger",
  thresholdCount: "Matches needed",
  thresholdMinutes: "Within minutes",
  aggregationSeconds: "Grouping window",
  recipientIds: "Named recipients",
  recipientRoles: "Recipient roles",
  enabled: "Enabled",
  dueDate: "Due date",
  retestIntervalDays: "Retest every (days)",
  reviewBy: "Review by",
  dueSoonDays: "Due soon days",
  retestLosesPoints: "Retest due loses points",
  notifyAssignee: "Notify the assignee",
  dailyDigest: "Daily digest",
};

/**
 * The input field at fault, in words: its last named path segment ("input" and list
 * indexes are noise); a form may label a field its own way.
 */
export function fieldLabel(
  field: readonly string[] | null | undefined,
  labels: Readonly<Record<string, string>> = {},
): string | null {
  const last = fieldName(field);
  return last === undefined ? null : (labels[last] ?? FIELD_LABELS[last] ?? last);
}

/** The input field a userError concerns: the last named segment of its path. */
export function fieldName(field: readonly string[] | null | undefined): string | undefined {
  return (field ?? [])
    .flatMap((part) => part.split("."))
    .filter((part) => part !== "input" && !/^\d+$/.test(part))
    .at(-1);
}

/** One readable sentence per refusal: the field it concerns and the server's reason. */
export function describeUserErrors(errors: readonly UserErrorItem[]): string {
  return errors
    .map((error) => {
      const label = fieldLabel(error.field);
      return label ? `${label}: ${error.message}` : error.message;
    })
    .join(" ");
}

export function hasConflict(errors: readonly UserErrorItem[]): boolean {
  return errors.some((error) => error.code === "CONFLICT");
}

/** A thrown request failure (GraphQL, HTTP, network or other) in words a person can act on. */
export function requestErrorMessage(error: unknown): string {
  if (CombinedGraphQLErrors.is(error)) {
    return `The server refused the request: ${error.errors.map((e) => e.message).join("; ")}`;
  }
  if (ServerError.is(error)) {
    return `The server answered with an error (${error.statusCode}). Try again.`;
  }
  // fetch() rejects with a TypeError when the server cannot be reached.
  if (error instanceof Error && !(error instanceof TypeError) && error.message) {
    return error.message;
  }
  return "The server could not be reached. Check your connection and try again.";
}

export type Outcome<T> = { ok: true; payload: T } | { ok: false; message: string };

/**
 * Runs a mutation and folds both kinds of failure into one message: the payload's
 * userErrors, or the request failing (network, server error, no payload).
 */
export async function attempt<T extends { userErrors: readonly UserErrorItem[] }>(
  perform: () => Promise<T | null | undefined>,
): Promise<Outcome<T>> {
  try {
    const payload = await perform();
    if (!payload) return { ok: false, message: "The server sent no answer. Try again." };
    if (payload.userErrors.length > 0) {
      return { ok: false, message: describeUserErrors(payload.userErrors) };
    }
    return { ok: true, payload };
  } catch (failure) {
    return { ok: false, message: `The change was not saved. ${requestErrorMessage(failure)}` };
  }
}
