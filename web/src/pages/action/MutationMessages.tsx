import type { UserErrorItem } from "./types";

/** A mutation's refusals (each with its field and code), network failure, or success. */
export function MutationMessages({
  userErrors,
  networkError,
  success,
}: {
  userErrors: readonly UserErrorItem[];
  networkError: string | null;
  success?: string | null;
}) {
  return (
    <>
      <div role="alert" className="form-error">
        {networkError && <p>The change could not be sent: {networkError}</p>}
        {userErrors.length > 0 && (
          <ul className="user-errors">
            {userErrors.map((error, index) => (
              <li key={index}>
                {error.message}{" "}
                <span className="error-detail">
                  ({error.field?.length ? `field ${error.field.join(".")}, ` : ""}
                  {error.code})
                </span>
              </li>
            ))}
          </ul>
        )}
      </div>
      <p role="status" className="success">
        {success}
      </p>
    </>
  );
}
