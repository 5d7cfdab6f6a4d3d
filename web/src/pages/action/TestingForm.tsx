import { useMutation } from "@apollo/client/react";
import { useId, useState, type SubmitEvent } from "react";
import { testLabel } from "../../format";
import type { TestStatus, UpdateTestingInput } from "../../gql/graphql";
import { ConflictNotice, type DraftField } from "./ConflictNotice";
import { UpdateTestingMutation } from "./documents";
import { formatDate, todayIso } from "./labels";
import { MutationProblems } from "../../components/MutationProblems";
import { hasConflict, requestErrorMessage } from "../../mutationErrors";
import type { ActionAccess } from "./permissions";
import type { ActionDetails } from "./types";
import type { UserErrorItem } from "../../mutationErrors";
import { useVersionedDraft } from "./useVersionedDraft";

const MANUAL_STATUSES: readonly TestStatus[] = [
  "NONE",
  "NOT_ASSESSED",
  "IN_PROGRESS",
  "PASSED",
  "FAILED_LOW_RISK",
  "FAILED_MEDIUM_RISK",
  "FAILED_HIGH_RISK",
  "REMEDIATED",
  "OUT_OF_SCOPE",
];
const AUTOMATION_STATUSES: readonly TestStatus[] = [
  "TO_BE_DETECTED",
  "COULD_NOT_BE_DETECTED",
  "PARTIALLY_TESTED",
];
const UNTESTED: readonly TestStatus[] = ["NONE", "NOT_ASSESSED"];

interface Values extends Record<string, string> {
  testStatus: string;
  testDate: string;
  testingNotes: string;
  additionalNotes: string;
}

const FIELDS: readonly DraftField<Values>[] = [
  { key: "testStatus", label: "Test status", show: (value) => testLabel(value as TestStatus) },
  { key: "testDate", label: "Test date", show: formatDate },
  { key: "testingNotes", label: "Testing notes" },
  { key: "additionalNotes", label: "Additional notes" },
];

function valuesOf(action: ActionDetails): Values {
  return {
    testStatus: action.testStatus,
    testDate: action.testDate ?? "",
    testingNotes: action.testingNotes,
    additionalNotes: action.additionalNotes,
  };
}

/** Editing testing: each field open only to those the rules allow, with the reason shown. */
export function TestingForm({
  action,
  access,
  reload,
  onDone,
}: {
  action: ActionDetails;
  access: ActionAccess;
  reload: () => Promise<unknown>;
  onDone: (message: string) => void;
}) {
  const current = valuesOf(action);
  const draft = useVersionedDraft(action.version, current);
  const [mutate, { loading }] = useMutation(UpdateTestingMutation);
  const [userErrors, setUserErrors] = useState<readonly UserErrorItem[]>([]);
  const [networkError, setNetworkError] = useState<string | null>(null);
  const [note, setNote] = useState<string | null>(null);
  const id = useId();
  const { values, base } = draft;
  const implemented =
    action.implementationStatus === "IMPLEMENTED" ||
    action.implementationStatus === "ALTERNATIVE_IMPLEMENTATION";

  async function submit(event: SubmitEvent<HTMLFormElement>) {
    event.preventDefault();
    setUserErrors([]);
    setNetworkError(null);
    setNote(null);
    const input: UpdateTestingInput = { actionId: action.id, version: draft.baseVersion };
    if (!access.testStatus && values.testStatus !== base.testStatus) {
      input.testStatus = values.testStatus as TestStatus;
    }
    if (!access.testDate && values.testDate !== base.testDate) {
      input.testDate = values.testDate || null;
    }
    if (!access.testStatus && values.testingNotes !== base.testingNotes) {
      input.testingNotes = values.testingNotes;
    }
    if (!access.additionalNotes && values.additionalNotes !== base.additionalNotes) {
      input.additionalNotes = values.additionalNotes;
    }
    if (Object.keys(input).length === 2) {
      setNote("Nothing to save: the form holds the saved values.");
      return;
    }
    try {
      const { data } = await mutate({ variables: { input } });
      const errors = data?.updateTesting.userErrors ?? [];
      setUserErrors(errors);
      if (hasConflict(errors)) await reload();
      else if (errors.length === 0) onDone("Testing details saved.");
    } catch (error) {
      setNetworkError(requestErrorMessage(error));
    }
  }

  const statusOptions = [...MANUAL_STATUSES, ...AUTOMATION_STATUSES];
  return (
    <form className="edit-form stack" onSubmit={(event) => void submit(event)}>
      <h3>Edit testing details</h3>
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
        Test status
        <select
          value={values.testStatus}
          disabled={access.testStatus !== null}
          aria-describedby={`${id}-status-hint`}
          onChange={(event) => {
            draft.set("testStatus", event.target.value);
          }}
        >
          {statusOptions.map((status) => {
            const automationOnly = AUTOMATION_STATUSES.includes(status);
            const needsImplementation = !implemented && !UNTESTED.includes(status);
            return (
              <option
                key={status}
                value={status}
                disabled={status !== base.testStatus && (automationOnly || needsImplementation)}
              >
                {testLabel(status)}
                {automationOnly ? " (set by automation)" : ""}
              </option>
            );
          })}
        </select>
      </label>
      <p id={`${id}-status-hint`} className="hint">
        {access.testStatus ??
          (implemented
            ? "Evidence can no longer be deleted once the status is Passed, a Failed status, or Out of scope."
            : "Until the action is Implemented (or has an alternative implementation), only None and Not assessed can be chosen.")}
      </p>
      <label>
        Test date
        <input
          type="date"
          min={action.implementationDate ?? undefined}
          max={todayIso()}
          value={values.testDate}
          disabled={access.testDate !== null}
          aria-describedby={`${id}-date-hint`}
          onChange={(event) => {
            draft.set("testDate", event.target.value);
          }}
        />
      </label>
      <p id={`${id}-date-hint`} className="hint">
        {access.testDate ??
          (action.testingSource === "AUTOMATIC"
            ? "Entering a test date by hand makes this action manually tested. Not in the future, nor before the implementation date."
            : "Not in the future, nor before the implementation date. Leave empty to clear it.")}
      </p>
      <label>
        Testing notes
        <textarea
          rows={5}
          value={values.testingNotes}
          disabled={access.testStatus !== null}
          onChange={(event) => {
            draft.set("testingNotes", event.target.value);
          }}
        />
      </label>
      <label>
        Additional notes
        <textarea
          rows={4}
          value={values.additionalNotes}
          disabled={access.additionalNotes !== null}
          onChange={(event) => {
            draft.set("additionalNotes", event.target.value);
          }}
        />
      </label>
      <MutationProblems problems={userErrors} error={networkError} success={note} />
      <div className="button-row">
        <button type="submit" className="primary" disabled={loading}>
          {loading ? "Saving…" : "Save testing details"}
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
