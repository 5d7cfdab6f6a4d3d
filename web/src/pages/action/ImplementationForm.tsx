import { useMutation } from "@apollo/client/react";
import { useId } from "react";
import { implementationLabel } from "../../format";
import type { ImplementationStatus, UpdateImplementationInput } from "../../gql/graphql";
import type { DraftField } from "./ConflictNotice";
import { UpdateImplementationMutation } from "./documents";
import { EditForm } from "./EditForm";
import { formatDate, NOTHING_TO_SAVE, todayIso } from "./labels";
import type { ActionFormProps } from "./types";
import { useActionForm } from "./useActionForm";

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
    read: (action) => action.implementationStatus,
    show: (value) => implementationLabel(value as ImplementationStatus),
  },
  {
    key: "implementationDate",
    label: "Implementation date",
    read: (action) => action.implementationDate ?? "",
    show: formatDate,
  },
  {
    key: "implementationNotes",
    label: "Implementation notes",
    read: (action) => action.implementationNotes,
  },
];

/** "Edit implementation details": sends only what differs from the version it was made on. */
export function ImplementationForm({ action, reload, onDone }: Omit<ActionFormProps, "access">) {
  const form = useActionForm(action, FIELDS, reload, onDone);
  const { draft, state } = form;
  const [mutate, { loading }] = useMutation(UpdateImplementationMutation);
  const id = useId();
  const { values, base } = draft;
  const dated = DATED.includes(values.implementationStatus);

  async function submit() {
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
      state.setNote(NOTHING_TO_SAVE);
      return;
    }
    await state.save(async () => {
      const { data } = await mutate({ variables: { input } });
      return data?.updateImplementation.userErrors ?? [];
    }, "Implementation details saved.");
  }

  return (
    <EditForm
      title="Edit implementation details"
      saveLabel="Save implementation details"
      action={action}
      form={form}
      fields={FIELDS}
      loading={loading}
      onSubmit={submit}
      onCancel={() => {
        onDone("");
      }}
    >
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
    </EditForm>
  );
}
