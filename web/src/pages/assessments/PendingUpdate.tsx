import { useMutation } from "@apollo/client/react";
import { useState } from "react";
import { formatPercent, formatPoints } from "../../format";
import type { TemplateUpdateChanges } from "../../gql/graphql";
import { Dialog } from "../../components/Dialog";
import { AcceptAssessmentUpdateMutation } from "./documents";
import { MutationProblems } from "../../components/MutationProblems";
import { requestErrorMessage, type UserErrorItem } from "../../mutationErrors";

type Changes = Omit<TemplateUpdateChanges, "__typename">;

function summary(changes: Changes): string {
  const parts = [
    [changes.controlsAddedCount, "control added", "controls added"],
    [changes.controlsRemovedCount, "control removed", "controls removed"],
    [changes.controlsChangedCount, "control re-worded", "controls re-worded"],
    [changes.mappingsAddedCount, "action mapping added", "action mappings added"],
    [changes.mappingsRemovedCount, "action mapping removed", "action mappings removed"],
  ] as const;
  const said = parts
    .filter(([count]) => count > 0)
    .map(([count, one, many]) => `${count} ${count === 1 ? one : many}`);
  return said.length ? said.join(", ") : "no control or mapping changes";
}

function KeyList({ label, keys }: { label: string; keys: readonly string[] }) {
  if (keys.length === 0) return null;
  return (
    <div>
      <dt>{label}</dt>
      <dd>{keys.join(", ")}</dd>
    </div>
  );
}

/** A newer template version: what it changes, and Accept for administrators. */
export function PendingUpdate({
  assessmentId,
  changes,
  canAccept,
  onAccepted,
}: {
  assessmentId: string;
  changes: Changes;
  canAccept: boolean;
  onAccepted: (message: string) => void;
}) {
  const [reviewing, setReviewing] = useState(false);
  const [problems, setProblems] = useState<UserErrorItem[]>([]);
  const [accept, { loading }] = useMutation(AcceptAssessmentUpdateMutation);

  async function confirm() {
    setProblems([]);
    try {
      const { data } = await accept({ variables: { input: { assessmentId } } });
      const payload = data?.acceptAssessmentUpdate;
      if (!payload) {
        setProblems([{ message: "The server sent no answer. Try again." }]);
        return;
      }
      if (payload.userErrors.length > 0) {
        setProblems(payload.userErrors);
        return;
      }
      const { scoreBefore, scoreAfter, applied } = payload;
      const moved =
        scoreBefore && scoreAfter
          ? ` Score ${formatPoints(scoreBefore.earned)}/${formatPoints(scoreBefore.possible)} (${formatPercent(scoreBefore.percent)}) → ${formatPoints(scoreAfter.earned)}/${formatPoints(scoreAfter.possible)} (${formatPercent(scoreAfter.percent)}).`
          : "";
      setReviewing(false);
      onAccepted(
        `Template update accepted${applied ? `: now on version ${applied.toVersion}` : ""}.${moved}`,
      );
    } catch (failure) {
      setProblems([{ message: requestErrorMessage(failure) }]);
    }
  }

  return (
    <section aria-labelledby="pending-update-heading" className="card notice">
      <h2 id="pending-update-heading">Template update available</h2>
      <p>
        Version {changes.toVersion} of the template is available (this assessment is on version{" "}
        {changes.fromVersion}): {summary(changes)}.
      </p>
      <button
        type="button"
        onClick={() => {
          setReviewing(true);
        }}
      >
        Review update
      </button>
      {reviewing && (
        <Dialog
          title={`Template update: version ${changes.fromVersion} → ${changes.toVersion}`}
          busy={loading}
          className="assessments-dialog"
          onClose={() => {
            setReviewing(false);
          }}
        >
          <div className="stack">
            <p>Accepting applies {summary(changes)}. Scores may change.</p>
            <dl className="changes">
              <KeyList label="Controls added" keys={changes.controlsAdded} />
              <KeyList label="Controls removed" keys={changes.controlsRemoved} />
              <KeyList label="Controls re-worded" keys={changes.controlsChanged} />
              <KeyList
                label="Action mappings added (control → action)"
                keys={changes.mappingsAdded.map((m) => `${m.controlKey} → ${m.actionKey}`)}
              />
              <KeyList
                label="Action mappings removed (control → action)"
                keys={changes.mappingsRemoved.map((m) => `${m.controlKey} → ${m.actionKey}`)}
              />
            </dl>
            {!canAccept && (
              <p className="muted">Only an administrator can accept a template update.</p>
            )}
            <MutationProblems id="accept-update-problems" problems={problems} />
            <div className="dialog-buttons">
              {canAccept && (
                <button
                  type="button"
                  className="primary"
                  disabled={loading}
                  onClick={() => void confirm()}
                >
                  {loading ? "Accepting…" : "Accept update"}
                </button>
              )}
              <button
                type="button"
                disabled={loading}
                onClick={() => {
                  setReviewing(false);
                }}
              >
                {canAccept ? "Not now" : "Close"}
              </button>
            </div>
          </div>
        </Dialog>
      )}
    </section>
  );
}
