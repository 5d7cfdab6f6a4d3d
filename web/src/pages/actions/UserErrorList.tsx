export interface UserErrorItem {
  field?: readonly string[] | null;
  code: string;
  message: string;
}

/** A refused change's reasons as the server gave them, with the input field at fault. */
export function UserErrorList({ errors }: { errors: readonly UserErrorItem[] }) {
  if (errors.length === 0) return null;
  return (
    <div role="alert" className="form-error">
      <ul className="al-user-errors">
        {errors.map((error, index) => (
          <li key={index} data-code={error.code}>
            {error.message}
            {error.field && error.field.length > 0 && (
              <span className="al-error-field"> (field: {error.field.join(".")})</span>
            )}
          </li>
        ))}
      </ul>
    </div>
  );
}
