import { useMutation } from "@apollo/client/react";
import { useId } from "react";
import type { UpdateImprovementActionInput } from "../../gql/graphql";
import type { DraftField } from "./ConflictNotice";
import { UpdatePlanningMutation } from "./documents";
import { EditForm } from "./EditForm";
import { formatDate, NOTHING_TO_SAVE } from "./labels";
import type { ActionFormProps } from "./types";
import { useActionForm } from "./useActionForm";

interface Values extends Record<string, string> {
  dueDate: string;
  retestIntervalDays: string;
}

const FIELDS: readonly DraftField<Values>[] = [
  {
    key: "dueDate",
    label: "Due date",
    read: (action) => action.dueDate ?? "",
    show: formatDate,
  },
  {
    key: "retestIntervalDays",
    label: "Retest every (days)",
    read: (action) => (action.retestIntervalDays == null ? "" : String(action.retestIntervalDays)),
  },
];

/** "Edit due date and retesting": the planning fields, sent only where they differ. */
export function PlanningForm({ action, reload, onDone }: Omit<ActionFormProps, "access">) {
  const form = useActionForm(action, FIELDS, reload, onDone);
  const { draft, state } = form;
  const [mutate, { loading }] = useMutation(UpdatePlanningMutation);
  const id = useId();
  const { values, base } = draft;

  async function submit() {
    const input: UpdateImprovementActionInput = {
      actionId: action.id,
      version: draft.baseVersion,
    };
    if (values.dueDate !== base.dueDate) input.dueDate = values.dueDate || null;
    if (values.retestIntervalDays !== base.retestIntervalDays) {
      const text = values.retestIntervalDays.trim();
      const days = Number(text);
      if (text !== "" && (!Number.isInteger(days) || days < 1)) {
        state.refuse([
          { field: ["retestIntervalDays"], message: "Enter a whole number of days, 1 or more." },
        ]);
        return;
      }
      input.retestIntervalDays = text === "" ? null : days;
    }
    if (Object.keys(input).length === 2) {
      state.setNote(NOTHING_TO_SAVE);
      return;
    }
    await state.save(async () => {
      const { data } = await mutate({ variables: { input } });
      return data?.updateImprovementAction.userErrors ?? [];
    }, "Due date and retesting saved.");
  }

  // With no cadence of its own, the effective one is the definition's.
  const definitionDefault =
    action.retestIntervalDays != null
      ? ""
      : action.effectiveRetestIntervalDays != null
        ? ` (every ${action.effectiveRetestIntervalDays} days)`
        : " (no retesting)";
  return (
    <EditForm
      title="Edit due date and retesting"
      saveLabel="Save due date and retesting"
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
        Due date
        <input
          type="date"
          value={values.dueDate}
          aria-describedby={`${id}-due-hint`}
          onChange={(event) => {
            draft.set("dueDate", event.target.value);
          }}
        />
      </label>
      <p id={`${id}-due-hint`} className="hint">
        When the work should be done. A past day is allowed (the action is overdue at once). Leave
        empty for no due date.
      </p>
      <label>
        Retest every (days)
        <input
          type="number"
          min={1}
          max={3660}
          step={1}
          inputMode="numeric"
          value={values.retestIntervalDays}
          aria-describedby={`${id}-retest-hint`}
          onChange={(event) => {
            draft.set("retestIntervalDays", event.target.value);
          }}
        />
      </label>
      <p id={`${id}-retest-hint`} className="hint">
        Once passed, the test is due again this many days after the test date (1 to 3660). Leave
        empty to follow the action&apos;s definition
        {definitionDefault}.
      </p>
    </EditForm>
  );
}
