import { useMutation } from "@apollo/client/react";
import { useId, useState, type SubmitEvent } from "react";
import { FormError } from "../../components/FormError";
import { roleLabel } from "../../format";
import { Dialog } from "../../components/Dialog";
import { InviteUserMutation } from "./documents";
import { attempt } from "../../mutationErrors";
import { ORG_ROLES } from "../../permissions";
import { NO_ROLE, parseRole } from "./roles";

interface InvitedPerson {
  id: string;
  name: string;
  email: string;
}

interface InviteDialogProps {
  onClose: () => void;
  onInvited: (person: InvitedPerson) => void;
}

/** Adds a person, who gets an email with a link (valid 7 days) to choose a password. */
export function InviteDialog({ onClose, onInvited }: InviteDialogProps) {
  const id = useId();
  const [invite, { loading }] = useMutation(InviteUserMutation);
  const [email, setEmail] = useState("");
  const [name, setName] = useState("");
  const [role, setRole] = useState<string>("READER");
  const [error, setError] = useState<string | null>(null);

  async function submit(event: SubmitEvent<HTMLFormElement>) {
    event.preventDefault();
    setError(null);
    const outcome = await attempt(async () => {
      const result = await invite({
        variables: { input: { email, name: name.trim() || null, role: parseRole(role) } },
      });
      return result.data?.inviteUser;
    });
    if (!outcome.ok) {
      setError(outcome.message);
      return;
    }
    const user = outcome.payload.user;
    if (user) onInvited(user);
  }

  return (
    <Dialog title="Invite a person" onClose={onClose} className="people-dialog">
      <form
        className="stack"
        onSubmit={(event) => void submit(event)}
        aria-describedby={`${id}-error`}
      >
        <p className="muted">
          They get an email with a link to choose a password. The link works once, for 7 days.
        </p>
        <label>
          Email
          <input
            type="email"
            required
            autoComplete="off"
            value={email}
            onChange={(event) => {
              setEmail(event.target.value);
            }}
          />
        </label>
        <label>
          Name <span className="muted">(optional: the email is used when empty)</span>
          <input
            type="text"
            autoComplete="off"
            value={name}
            onChange={(event) => {
              setName(event.target.value);
            }}
          />
        </label>
        <label>
          Organisation role
          <select
            value={role}
            onChange={(event) => {
              setRole(event.target.value);
            }}
          >
            {ORG_ROLES.map((option) => (
              <option key={option} value={option}>
                {roleLabel(option)}
              </option>
            ))}
            <option value={NO_ROLE}>No organisation role (scoped grants only)</option>
          </select>
        </label>
        <FormError id={`${id}-error`} message={error} />
        <div className="dialog-buttons">
          <button type="submit" className="primary" disabled={loading}>
            {loading ? "Sending…" : "Send invitation"}
          </button>
          <button type="button" onClick={onClose} disabled={loading}>
            Cancel
          </button>
        </div>
      </form>
    </Dialog>
  );
}
