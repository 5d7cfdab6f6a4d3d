import { useState, type ReactNode } from "react";

/**
 * A tab's editing: why some or all of it is closed, an "Edit…" button that opens the form,
 * and what the form reported when it closed.
 */
export function EditSection({
  reasons,
  editable = reasons.length === 0,
  label,
  primary = true,
  children,
}: {
  /** Why this viewer may not change (some of) it, each said once. */
  reasons: readonly string[];
  editable?: boolean;
  label: string;
  primary?: boolean;
  /** The form; `onDone` closes it with a message ("" for none). */
  children: (onDone: (message: string) => void) => ReactNode;
}) {
  const [editing, setEditing] = useState(false);
  const [saved, setSaved] = useState<string | null>(null);
  return (
    <>
      <p role="status">{saved}</p>
      {reasons.length === 1 && <p className="read-only-reason">{reasons[0]}</p>}
      {reasons.length > 1 && (
        <ul className="read-only-reason">
          {reasons.map((reason) => (
            <li key={reason}>{reason}</li>
          ))}
        </ul>
      )}
      {editable &&
        (editing ? (
          children((message) => {
            setEditing(false);
            setSaved(message || null);
          })
        ) : (
          <button
            type="button"
            className={primary ? "primary" : undefined}
            onClick={() => {
              setSaved(null);
              setEditing(true);
            }}
          >
            {label}
          </button>
        ))}
    </>
  );
}
