import { useMutation } from "@apollo/client/react";
import { useId, useState, type SubmitEvent } from "react";
import { implementationLabel } from "../../format";
import type { ImplementationStatus, UpdateImplementationInput } from "../../gql/graphql";
import { ConflictNotice, type DraftField } from "./ConflictNotice";
import { UpdateImplementationMutation } from "./documents";
import { formatDate, todayIso } from "./labels";
import { MutationProblems } from "../../components/MutationProblems";
import { hasConflict, requestErrorMessage } from "../../mutationErrors";
import type { ActionDetails } from "./types";
import type { UserErrorItem } from "../../mutationErrors";
import { useVersionedDraft } from "./useVersionedDraft";

const STATUSES: readonly ImplementationStatus[] = [
  "NOT_IMPLEMENTED",
  "PLANNED",
  "PARTIALLY_IMPLEMENTED",
  "IMPLEMENTED",
  "ALTERNATIVE_IMPLEMENTATION",
  "OUT_OF_SCOPE",
];
const DATED: readonly string[] = ["IMPLEMENTED", "ALTERNATIVE_IMPLEMENTATION"];

interface Values extends Record<string, string> {
  implementationStatus: string;
  implementationDate: string;
  implementationNotes: string;
}

const FIELDS: readonly DraftField<Values>[] = [
  {
    key: "implementationStatus",
    label: "Implementation status",
    show: (value) => implementationLabel(value as ImplementationStatus),
  },
  { key: "implementationDate", label: "Implementation date", show: formatDate },
  { key: "implementationNotes", label: "Implementation notes" },
];

function valuesOf(action: ActionDetails): Values {
  return {
    implementationStatus: action.implementationStatus,
    implementationDate: action.implementationDate ?? "",
    implementationNotes: action.implementationNotes,
  };
}

/** "Edit implementation details": sends only what differs from the version it was made on. */
export function ImplementationForm({
  action,
  reload,
  onDone,
}: {
  action: ActionDetails;
  reload: () => Promise<unknown>;
  onDone: (message: string) => void;
}) {
  const current = valuesOf(action);
  const draft = useVersionedDraft(action.version, current);
  const [mutate, { loading }] = useMutation(UpdateImplementationMutation);
  const [userErrors, setUserErrors] = useState<readonly UserErrorItem[]>([]);
  const [networkError, setNetworkError] = useState<string | null>(null);
  const [note, setNote] = useState<string | null>(null);
  const id = useId();
  const { values, base } = draft;
  const dated = DATED.includes(values.implementationStatus);

  async function submit(event: SubmitEvent<HTMLFormElement>) {
    event.preventDefault();
    setUserErrors([]);
    setNetworkError(null);
    setNote(null);
    const input: UpdateImplementationInput = { actionId: action.id, version: draft.baseVersion };
    if (values.implementationStatus !== base.implementationStatus) {
      input.implementationStatus = values.implementationStatus as ImplementationStatus;
    }
    if (dated && values.implementationDate !== base.implementationDate) {
      input.implementationDate = values.implementationDate || null;
    }
    if (values.implementationNotes !== base.implementationNotes) {
      input.implementationNotes = values.implementationNotes;
    }
    if (Object.keys(input).length === 2) {
      setNote("Nothing to save: the form holds the saved values.");
      return;
    }
    try {
      const { data } = await mutate({ variables: { input } });
      const errors = data?.updateImplementation.userErrors ?? [];
      setUserErrors(errors);
      if (hasConflict(errors)) await reload();
      else if (errors.length === 0) onDone("Implementation details saved.");
    } catch (error) {
      setNetworkError(requestErrorMessage(error));
    }
  }

  return (
    <form className="edit-form stack" onSubmit={(event) => void submit(event)}>
      <h3>Edit implementation details</h3>
      <ConflictNotice
        action={action}
        draft={draft}
        current={current}
        fields={FIELDS}
        onResolved={() => {
          setUserErrors([]);
          setNetworkError(null);
        }}
      />
      <label>
        Implementation status
        <select
          value={values.implementationStatus}
          onChange={(event) => {
            draft.set("implementationStatus", event.target.value);
          }}
        >
          {STATUSES.map((status) => (
            <option
              key={status}
              value={status}
              disabled={status === "PARTIALLY_IMPLEMENTED" && base.implementationStatus !== status}
            >
              {implementationLabel(status)}
              {status === "PARTIALLY_IMPLEMENTED" ? " (set by automation)" : ""}
            </option>
          ))}
        </select>
      </label>
      <label>
        Implementation date
        <input
          type="date"
          max={todayIso()}
          value={dated ? values.implementationDate : ""}
          disabled={!dated}
          aria-describedby={`${id}-date-hint`}
          onChange={(event) => {
            draft.set("implementationDate", event.target.value);
          }}
        />
      </label>
      <p id={`${id}-date-hint`} className="hint">
        {dated
          ? "Not in the future. Leave empty to clear it."
          : "Only for Implemented or Alternative implementation. Leaving those statuses clears the date and resets the test status to None."}
      </p>
      <label>
        Implementation notes
        <textarea
          rows={6}
          value={values.implementationNotes}
          onChange={(event) => {
            draft.set("implementationNotes", event.target.value);
          }}
        />
      </label>
      <MutationProblems problems={userErrors} error={networkError} success={note} />
      <div className="button-row">
        <button type="submit" className="primary" disabled={loading}>
          {loading ? "Saving…" : "Save implementation details"}
        </button>
        <button
          type="button"
          onClick={() => {
            onDone("");
          }}
        >
          Cancel
        </button>
      </div>
    </form>
  );
}
