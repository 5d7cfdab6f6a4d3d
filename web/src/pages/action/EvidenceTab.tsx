import { useMutation } from "@apollo/client/react";
import { useEffect, useState } from "react";
import { ConfirmDialog } from "../../components/ConfirmDialog";
import { DeleteEvidenceMutation } from "./documents";
import { EvidenceLinkForm } from "./EvidenceLinkForm";
import { EvidenceTable } from "./EvidenceTable";
import { EvidenceUpload } from "./EvidenceUpload";
import { ReviewDateDialog } from "./ReviewDateDialog";
import { MutationProblems } from "../../components/MutationProblems";
import { requestErrorMessage } from "../../mutationErrors";
import type { ActionAccess } from "./permissions";
import type { ActionDetails, EvidenceItem } from "./types";
import type { UserErrorItem } from "../../mutationErrors";

// Download links work for ten minutes; read fresh ones before the shown ones expire.
const REFRESH_LINKS_MS = 8 * 60 * 1000;

const LOCK_RULE =
  "Evidence can be deleted until the action's test status records a result: once it has passed, failed (any risk) or is out of scope, its evidence stays, because that result rests on it.";

// Shown before an upload when evidence is locked (the form is only there when not read-only).
const PERMANENT_EVIDENCE =
  "Evidence added now cannot be deleted afterwards: the action's test status records a result, and that result rests on its evidence.";

export function EvidenceTab({
  action,
  access,
  reload,
}: {
  action: ActionDetails;
  access: ActionAccess;
  reload: () => Promise<unknown>;
}) {
  const [mutate, { loading }] = useMutation(DeleteEvidenceMutation);
  const [deleting, setDeleting] = useState<EvidenceItem | null>(null);
  const [reviewing, setReviewing] = useState<EvidenceItem | null>(null);
  const [userErrors, setUserErrors] = useState<readonly UserErrorItem[]>([]);
  const [networkError, setNetworkError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const mayDelete = access.evidenceDelete === null;
  // Review dates may change whatever the test status (contributors, not on read-only actions).
  const mayReview = access.evidence === null;

  useEffect(() => {
    const timer = window.setInterval(() => void reload(), REFRESH_LINKS_MS);
    return () => {
      window.clearInterval(timer);
    };
  }, [reload]);

  async function remove(item: EvidenceItem) {
    setUserErrors([]);
    setNetworkError(null);
    setDone(null);
    try {
      const { data } = await mutate({ variables: { input: { evidenceId: item.id } } });
      const payload = data?.deleteEvidence;
      setUserErrors(payload?.userErrors ?? []);
      if (payload?.deletedEvidenceId) setDone(`Deleted “${item.name}”.`);
    } catch (error) {
      setNetworkError(requestErrorMessage(error));
    } finally {
      setDeleting(null);
    }
  }

  return (
    <>
      <h2>Evidence</h2>
      {action.hasExpiredEvidence && (
        <p className="read-only-reason">
          Some evidence is past its review date: review it, then set a new review date or replace
          it.
        </p>
      )}
      {action.evidence.length === 0 ? (
        <p>No evidence yet{access.evidence ? "." : ": upload a document or add a link below."}</p>
      ) : (
        <EvidenceTable
          caption="Files and links of this action"
          items={action.evidence}
          {...(mayReview ? { onReview: setReviewing } : {})}
          {...(mayDelete ? { onDelete: setDeleting } : {})}
        />
      )}
      <MutationProblems problems={userErrors} error={networkError} success={done} />
      {userErrors.length > 0 && <p className="read-only-reason">{LOCK_RULE}</p>}
      {!access.evidence && access.evidenceDelete && action.evidence.length > 0 && (
        <p className="read-only-reason">{access.evidenceDelete}</p>
      )}

      {action.testingSource === "PARENT" && (
        <>
          <h3>Inherited from the parent action</h3>
          {action.inheritedEvidence.length === 0 ? (
            <p>The parent actions have no evidence you can read.</p>
          ) : (
            <EvidenceTable
              caption="Evidence of the parent actions, nearest parent first"
              items={action.inheritedEvidence}
            />
          )}
        </>
      )}

      {access.evidence ? (
        <p className="read-only-reason">{access.evidence}</p>
      ) : (
        <section aria-labelledby="add-evidence-heading" className="evidence-add">
          <h3 id="add-evidence-heading">Add evidence</h3>
          {action.testingSource === "AUTOMATIC" && (
            <p className="hint">
              Adding evidence by hand makes this automatically tested action manually tested.
            </p>
          )}
          <div className="grid">
            <EvidenceUpload
              actionId={action.id}
              onUploaded={reload}
              permanent={access.evidenceDelete && PERMANENT_EVIDENCE}
            />
            <EvidenceLinkForm
              actionId={action.id}
              permanent={access.evidenceDelete && PERMANENT_EVIDENCE}
            />
          </div>
        </section>
      )}

      {reviewing && (
        <ReviewDateDialog
          item={reviewing}
          onClose={() => {
            setReviewing(null);
          }}
          onSaved={(message) => {
            setReviewing(null);
            setUserErrors([]);
            setNetworkError(null);
            setDone(message);
          }}
        />
      )}
      <ConfirmDialog
        open={deleting !== null}
        title="Delete evidence?"
        confirmLabel="Delete"
        busy={loading}
        onConfirm={() => {
          if (deleting) void remove(deleting);
        }}
        onClose={() => {
          setDeleting(null);
        }}
      >
        <p>
          “{deleting?.name}” will be removed from this action. This is recorded in the action’s
          history and cannot be undone.
        </p>
      </ConfirmDialog>
    </>
  );
}
