import { useState } from "react";
import { hasConflict, requestErrorMessage, type UserErrorItem } from "../../mutationErrors";
import type { DraftField } from "./ConflictNotice";
import type { ActionDetails } from "./types";
import { useVersionedDraft, type FormValues, type VersionedDraft } from "./useVersionedDraft";

export interface ActionSave {
  userErrors: readonly UserErrorItem[];
  networkError: string | null;
  note: string | null;
  /** Before a new attempt: earlier refusals and notes no longer apply. */
  clear: () => void;
  refuse: (errors: readonly UserErrorItem[]) => void;
  setNote: (note: string) => void;
  /** Send the change: a conflict reloads the action, success closes the form with `saved`. */
  save: (send: () => Promise<readonly UserErrorItem[]>, saved: string) => Promise<void>;
}

export interface ActionForm<T extends FormValues> {
  /** The saved values now. */
  current: T;
  draft: VersionedDraft<T>;
  state: ActionSave;
}

/**
 * What the action's edit forms share: a draft of `fields` over the version it was made on,
 * refusals, a failed request, and saving.
 */
export function useActionForm<T extends FormValues>(
  action: ActionDetails,
  fields: readonly DraftField<T>[],
  reload: () => Promise<unknown>,
  onDone: (message: string) => void,
): ActionForm<T> {
  const current = Object.fromEntries(fields.map((field) => [field.key, field.read(action)])) as T;
  const draft = useVersionedDraft(action.version, current);
  const state = useActionSave(reload, onDone);
  return { current, draft, state };
}

function useActionSave(
  reload: () => Promise<unknown>,
  onDone: (message: string) => void,
): ActionSave {
  const [userErrors, setUserErrors] = useState<readonly UserErrorItem[]>([]);
  const [networkError, setNetworkError] = useState<string | null>(null);
  const [note, setNote] = useState<string | null>(null);

  async function save(send: () => Promise<readonly UserErrorItem[]>, saved: string) {
    try {
      const errors = await send();
      setUserErrors(errors);
      if (hasConflict(errors)) await reload();
      else if (errors.length === 0) onDone(saved);
    } catch (error) {
      setNetworkError(requestErrorMessage(error));
    }
  }

  return {
    userErrors,
    networkError,
    note,
    clear: () => {
      setUserErrors([]);
      setNetworkError(null);
      setNote(null);
    },
    refuse: setUserErrors,
    setNote,
    save,
  };
}
