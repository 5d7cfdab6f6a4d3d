import { useMutation } from "@apollo/client/react";
import { useState } from "react";
import { ConfirmDialog } from "../../components/ConfirmDialog";
import { ArchiveAssessmentMutation } from "./documents";
import { MutationProblems } from "../../components/MutationProblems";
import { requestErrorMessage, type UserErrorItem } from "../../mutationErrors";

/** Confirm archiving: it cannot be undone. */
export function ArchiveDialog({
  assessmentId,
  assessmentName,
  onArchived,
  onClose,
}: {
  assessmentId: string;
  assessmentName: string;
  onArchived: () => void;
  onClose: () => void;
}) {
  const [archive, { loading }] = useMutation(ArchiveAssessmentMutation);
  const [problems, setProblems] = useState<UserErrorItem[]>([]);

  async function confirm() {
    setProblems([]);
    try {
      const { data } = await archive({ variables: { input: { assessmentId } } });
      const payload = data?.archiveAssessment;
      if (!payload) setProblems([{ message: "The server sent no answer. Try again." }]);
      else if (payload.userErrors.length > 0) setProblems(payload.userErrors);
      else {
        onArchived();
        onClose();
      }
    } catch (failure) {
      setProblems([{ message: requestErrorMessage(failure) }]);
    }
  }

  return (
    <ConfirmDialog
      title={`Archive “${assessmentName}”?`}
      confirmLabel="Archive assessment"
      busyLabel="Archiving…"
      busy={loading}
      onConfirm={() => void confirm()}
      onClose={onClose}
      className="assessments-dialog"
    >
      <p>
        An archived assessment is read-only for good: nobody can change it, its score is frozen as
        it is now and it no longer counts in the compliance score.{" "}
        <strong>This cannot be undone.</strong>
      </p>
      <p>Export the report first if you need a copy of its current state.</p>
      <MutationProblems id="archive-problems" problems={problems} />
    </ConfirmDialog>
  );
}
