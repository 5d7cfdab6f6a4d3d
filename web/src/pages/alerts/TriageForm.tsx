import { useMutation } from "@apollo/client/react";
import { useEffect, useRef, useState, type SubmitEvent } from "react";
import type { AlertListFieldsFragment, AlertStatus, UpdateAlertInput } from "../../gql/graphql";
import { MutationProblems } from "../../components/MutationProblems";
import type { UserErrorItem } from "../../mutationErrors";
import { PersonPicker, type PickedPerson } from "../../components/PersonPicker";
import { UpdateAlertMutation } from "./documents";
import { ALERT_STATUSES, alertStatusLabel } from "./labels";

/**
 * Change an alert's status and assignee. A field the person has not touched shows the
 * alert as it is now, so a live change by someone else shows through; touched fields keep
 * the person's choice until saved.
 */
export function TriageForm({ alert }: { alert: AlertListFieldsFragment }) {
  const [status, setStatus] = useState<AlertStatus | undefined>(undefined);
  const [assignee, setAssignee] = useState<PickedPerson | null | undefined>(undefined);
  const [problems, setProblems] = useState<readonly UserErrorItem[]>([]);
  const [done, setDone] = useState("");
  const [update, { loading, error }] = useMutation(UpdateAlertMutation);
  // A button is disabled while its change is in flight, which takes focus off it: put it back.
  const refocus = useRef<HTMLButtonElement | null>(null);
  const saveRef = useRef<HTMLButtonElement>(null);
  const toggleRef = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    if (!loading && refocus.current) {
      refocus.current.focus();
      refocus.current = null;
    }
  }, [loading]);

  const shownStatus = status ?? alert.status;
  const dismissed = alert.status === "DISMISSED";
  const shownAssignee = assignee === undefined ? (alert.assignee ?? null) : assignee;
  const statusChanged = status !== undefined && status !== alert.status;
  const assigneeChanged =
    assignee !== undefined && (assignee?.id ?? null) !== (alert.assignee?.id ?? null);

  async function send(input: UpdateAlertInput, what: string) {
    setProblems([]);
    setDone("");
    try {
      const result = await update({ variables: { input } });
      const payload = result.data?.updateAlert;
      if (!payload) return;
      if (payload.userErrors.length > 0) {
        setProblems(payload.userErrors);
        return;
      }
      setStatus(undefined);
      setAssignee(undefined);
      setDone(what);
    } catch {
      // The mutation's `error` shows what went wrong.
    }
  }

  function save(event: SubmitEvent<HTMLFormElement>) {
    event.preventDefault();
    if (!statusChanged && !assigneeChanged) {
      setProblems([]);
      setDone("Nothing to save: choose another status or assignee first.");
      return;
    }
    refocus.current = saveRef.current;
    const input: UpdateAlertInput = { alertId: alert.id };
    if (statusChanged) input.status = status;
    if (assigneeChanged) input.assigneeId = assignee?.id ?? null;
    void send(input, "Changes saved.");
  }

  return (
    <section className="card triage" aria-labelledby="triage-heading">
      <h2 id="triage-heading">Status and assignee</h2>
      <form onSubmit={save}>
        <label>
          Status
          <select
            value={shownStatus}
            disabled={loading}
            onChange={(event) => {
              setStatus(ALERT_STATUSES.find((value) => value === event.target.value));
            }}
          >
            {ALERT_STATUSES.map((value) => (
              <option key={value} value={value}>
                {alertStatusLabel(value)}
              </option>
            ))}
          </select>
        </label>
        <PersonPicker
          label="Assignee"
          value={shownAssignee}
          hint="Find someone by name or email; Clear leaves the alert unassigned."
          disabled={loading}
          onChange={setAssignee}
        />
        <div className="actions">
          <button type="submit" className="primary" ref={saveRef} disabled={loading}>
            {loading ? "Saving…" : "Save changes"}
          </button>
          {/* One button whose word flips, so focus stays on it after a dismissal. */}
          <button
            type="button"
            disabled={loading}
            ref={toggleRef}
            onClick={() => {
              refocus.current = toggleRef.current;
              if (dismissed) void send({ alertId: alert.id, status: "ACTIVE" }, "Alert reopened.");
              else void send({ alertId: alert.id, status: "DISMISSED" }, "Alert dismissed.");
            }}
          >
            {dismissed ? "Reopen alert" : "Dismiss alert"}
          </button>
          <span role="status" className="muted">
            {done}
          </span>
        </div>
        <MutationProblems problems={problems} error={error ?? null} />
      </form>
    </section>
  );
}
