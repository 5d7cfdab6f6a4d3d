import { fieldLabel, requestErrorMessage, type UserErrorItem } from "../mutationErrors";

/**
 * What a mutation refused (its userErrors, each with the field at fault) or why it never
 * arrived (a thrown error, or its message), read out as soon as it appears; and, when given,
 * a success note in a status region.
 */
export function MutationProblems({
  id,
  problems,
  error = null,
  success,
  fieldLabels,
}: {
  id?: string;
  problems: readonly UserErrorItem[];
  error?: unknown;
  /** Shown in a status region; pass null to keep the (empty) region in place. */
  success?: string | null;
  /** How this form labels an input field, where it differs from the usual. */
  fieldLabels?: Readonly<Record<string, string>>;
}) {
  const failure =
    error == null || error === ""
      ? null
      : typeof error === "string"
        ? error
        : requestErrorMessage(error);
  return (
    <>
      <div id={id} role="alert" className="form-error">
        {failure && <p>{failure}</p>}
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
      {success !== undefined && (
        <p role="status" className="success">
          {success}
        </p>
      )}
    </>
  );
}
