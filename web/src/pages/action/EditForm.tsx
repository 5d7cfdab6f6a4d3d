import type { ReactNode } from "react";
import { MutationProblems } from "../../components/MutationProblems";
import { ConflictNotice, type DraftField } from "./ConflictNotice";
import type { ActionDetails } from "./types";
import type { ActionForm } from "./useActionForm";
import type { FormValues } from "./useVersionedDraft";

/**
 * The frame of the action's edit forms: heading, someone else's newer change, the fields,
 * what was refused, and Save and Cancel.
 */
export function EditForm<T extends FormValues>({
  title,
  saveLabel,
  action,
  form,
  fields,
  loading,
  onSubmit,
  onCancel,
  children,
}: {
  title: string;
  saveLabel: string;
  action: ActionDetails;
  form: ActionForm<T>;
  fields: readonly DraftField<T>[];
  loading: boolean;
  onSubmit: () => Promise<void>;
  onCancel: () => void;
  children: ReactNode;
}) {
  const { draft, current, state } = form;
  return (
    <form
      className="edit-form stack"
      onSubmit={(event) => {
        event.preventDefault();
        state.clear();
        void onSubmit();
      }}
    >
      <h3>{title}</h3>
      <ConflictNotice
        action={action}
        draft={draft}
        current={current}
        fields={fields}
        onResolved={state.clear}
      />
      {children}
      <MutationProblems
        problems={state.userErrors}
        error={state.networkError}
        success={state.note}
      />
      <div className="button-row">
        <button type="submit" className="primary" disabled={loading}>
          {loading ? "Saving…" : saveLabel}
        </button>
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
