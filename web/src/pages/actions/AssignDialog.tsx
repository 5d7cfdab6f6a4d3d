import { useMutation } from "@apollo/client/react";
import { useId, useState, type SubmitEvent } from "react";
import { PersonPicker, type PickedPerson } from "../../components/PersonPicker";
import type { UserErrorCode } from "../../gql/graphql";
import { Dialog } from "../../components/Dialog";
import { AssignActionsMutation } from "./documents";
import { MutationProblems } from "../../components/MutationProblems";
import { requestErrorMessage, type UserErrorItem } from "../../mutationErrors";

export interface AssignOutcome {
  count: number;
  assignee: PickedPerson | null;
}

/**
 * Assign the selected actions to one person found by search, or unassign them. Opens on the
 * person search; its words are in the singular when there is one action.
 */
export function AssignDialog({
  open,
  actionIds,
  mayGrantAccess,
  onClose,
  onAssigned,
}: {
  open: boolean;
  actionIds: readonly string[];
  mayGrantAccess: boolean;
  onClose: () => void;
  onAssigned: (outcome: AssignOutcome) => void;
}) {
  return (
    <Dialog
      open={open}
      title={`Assign ${countLabel(actionIds.length)}`}
      onClose={onClose}
      closeButton
      className="al-actions-dialog"
    >
      <AssignForm
        actionIds={actionIds}
        mayGrantAccess={mayGrantAccess}
        onCancel={onClose}
        onAssigned={onAssigned}
      />
    </Dialog>
  );
}

function countLabel(count: number): string {
  return count === 1 ? "1 action" : `${count} actions`;
}

const WORDING = {
  one: {
    choose: "Choose a person to assign the action to, or choose to unassign it.",
    failed: "The action could not be assigned",
    unassign: "Unassign it (nobody is assigned)",
    readable: "Only people who can read the action can be assigned to it.",
    grant: "If they cannot read the action, give them contributor access to its assessments",
  },
  many: {
    choose: "Choose a person to assign the actions to, or choose to unassign them.",
    failed: "The actions could not be assigned",
    unassign: "Unassign them (nobody is assigned)",
    readable: "Only people who can read an action can be assigned to it.",
    grant: "If they cannot read an action, give them contributor access to its assessments",
  },
} as const;

function AssignForm({
  actionIds,
  mayGrantAccess,
  onCancel,
  onAssigned,
}: {
  actionIds: readonly string[];
  mayGrantAccess: boolean;
  onCancel: () => void;
  onAssigned: (outcome: AssignOutcome) => void;
}) {
  const id = useId();
  const [assignee, setAssignee] = useState<PickedPerson | null>(null);
  const [unassign, setUnassign] = useState(false);
  const [notes, setNotes] = useState("");
  const [dueDate, setDueDate] = useState("");
  const [notify, setNotify] = useState(true);
  const [grantAccess, setGrantAccess] = useState(false);
  const [userErrors, setUserErrors] = useState<readonly UserErrorItem[]>([]);
  const [failure, setFailure] = useState<string | null>(null);
  const [assign, { loading }] = useMutation(AssignActionsMutation);

  const cannotRead = userErrors.some(
    (error) => error.code === ("ASSIGNEE_CANNOT_READ" satisfies UserErrorCode),
  );
  const ready = unassign || assignee !== null;
  const words = actionIds.length === 1 ? WORDING.one : WORDING.many;

  async function handleSubmit(event: SubmitEvent<HTMLFormElement>) {
    event.preventDefault();
    if (!ready) {
      setFailure(words.choose);
      return;
    }
    setFailure(null);
    setUserErrors([]);
    try {
      const { data } = await assign({
        variables: {
          input: {
            actionIds: [...actionIds],
            assigneeId: unassign ? null : (assignee?.id ?? null),
            notes: notes.trim() ? notes : null,
            dueDate: !unassign && dueDate ? dueDate : null,
            notify: !unassign && notify,
            grantAccess: !unassign && mayGrantAccess && grantAccess,
          },
        },
      });
      const payload = data?.assignImprovementActions;
      if (!payload) {
        setFailure("The server did not answer the assignment. Try again.");
        return;
      }
      if (payload.userErrors.length > 0) {
        setUserErrors(payload.userErrors);
        return;
      }
      onAssigned({
        count: payload.improvementActions.length,
        assignee: unassign ? null : assignee,
      });
    } catch (error) {
      setFailure(`${words.failed}: ${requestErrorMessage(error)}`);
    }
  }

  return (
    <form className="stack" onSubmit={(event) => void handleSubmit(event)} noValidate>
      <label className="al-check">
        <input
          type="checkbox"
          checked={unassign}
          onChange={(event) => {
            setUnassign(event.target.checked);
          }}
        />
        {words.unassign}
      </label>
      {!unassign && (
        <>
          <PersonPicker
            label="Assign to"
            value={assignee}
            onChange={setAssignee}
            hint={words.readable}
            autoFocus
          />
          <div>
            <label htmlFor={`${id}-notes`}>Notes for the assignee (optional)</label>
            <textarea
              id={`${id}-notes`}
              rows={3}
              aria-describedby={`${id}-notes-hint`}
              value={notes}
              onChange={(event) => {
                setNotes(event.target.value);
              }}
            />
            <p className="hint" id={`${id}-notes-hint`}>
              The notes stay on each action; leave empty to keep the current ones.
            </p>
          </div>
          <div>
            <label htmlFor={`${id}-due`}>Due date (optional)</label>
            <input
              id={`${id}-due`}
              type="date"
              aria-describedby={`${id}-due-hint`}
              value={dueDate}
              onChange={(event) => {
                setDueDate(event.target.value);
              }}
            />
            <p className="hint" id={`${id}-due-hint`}>
              {actionIds.length === 1
                ? "When the work should be done; leave empty to keep the action's current due date."
                : "When the work should be done; leave empty to keep each action's current due date."}
            </p>
          </div>
          <label className="al-check">
            <input
              type="checkbox"
              checked={notify}
              onChange={(event) => {
                setNotify(event.target.checked);
              }}
            />
            Email the assignee
          </label>
          {mayGrantAccess && (
            <label className="al-check">
              <input
                type="checkbox"
                checked={grantAccess}
                onChange={(event) => {
                  setGrantAccess(event.target.checked);
                }}
              />
              {words.grant}
            </label>
          )}
        </>
      )}
      <MutationProblems problems={userErrors} error={failure} />
      {cannotRead && mayGrantAccess && !grantAccess && (
        <p className="hint">
          Tick “give them contributor access” above to assign anyway, or choose someone else.
        </p>
      )}
      <div className="al-button-row">
        <button type="submit" className="primary" disabled={loading || !ready}>
          {loading ? "Saving…" : unassign ? "Unassign" : "Assign"}
        </button>
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
