import { useMutation } from "@apollo/client/react";
import { useId, useState, type SubmitEvent } from "react";
import { Dialog } from "../../components/Dialog";
import { MutationProblems } from "../../components/MutationProblems";
import { requestErrorMessage, type UserErrorItem } from "../../mutationErrors";
import { UpdateEvidenceMutation } from "./documents";
import type { EvidenceItem } from "./types";

/** Change (or clear) one piece of evidence's review-by day, whatever the test status. */
export function ReviewDateDialog({
  item,
  onClose,
  onSaved,
}: {
  item: EvidenceItem;
  onClose: () => void;
  onSaved: (message: string) => void;
}) {
  const id = useId();
  const [reviewBy, setReviewBy] = useState(item.reviewBy ?? "");
  const [mutate, { loading }] = useMutation(UpdateEvidenceMutation);
  const [userErrors, setUserErrors] = useState<readonly UserErrorItem[]>([]);
  const [failure, setFailure] = useState<string | null>(null);

  async function submit(event: SubmitEvent<HTMLFormElement>) {
    event.preventDefault();
    setUserErrors([]);
    setFailure(null);
    try {
      const { data } = await mutate({
        variables: { input: { evidenceId: item.id, reviewBy: reviewBy || null } },
      });
      const payload = data?.updateEvidence;
      if (!payload) {
        setFailure("The server sent no answer. Try again.");
        return;
      }
      if (payload.userErrors.length > 0) {
        setUserErrors(payload.userErrors);
        return;
      }
      onSaved(
        reviewBy
          ? `The review date of “${item.name}” is saved.`
          : `“${item.name}” has no review date now.`,
      );
    } catch (error) {
      setFailure(`The review date was not saved: ${requestErrorMessage(error)}`);
    }
  }

  return (
    <Dialog title={`Review date of “${item.name}”`} onClose={onClose} busy={loading} closeButton>
      <form className="stack" onSubmit={(event) => void submit(event)}>
        <div>
          <label htmlFor={`${id}-review`}>Review by</label>
          <input
            id={`${id}-review`}
            type="date"
            value={reviewBy}
            aria-describedby={`${id}-review-hint`}
            data-autofocus
            onChange={(event) => {
              setReviewBy(event.target.value);
            }}
          />
          <p id={`${id}-review-hint`} className="hint">
            After this day the evidence is marked expired. Leave empty for no review date.
          </p>
        </div>
        <MutationProblems problems={userErrors} error={failure} />
        <div className="button-row">
          <button type="submit" className="primary" disabled={loading}>
            {loading ? "Saving…" : "Save review date"}
          </button>
          <button type="button" onClick={onClose}>
            Cancel
          </button>
        </div>
      </form>
    </Dialog>
  );
}
