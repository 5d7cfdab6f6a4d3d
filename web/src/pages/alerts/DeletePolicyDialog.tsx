import { useMutation } from "@apollo/client/react";
import { useState } from "react";
import { ConfirmDialog } from "../../components/ConfirmDialog";
import type { AlertPolicyFieldsFragment } from "../../gql/graphql";
import { MutationProblems } from "../../components/MutationProblems";
import type { UserErrorItem } from "../../mutationErrors";
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
  const [problems, setProblems] = useState<readonly UserErrorItem[]>([]);

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
    <ConfirmDialog
      open={policy !== null}
      title={policy ? `Delete “${policy.name}”?` : ""}
      confirmLabel="Delete policy"
      busyLabel="Deleting…"
      cancelLabel="Keep the policy"
      busy={loading}
      onConfirm={() => {
        if (policy) void confirm(policy);
      }}
      onClose={close}
      className="confirm-dialog"
    >
      <p>
        The policy stops watching for changes and cannot be brought back. Alerts it raised stay,
        under its name. To stop it for a while instead, turn it off.
      </p>
      <MutationProblems problems={problems} error={error ?? null} />
    </ConfirmDialog>
  );
}
