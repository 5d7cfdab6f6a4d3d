import { CombinedGraphQLErrors, ServerError } from "@apollo/client";
import type { UserErrorCode } from "../../gql/graphql";

export interface Problem {
  field?: readonly string[] | null;
  code?: UserErrorCode;
  message: string;
}

// Input field names as the forms label them.
const FIELD_LABELS: Record<string, string> = {
  name: "Name",
  templateId: "Template",
  groupId: "Group",
  newGroupName: "New group name",
  copyFromGroupId: "Copy from group",
  assessmentId: "Assessment",
};

function fieldLabel(
  field: readonly string[] | null | undefined,
  labels: Readonly<Record<string, string>>,
): string | null {
  const last = field?.at(-1);
  if (!last || last === "input") return null;
  return labels[last] ?? FIELD_LABELS[last] ?? null;
}

/** A thrown request failure in words a person can act on. */
export function requestProblem(error: unknown): Problem {
  if (CombinedGraphQLErrors.is(error)) {
    return {
      message: `The server refused the request: ${error.errors.map((e) => e.message).join("; ")}`,
    };
  }
  if (ServerError.is(error)) {
    return { message: `The server answered with an error (${error.statusCode}). Try again.` };
  }
  return {
    message: "The server could not be reached. Check your connection and try again.",
  };
}

/** A mutation's refusals (userErrors) or a request failure, read out as they appear. */
export function Problems({
  id,
  problems,
  fieldLabels = {},
}: {
  id: string;
  problems: readonly Problem[];
  /** How this form labels an input field, where it differs from the usual. */
  fieldLabels?: Readonly<Record<string, string>>;
}) {
  return (
    <div id={id} role="alert" className="form-error">
      {problems.length > 0 && (
        <ul className="problems">
          {problems.map((problem, index) => {
            const label = fieldLabel(problem.field, fieldLabels);
            return (
              <li key={index} data-code={problem.code}>
                {label && <strong>{label}: </strong>}
                {problem.message}
              </li>
            );
          })}
        </ul>
      )}
    </div>
  );
}
