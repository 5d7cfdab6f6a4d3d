import { useMutation } from "@apollo/client/react";
import { useId } from "react";
import { testLabel } from "../../format";
import type { TestStatus, UpdateTestingInput } from "../../gql/graphql";
import type { DraftField } from "./ConflictNotice";
import { UpdateTestingMutation } from "./documents";
import { EditForm } from "./EditForm";
import { formatDate, NOTHING_TO_SAVE, todayIso } from "./labels";
import { onlyAdditionalNotes } from "./permissions";
import type { ActionFormProps } from "./types";
import { useActionForm } from "./useActionForm";

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
  {
    key: "testStatus",
    label: "Test status",
    read: (action) => action.testStatus,
    show: (value) => testLabel(value as TestStatus),
  },
  {
    key: "testDate",
    label: "Test date",
    read: (action) => action.testDate ?? "",
    show: formatDate,
  },
  { key: "testingNotes", label: "Testing notes", read: (action) => action.testingNotes },
  { key: "additionalNotes", label: "Additional notes", read: (action) => action.additionalNotes },
];

/** Editing testing: each field open only to those the rules allow, with the reason shown. */
export function TestingForm({ action, access, reload, onDone }: ActionFormProps) {
  const form = useActionForm(action, FIELDS, reload, onDone);
  const { draft, state } = form;
  const [mutate, { loading }] = useMutation(UpdateTestingMutation);
  const id = useId();
  const { values, base } = draft;
  const implemented =
    action.implementationStatus === "IMPLEMENTED" ||
    action.implementationStatus === "ALTERNATIVE_IMPLEMENTATION";
  // Without test status and date (contributors), only the additional notes are shown.
  const onlyNotes = onlyAdditionalNotes(access);
  const what = onlyNotes ? "additional notes" : "testing details";

  async function submit() {
    const input: UpdateTestingInput = {
      actionId: action.id,
      version: draft.baseVersion,
    };
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
      state.setNote(NOTHING_TO_SAVE);
      return;
    }
    await state.save(
      async () => {
        const { data } = await mutate({ variables: { input } });
        return data?.updateTesting.userErrors ?? [];
      },
      onlyNotes ? "Additional notes saved." : "Testing details saved.",
    );
  }

  const statusOptions = [...MANUAL_STATUSES, ...AUTOMATION_STATUSES];
  return (
    <EditForm
      title={`Edit ${what}`}
      saveLabel={`Save ${what}`}
      action={action}
      form={form}
      fields={FIELDS}
      loading={loading}
      onSubmit={submit}
      onCancel={() => {
        onDone("");
      }}
    >
      {!onlyNotes && (
        <>
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
        </>
      )}
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
    </EditForm>
  );
}
