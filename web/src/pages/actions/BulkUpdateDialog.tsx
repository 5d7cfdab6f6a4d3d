import { useApolloClient } from "@apollo/client/react";
import { useId, useState, type SubmitEvent } from "react";
import { uploadRequest } from "../../api/upload";
import type { ImportActionsMutation as ImportResult } from "../../gql/graphql";
import { Dialog } from "../../components/Dialog";
import { requestErrorMessage } from "../../mutationErrors";
import { ImportActionsMutation } from "./documents";
import { importHeadline, ImportReport } from "./ImportReport";

export type ImportPayload = ImportResult["importImprovementActions"];

/**
 * Bulk update from an edited export: check the file (a dry run: per-row errors and the score
 * impact), then apply the same file, all rows or none.
 */
export function BulkUpdateDialog({
  open,
  onClose,
  onApplied,
}: {
  open: boolean;
  onClose: () => void;
  onApplied: (changed: number) => void;
}) {
  return (
    <Dialog
      open={open}
      title="Bulk update from a spreadsheet"
      onClose={onClose}
      closeButton
      className="al-actions-dialog al-wide"
    >
      <BulkUpdateForm onApplied={onApplied} />
    </Dialog>
  );
}

interface Checked {
  file: File;
  payload: ImportPayload;
  dryRun: boolean;
}

function BulkUpdateForm({ onApplied }: { onApplied: (changed: number) => void }) {
  const id = useId();
  const client = useApolloClient();
  const [file, setFile] = useState<File | null>(null);
  const [notify, setNotify] = useState(true);
  const [busy, setBusy] = useState<"check" | "apply" | null>(null);
  const [result, setResult] = useState<Checked | null>(null);
  const [failure, setFailure] = useState<string | null>(null);

  const dryRunPassed =
    result !== null &&
    result.dryRun &&
    result.file === file &&
    result.payload.rowErrors.length === 0 &&
    result.payload.userErrors.length === 0 &&
    result.payload.summary !== null &&
    result.payload.summary !== undefined;
  const nothingToChange = dryRunPassed && result.payload.summary?.actionsChanged === 0;

  async function send(dryRun: boolean) {
    if (!file) {
      setFailure("Choose the edited export (.xlsx) first.");
      return;
    }
    setBusy(dryRun ? "check" : "apply");
    setFailure(null);
    try {
      const response = await uploadRequest(ImportActionsMutation, {
        input: { file, dryRun, notifyAssignees: notify },
      });
      const payload = response.data?.importImprovementActions;
      if (!payload) {
        const reasons = response.errors?.map((error) => error.message).join(" ");
        setFailure(`The file could not be sent: ${reasons ?? "the server gave no answer."}`);
        return;
      }
      setResult({ file, payload, dryRun });
      if (!dryRun && payload.applied) {
        const changed = payload.summary?.actionsChanged ?? 0;
        // Rows, totals and scores moved: read them again.
        await client.refetchQueries({ include: "active" });
        onApplied(changed);
      }
    } catch (error) {
      setFailure(requestErrorMessage(error));
    } finally {
      setBusy(null);
    }
  }

  function handleSubmit(event: SubmitEvent<HTMLFormElement>) {
    event.preventDefault();
    void send(true);
  }

  return (
    <form className="stack" onSubmit={handleSubmit} noValidate>
      <p className="muted">
        Export the list, edit its editable columns (assigned to, implementation, testing, notes,
        testing source, parent), then upload it here. Checking changes nothing; applying changes
        every row or, if any row is wrong, none.
      </p>
      <div>
        <label htmlFor={`${id}-file`}>Edited export (.xlsx)</label>
        <input
          id={`${id}-file`}
          type="file"
          accept=".xlsx,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
          onChange={(event) => {
            setFile(event.target.files?.[0] ?? null);
            setResult(null);
            setFailure(null);
          }}
        />
      </div>
      <label className="al-check">
        <input
          type="checkbox"
          checked={notify}
          onChange={(event) => {
            setNotify(event.target.checked);
          }}
        />
        Email the people the file assigns actions to
      </label>
      <div className="al-button-row">
        <button type="submit" disabled={busy !== null || !file}>
          {busy === "check" ? "Checking…" : "Check file (dry run)"}
        </button>
        <button
          type="button"
          className="primary"
          disabled={busy !== null || !dryRunPassed || nothingToChange}
          aria-describedby={`${id}-apply-hint`}
          onClick={() => void send(false)}
        >
          {busy === "apply" ? "Applying…" : "Apply changes"}
        </button>
      </div>
      <p id={`${id}-apply-hint`} className="hint">
        {dryRunPassed
          ? nothingToChange
            ? "The file changes nothing: there is nothing to apply."
            : "The check found no errors: you can apply the changes."
          : "Applying is possible once a check of this file finds no errors."}
      </p>
      {failure && (
        <p role="alert" className="form-error">
          {failure}
        </p>
      )}
      <p role="status" className="al-import-headline">
        {result ? importHeadline(result.payload, result.dryRun) : ""}
      </p>
      {result && <ImportReport payload={result.payload} />}
    </form>
  );
}
