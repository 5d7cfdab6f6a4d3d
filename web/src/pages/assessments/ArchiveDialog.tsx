import { useMutation } from "@apollo/client/react";
import { useState } from "react";
import { Dialog } from "./Dialog";
import { ArchiveAssessmentMutation } from "./documents";
import { Problems, requestProblem, type Problem } from "./Problems";

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
  const [problems, setProblems] = useState<Problem[]>([]);

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
      setProblems([requestProblem(failure)]);
    }
  }

  return (
    <Dialog title={`Archive “${assessmentName}”?`} busy={loading} onClose={onClose}>
      <div className="stack">
        <p>
          An archived assessment is read-only for good: nobody can change it, its score is frozen as
          it is now and it no longer counts in the compliance score.{" "}
          <strong>This cannot be undone.</strong>
        </p>
        <p>Export the report first if you need a copy of its current state.</p>
        <Problems id="archive-problems" problems={problems} />
        <div className="dialog-buttons">
          <button
            type="button"
            className="danger"
            disabled={loading}
            onClick={() => void confirm()}
          >
            {loading ? "Archiving…" : "Archive assessment"}
          </button>
          <button type="button" data-autofocus disabled={loading} onClick={onClose}>
            Cancel
          </button>
        </div>
      </div>
    </Dialog>
  );
}
