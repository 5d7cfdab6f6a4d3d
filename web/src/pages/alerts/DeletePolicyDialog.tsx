import { useMutation } from "@apollo/client/react";
import { useState } from "react";
import type { AlertPolicyFieldsFragment } from "../../gql/graphql";
import { Modal } from "./Modal";
import { MutationProblems, type Problem } from "./MutationProblems";
import { DeleteAlertPolicyMutation } from "./documents";

/** Confirm, then delete a policy; its alerts stay, with its name. */
export function DeletePolicyDialog({
  policy,
  onClose,
  onDeleted,
}: {
  policy: AlertPolicyFieldsFragment | null;
  onClose: () => void;
  onDeleted: (policy: AlertPolicyFieldsFragment) => void;
}) {
  const [remove, { loading, error, reset }] = useMutation(DeleteAlertPolicyMutation);
  const [problems, setProblems] = useState<readonly Problem[]>([]);

  const close = () => {
    setProblems([]);
    reset();
    onClose();
  };

  async function confirm(target: AlertPolicyFieldsFragment) {
    setProblems([]);
    try {
      const payload = (await remove({ variables: { input: { alertPolicyId: target.id } } })).data
        ?.deleteAlertPolicy;
      if (!payload) return;
      if (payload.userErrors.length > 0) setProblems(payload.userErrors);
      else onDeleted(target);
    } catch {
      // Shown below from the mutation's error.
    }
  }

  return (
    <Modal
      open={policy !== null}
      onClose={close}
      labelledBy="delete-policy-heading"
      className="confirm-dialog"
    >
      {policy && (
        <>
          <h2 id="delete-policy-heading">Delete “{policy.name}”?</h2>
          <p>
            The policy stops watching for changes and cannot be brought back. Alerts it raised stay,
            under its name. To stop it for a while instead, turn it off.
          </p>
          <MutationProblems problems={problems} error={error ?? null} />
          <div className="actions">
            <button type="button" onClick={close} disabled={loading}>
              Keep the policy
            </button>
            <button
              type="button"
              className="danger"
              disabled={loading}
              onClick={() => void confirm(policy)}
            >
              {loading ? "Deleting…" : "Delete policy"}
            </button>
          </div>
        </>
      )}
    </Modal>
  );
}
