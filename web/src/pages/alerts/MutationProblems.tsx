import type { UserErrorCode } from "../../gql/graphql";

export interface Problem {
  field?: readonly string[] | null;
  code: UserErrorCode;
  message: string;
}

const codeWords: Record<UserErrorCode, string> = {
  NOT_FOUND: "Not found",
  FORBIDDEN: "Not allowed",
  INVALID: "Not accepted",
  DUPLICATE: "Already exists",
  CONFLICT: "Changed by someone else",
  ASSIGNEE_CANNOT_READ: "Assignee cannot see this",
  LAST_OWNER: "Last owner",
  CANNOT_DISABLE_SELF: "Not for yourself",
};

const fieldWords: Record<string, string> = {
  alertId: "Alert",
  alertPolicyId: "Policy",
  assigneeId: "Assignee",
  status: "Status",
  name: "Name",
  description: "Description",
  conditions: "Conditions",
  direction: "Direction",
  minPoints: "Smallest change",
  toStatuses: "Statuses",
  scope: "Scope",
  assessmentIds: "Assessments",
  groupIds: "Groups",
  regulationIds: "Regulations",
  categories: "Categories",
  severity: "Severity",
  trigger: "Trigger",
  thresholdCount: "Matches needed",
  thresholdMinutes: "Within minutes",
  aggregationSeconds: "Grouping window",
  recipientIds: "Named recipients",
  recipientRoles: "Recipient roles",
  enabled: "Enabled",
};

/** The input field at fault, in words: its last named path segment ("input" is noise). */
function fieldLabel(field: readonly string[] | null | undefined): string | null {
  const named = (field ?? [])
    .flatMap((part) => part.split("."))
    .filter((part) => {
      return part !== "input" && !/^\d+$/.test(part);
    });
  const last = named.at(-1);
  return last === undefined ? null : (fieldWords[last] ?? last);
}

/**
 * What a mutation refused (its userErrors) or why it never arrived (a network or GraphQL
 * error), read out as soon as it appears.
 */
export function MutationProblems({
  id,
  problems,
  error,
}: {
  id?: string;
  problems: readonly Problem[];
  error?: Error | null;
}) {
  return (
    <div id={id} role="alert" className="form-error">
      {error && <p>The change did not reach the server: {error.message}</p>}
      {problems.length > 0 && (
        <ul className="problems">
          {problems.map((problem, index) => {
            const field = fieldLabel(problem.field);
            return (
              <li key={index}>
                <strong>{codeWords[problem.code]}</strong>
                {field && ` (${field})`}: {problem.message}
              </li>
            );
          })}
        </ul>
      )}
    </div>
  );
}
