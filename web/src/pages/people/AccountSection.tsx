import { formatDateTime } from "../../format";
import { useMutation } from "@apollo/client/react";
import { useId, useRef, useState } from "react";
import { FormError } from "../../components/FormError";
import { ConfirmDialog } from "../../components/ConfirmDialog";
import { UpdateUserMutation } from "./documents";
import { attempt } from "../../mutationErrors";
import { REFRESH_PERSON } from "./refresh";

interface AccountSectionProps {
  user: { id: string; name: string; disabledAt?: string | null };
  isViewer: boolean;
}

/** Disable (sessions end, tokens stop) or enable (tokens come back, sessions do not). */
export function AccountSection({ user, isViewer }: AccountSectionProps) {
  const id = useId();
  const headingRef = useRef<HTMLHeadingElement>(null);
  const [update, { loading }] = useMutation(UpdateUserMutation, {
    refetchQueries: REFRESH_PERSON,
  });
  const [confirming, setConfirming] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);

  async function setDisabled(disabled: boolean): Promise<string | null> {
    setError(null);
    setDone(null);
    const outcome = await attempt(async () => {
      const result = await update({ variables: { input: { userId: user.id, disabled } } });
      return result.data?.updateUser;
    });
    if (!outcome.ok) return outcome.message;
    setDone(disabled ? `${user.name} is disabled.` : `${user.name} is enabled again.`);
    return null;
  }

  return (
    <section aria-labelledby={`${id}-heading`} className="card">
      <h3 id={`${id}-heading`} ref={headingRef} tabIndex={-1}>
        Account
      </h3>
      {user.disabledAt ? (
        <>
          <p>
            Disabled since {formatDateTime(user.disabledAt)}. Enabling brings back their API tokens;
            they sign in again in their browsers.
          </p>
          <button
            type="button"
            disabled={loading}
            onClick={() => {
              void setDisabled(false).then((refusal) => {
                setError(refusal);
              });
            }}
          >
            {loading ? "Enabling…" : "Enable account"}
          </button>
        </>
      ) : isViewer ? (
        <p>You cannot disable your own account; another owner can.</p>
      ) : (
        <>
          <p>
            Disabling ends their browser sessions at once and stops their API tokens until the
            account is enabled again.
          </p>
          <button
            type="button"
            className="danger"
            onClick={() => {
              setConfirming(true);
            }}
          >
            Disable account
          </button>
        </>
      )}
      <FormError id={`${id}-error`} message={error} />
      {done && <p role="status">{done}</p>}
      {confirming && (
        <ConfirmDialog
          className="people-dialog"
          focusAfterConfirm={headingRef}
          title={`Disable ${user.name}?`}
          confirmLabel="Disable account"
          onConfirm={() => setDisabled(true)}
          onClose={() => {
            setConfirming(false);
          }}
        >
          <p>
            Their browser sessions end now, and neither their password, single sign-on nor their API
            tokens work until an owner enables the account again. Work assigned to them stays
            assigned.
          </p>
        </ConfirmDialog>
      )}
    </section>
  );
}
