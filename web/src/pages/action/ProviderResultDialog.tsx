import { useMutation } from "@apollo/client/react";
import { useId, useState, type SubmitEvent } from "react";
import { Dialog } from "../../components/Dialog";
import { MutationProblems } from "../../components/MutationProblems";
import {
  IMPLEMENTATION_STATUSES,
  implementationLabel,
  TEST_STATUSES,
  testLabel,
} from "../../format";
import type {
  ImplementationStatus,
  RecordProviderResultInput,
  TestStatus,
} from "../../gql/graphql";
import { requestErrorMessage, type UserErrorItem } from "../../mutationErrors";
import { RecordProviderResultMutation } from "./documents";
import { todayIso } from "./labels";
import type { ActionDetails } from "./types";

const DATED: readonly string[] = ["IMPLEMENTED", "ALTERNATIVE_IMPLEMENTATION"];

interface Values {
  implementationStatus: ImplementationStatus;
  implementationDate: string;
  implementationNotes: string;
  testStatus: TestStatus;
  testDate: string;
  testingNotes: string;
}

function valuesOf(action: ActionDetails): Values {
  return {
    implementationStatus: action.implementationStatus,
    implementationDate: action.implementationDate ?? "",
    implementationNotes: action.implementationNotes,
    testStatus: action.testStatus,
    testDate: action.testDate ?? "",
    testingNotes: action.testingNotes,
  };
}

/**
 * An administrator records what the provider attests for one of its actions (history source
 * Provider). Only the fields changed here are sent, with the version the form was opened on.
 */
export function ProviderResultDialog({
  action,
  onClose,
  onRecorded,
}: {
  action: ActionDetails;
  onClose: () => void;
  onRecorded: (message: string) => void;
}) {
  const id = useId();
  const [base] = useState(() => ({ version: action.version, values: valuesOf(action) }));
  const [values, setValues] = useState<Values>(base.values);
  const [mutate, { loading }] = useMutation(RecordProviderResultMutation);
  const [userErrors, setUserErrors] = useState<readonly UserErrorItem[]>([]);
  const [failure, setFailure] = useState<string | null>(null);
  const dated = DATED.includes(values.implementationStatus);

  function set<K extends keyof Values>(key: K, value: Values[K]) {
    setValues((previous) => ({ ...previous, [key]: value }));
  }

  async function submit(event: SubmitEvent<HTMLFormElement>) {
    event.preventDefault();
    setUserErrors([]);
    setFailure(null);
    const before = base.values;
    const input: RecordProviderResultInput = { actionId: action.id, version: base.version };
    if (values.implementationStatus !== before.implementationStatus) {
      input.implementationStatus = values.implementationStatus;
    }
    if (values.implementationDate !== before.implementationDate) {
      input.implementationDate = values.implementationDate || null;
    }
    if (values.implementationNotes !== before.implementationNotes) {
      input.implementationNotes = values.implementationNotes;
    }
    if (values.testStatus !== before.testStatus) input.testStatus = values.testStatus;
    if (values.testDate !== before.testDate) input.testDate = values.testDate || null;
    if (values.testingNotes !== before.testingNotes) input.testingNotes = values.testingNotes;
    if (Object.keys(input).length === 2) {
      setFailure("Nothing to record: change at least one field of the provider's result.");
      return;
    }
    try {
      const { data } = await mutate({ variables: { input } });
      const payload = data?.recordProviderResult;
      if (!payload) {
        setFailure("The server sent no answer. Try again.");
        return;
      }
      if (payload.userErrors.length > 0) {
        setUserErrors(payload.userErrors);
        return;
      }
      onRecorded("The provider's result is recorded.");
    } catch (error) {
      setFailure(`The provider's result was not recorded: ${requestErrorMessage(error)}`);
    }
  }

  return (
    <Dialog
      title="Record provider result"
      onClose={onClose}
      busy={loading}
      closeButton
      className="provider-result-dialog"
    >
      <form className="stack" onSubmit={(event) => void submit(event)}>
        <p className="hint">
          Enter what the provider attests for “{action.title}”. Only the fields you change are
          recorded; the history shows them with the source Provider.
        </p>
        <label>
          Implementation status
          <select
            value={values.implementationStatus}
            data-autofocus
            onChange={(event) => {
              set("implementationStatus", event.target.value as ImplementationStatus);
            }}
          >
            {IMPLEMENTATION_STATUSES.map((status) => (
              <option key={status} value={status}>
                {implementationLabel(status)}
              </option>
            ))}
          </select>
        </label>
        <label>
          Implementation date
          <input
            type="date"
            max={todayIso()}
            disabled={!dated}
            value={dated ? values.implementationDate : ""}
            aria-describedby={`${id}-implementation-hint`}
            onChange={(event) => {
              set("implementationDate", event.target.value);
            }}
          />
        </label>
        <p id={`${id}-implementation-hint`} className="hint">
          {dated ? "Not in the future." : "Only for Implemented or Alternative implementation."}
        </p>
        <label>
          Implementation notes
          <textarea
            rows={3}
            value={values.implementationNotes}
            onChange={(event) => {
              set("implementationNotes", event.target.value);
            }}
          />
        </label>
        <label>
          Test status
          <select
            value={values.testStatus}
            onChange={(event) => {
              set("testStatus", event.target.value as TestStatus);
            }}
          >
            {TEST_STATUSES.map((status) => (
              <option key={status} value={status}>
                {testLabel(status)}
              </option>
            ))}
          </select>
        </label>
        <label>
          Test date
          <input
            type="date"
            max={todayIso()}
            value={values.testDate}
            aria-describedby={`${id}-test-hint`}
            onChange={(event) => {
              set("testDate", event.target.value);
            }}
          />
        </label>
        <p id={`${id}-test-hint`} className="hint">
          Not in the future. A passed test needs the action implemented.
        </p>
        <label>
          Testing notes
          <textarea
            rows={3}
            value={values.testingNotes}
            onChange={(event) => {
              set("testingNotes", event.target.value);
            }}
          />
        </label>
        <MutationProblems problems={userErrors} error={failure} />
        <div className="button-row">
          <button type="submit" className="primary" disabled={loading}>
            {loading ? "Recording…" : "Record provider result"}
          </button>
          <button type="button" onClick={onClose}>
            Cancel
          </button>
        </div>
      </form>
    </Dialog>
  );
}
