import { PersonPicker } from "../../components/PersonPicker";
import { RECIPIENT_ROLES, recipientRoleLabel } from "./labels";
import type { PolicyDraft } from "./policyDraft";

/** Who receives the policy's alerts: role holders and named people (the creator always). */
export function RecipientsFieldset({
  draft,
  creatorName,
  fixed = false,
  onChange,
}: {
  draft: PolicyDraft;
  /** The default or built-in policy: whether the assignee is notified is fixed. */
  fixed?: boolean;
  /** Null for the built-in policy, which has no creator. */
  creatorName: string | null;
  onChange: (change: Partial<PolicyDraft>) => void;
}) {
  return (
    <fieldset>
      <legend>Recipients</legend>
      <p className="hint">
        {creatorName
          ? `${creatorName}, who created the policy, always receives its alerts.`
          : "Everyone ticked or named below receives its alerts."}
      </p>
      <fieldset>
        <legend>Everyone with the role</legend>
        <div className="choice-list">
          {RECIPIENT_ROLES.map((role) => (
            <label key={role} className="check">
              <input
                type="checkbox"
                checked={draft.recipientRoles.includes(role)}
                onChange={(event) => {
                  onChange({
                    recipientRoles: event.target.checked
                      ? [...draft.recipientRoles, role]
                      : draft.recipientRoles.filter((value) => value !== role),
                  });
                }}
              />
              {recipientRoleLabel(role)}
            </label>
          ))}
        </div>
      </fieldset>
      <div className="row">
        <div>
          <h3 className="field-heading">Named people</h3>
          {draft.recipients.length === 0 ? (
            <p className="muted">Nobody named.</p>
          ) : (
            <ul className="plain chosen-people">
              {draft.recipients.map((person) => (
                <li key={person.id}>
                  <span>
                    {person.name} {person.email && <span className="muted">{person.email}</span>}
                  </span>
                  <button
                    type="button"
                    aria-label={`Remove ${person.name} from the recipients`}
                    onClick={() => {
                      onChange({
                        recipients: draft.recipients.filter((other) => other.id !== person.id),
                      });
                    }}
                  >
                    Remove
                  </button>
                </li>
              ))}
            </ul>
          )}
        </div>
        <PersonPicker
          label="Add a recipient"
          value={null}
          hint="People with an organisation role; each one you choose is added to the list."
          onChange={(person) => {
            if (person && !draft.recipients.some((other) => other.id === person.id)) {
              onChange({ recipients: [...draft.recipients, person] });
            }
          }}
        />
      </div>
      <label className="check">
        <input
          type="checkbox"
          checked={draft.notifyAssignee}
          disabled={fixed}
          onChange={(event) => {
            onChange({ notifyAssignee: event.target.checked });
          }}
        />
        Also email the assignee of each affected action
      </label>
      <label className="check">
        <input
          type="checkbox"
          checked={draft.dailyDigest}
          onChange={(event) => {
            onChange({ dailyDigest: event.target.checked });
          }}
        />
        Daily digest: one mail a day listing that day&apos;s alerts (UTC), instead of one per alert
      </label>
    </fieldset>
  );
}
