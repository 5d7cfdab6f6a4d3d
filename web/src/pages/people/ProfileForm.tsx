import { useMutation } from "@apollo/client/react";
import { useId, useState, type SubmitEvent } from "react";
import { FormError } from "../../components/FormError";
import { roleLabel } from "../../format";
import type { OrgRole } from "../../gql/graphql";
import { ConfirmDialog } from "../../components/ConfirmDialog";
import { UpdateUserMutation } from "./documents";
import { attempt } from "../../mutationErrors";
import { REFRESH_PERSON } from "./refresh";
import { isOwner, ORG_ROLES } from "../../permissions";
import { NO_ROLE, parseRole } from "./roles";

interface ProfileFormProps {
  user: { id: string; name: string; role?: OrgRole | null };
  isViewer: boolean;
}

/** Name and organisation role; only what changed is sent. */
export function ProfileForm({ user, isViewer }: ProfileFormProps) {
  const id = useId();
  const [update, { loading }] = useMutation(UpdateUserMutation, {
    refetchQueries: REFRESH_PERSON,
  });
  const [name, setName] = useState(user.name);
  const [role, setRole] = useState<string>(user.role ?? NO_ROLE);
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState<string | null>(null);
  const [confirmingSelfDemotion, setConfirmingSelfDemotion] = useState(false);

  const newRole = parseRole(role);
  const nameChanged = name.trim() !== user.name;
  const roleChanged = newRole !== (user.role ?? null);

  async function save(): Promise<string | null> {
    setError(null);
    setSaved(null);
    const outcome = await attempt(async () => {
      const result = await update({
        variables: {
          input: {
            userId: user.id,
            ...(nameChanged ? { name: name.trim() } : {}),
            ...(roleChanged ? { role: newRole } : {}),
          },
        },
      });
      return result.data?.updateUser;
    });
    if (!outcome.ok) {
      setError(outcome.message);
      return outcome.message;
    }
    setSaved("Saved.");
    return null;
  }

  function submit(event: SubmitEvent<HTMLFormElement>) {
    event.preventDefault();
    if (!nameChanged && !roleChanged) {
      setSaved("Nothing to save: the name and role are as they were.");
      return;
    }
    if (isViewer && isOwner(user) && roleChanged) {
      setConfirmingSelfDemotion(true);
      return;
    }
    void save();
  }

  return (
    <section aria-labelledby={`${id}-heading`} className="card">
      <h3 id={`${id}-heading`}>Name and role</h3>
      <form className="stack" onSubmit={submit} aria-describedby={`${id}-error`}>
        <label>
          Name
          <input
            type="text"
            required
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
            aria-describedby={`${id}-role-hint`}
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
        <p id={`${id}-role-hint`} className="hint">
          Each role includes the ones above it. The last active owner cannot be given another role.
        </p>
        <FormError id={`${id}-error`} message={error} />
        {saved && <p role="status">{saved}</p>}
        <div>
          <button type="submit" className="primary" disabled={loading}>
            {loading ? "Saving…" : "Save name and role"}
          </button>
        </div>
      </form>
      {confirmingSelfDemotion && (
        <ConfirmDialog
          className="people-dialog"
          title="Give up your owner role?"
          confirmLabel={`Become ${roleLabel(newRole)}`}
          onConfirm={save}
          onClose={() => {
            setConfirmingSelfDemotion(false);
          }}
        >
          <p>
            You will no longer be able to manage people or organisation settings. Only another owner
            can make you an owner again.
          </p>
        </ConfirmDialog>
      )}
    </section>
  );
}
