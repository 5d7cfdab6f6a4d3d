import { useState, type SubmitEvent } from "react";
import { Dialog } from "../../components/Dialog";
import { MutationProblems } from "../../components/MutationProblems";
import { requestErrorMessage, type UserErrorItem } from "../../mutationErrors";

/**
 * Rename something: `save` answers with the refusals, empty once saved; the dialog then
 * closes.
 */
export function NameDialog({
  title,
  label,
  current,
  hint,
  save,
  onClose,
}: {
  title: string;
  label: string;
  current: string;
  hint?: string;
  save: (name: string) => Promise<UserErrorItem[]>;
  onClose: () => void;
}) {
  const [name, setName] = useState(current);
  const [busy, setBusy] = useState(false);
  const [problems, setProblems] = useState<UserErrorItem[]>([]);

  async function submit(event: SubmitEvent<HTMLFormElement>) {
    event.preventDefault();
    setBusy(true);
    setProblems([]);
    let refused: UserErrorItem[];
    try {
      refused = await save(name.trim());
    } catch (failure) {
      refused = [{ message: requestErrorMessage(failure) }];
    }
    setBusy(false);
    if (refused.length > 0) setProblems(refused);
    else onClose();
  }

  return (
    <Dialog title={title} busy={busy} onClose={onClose} className="assessments-dialog">
      <form
        className="stack"
        aria-describedby="name-problems"
        onSubmit={(event) => void submit(event)}
      >
        <label>
          {label}
          <input
            required
            value={name}
            onChange={(event) => {
              setName(event.target.value);
            }}
          />
        </label>
        {hint && <p className="hint">{hint}</p>}
        <MutationProblems id="name-problems" problems={problems} fieldLabels={{ name: label }} />
        <div className="dialog-buttons">
          <button type="submit" className="primary" disabled={busy}>
            {busy ? "Saving…" : "Save"}
          </button>
          <button type="button" disabled={busy} onClick={onClose}>
            Cancel
          </button>
        </div>
      </form>
    </Dialog>
  );
}
