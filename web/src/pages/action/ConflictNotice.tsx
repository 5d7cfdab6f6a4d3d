import { formatDateTime } from "../../format";
import type { FormValues, VersionedDraft } from "./useVersionedDraft";
import type { ActionDetails } from "./types";

export interface DraftField<T extends FormValues> {
  key: keyof T & string;
  label: string;
  /** The field's saved value, as the form holds it. */
  read: (action: ActionDetails) => string;
  show?: (value: string) => string;
}

function shown<T extends FormValues>(field: DraftField<T>, value: string): string {
  if (value === "") return "(empty)";
  return field.show ? field.show(value) : value;
}

/**
 * Someone else saved this action while the person was editing: what they changed, next to the
 * person's own edits, and an explicit choice. Nothing is merged or overwritten silently.
 */
export function ConflictNotice<T extends FormValues>({
  action,
  draft,
  current,
  fields,
  onResolved,
}: {
  action: ActionDetails;
  draft: VersionedDraft<T>;
  current: T;
  fields: readonly DraftField<T>[];
  /** After either choice: earlier refusals no longer apply. */
  onResolved: () => void;
}) {
  if (!draft.stale) return null;
  const latest = action.history[0];
  const who = latest?.actor?.name ?? "Someone else";
  const changed = fields.filter((field) => current[field.key] !== draft.base[field.key]);
  return (
    <div className="conflict" role="alert">
      <p>
        <strong>{who} changed this action while you were editing</strong>
        {latest ? ` (${formatDateTime(latest.createdAt)})` : ""}. Your edits are kept below and have
        not been saved.
      </p>
      {changed.length === 0 ? (
        <p>None of the fields of this form changed; other details of the action did.</p>
      ) : (
        <table className="data">
          <caption>What changed, and your edits</caption>
          <thead>
            <tr>
              <th scope="col">Field</th>
              <th scope="col">When you started</th>
              <th scope="col">Now saved</th>
              <th scope="col">Your edit</th>
            </tr>
          </thead>
          <tbody>
            {changed.map((field) => (
              <tr key={field.key}>
                <th scope="row">{field.label}</th>
                <td className="prewrap">{shown(field, draft.base[field.key] ?? "")}</td>
                <td className="prewrap">{shown(field, current[field.key] ?? "")}</td>
                <td className="prewrap">
                  {draft.values[field.key] === draft.base[field.key] ? (
                    <span className="muted">Not edited: takes the saved value</span>
                  ) : (
                    shown(field, draft.values[field.key] ?? "")
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <div className="button-row">
        <button
          type="button"
          onClick={() => {
            draft.keepMine();
            onResolved();
          }}
        >
          Keep my edits on the latest version
        </button>
        <button
          type="button"
          onClick={() => {
            draft.discard();
            onResolved();
          }}
        >
          Discard my edits and show the latest
        </button>
      </div>
      <p className="muted">
        Keeping your edits puts the fields you changed over the latest version and takes the latest
        values for the others; nothing is saved until you submit.
      </p>
    </div>
  );
}
