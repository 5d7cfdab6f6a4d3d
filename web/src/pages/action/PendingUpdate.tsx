import { useMutation } from "@apollo/client/react";
import { useState } from "react";
import { formatPercent, formatPoints } from "../../format";
import { AcceptActionUpdateMutation } from "./documents";
import { definitionFieldLabels } from "./labels";
import { MutationProblems } from "../../components/MutationProblems";
import { requestErrorMessage } from "../../mutationErrors";
import type { ActionAccess } from "./permissions";
import type { ActionDetails } from "./types";
import type { UserErrorItem } from "../../mutationErrors";

/** A newer definition version: what it changes, Accept (administrators) or Defer. */
export function PendingUpdate({
  action,
  access,
  onClose,
}: {
  action: ActionDetails;
  access: ActionAccess;
  onClose: (message: string) => void;
}) {
  const [mutate, { loading }] = useMutation(AcceptActionUpdateMutation);
  const [userErrors, setUserErrors] = useState<readonly UserErrorItem[]>([]);
  const [networkError, setNetworkError] = useState<string | null>(null);

  async function accept() {
    setUserErrors([]);
    setNetworkError(null);
    try {
      const { data } = await mutate({ variables: { input: { actionId: action.id } } });
      const payload = data?.acceptActionUpdate;
      const errors = payload?.userErrors ?? [];
      setUserErrors(errors);
      if (errors.length === 0 && payload) {
        const impact = payload.scoreImpact;
        const score = impact
          ? ` Overall score: ${formatPoints(impact.overallBefore.earned)} of ${formatPoints(impact.overallBefore.possible)} (${formatPercent(impact.overallBefore.percent)}) before, ${formatPoints(impact.overallAfter.earned)} of ${formatPoints(impact.overallAfter.possible)} (${formatPercent(impact.overallAfter.percent)}) now.`
          : "";
        onClose(
          `Update accepted: definition version ${payload.fromVersion ?? "?"} to ${payload.toVersion ?? "?"}.${score}`,
        );
      }
    } catch (error) {
      setNetworkError(requestErrorMessage(error));
    }
  }

  return (
    <section className="card pending-update" aria-labelledby="pending-update-heading">
      <h2 id="pending-update-heading">Review update</h2>
      <p>
        A newer version of this action&apos;s definition is available. Accepting it applies these
        changes{action.group ? ` for group ${action.group.name}` : " organisation-wide"}; points may
        change, and with them the scores of every assessment holding this action.
      </p>
      {action.pendingUpdateChanges.length === 0 ? (
        <p>The new version changes none of the fields shown here.</p>
      ) : (
        <div className="table-scroll">
          <table className="data">
            <caption>What the update changes</caption>
            <thead>
              <tr>
                <th scope="col">Field</th>
                <th scope="col">Now</th>
                <th scope="col">After the update</th>
              </tr>
            </thead>
            <tbody>
              {action.pendingUpdateChanges.map((change) => (
                <tr key={change.field}>
                  <th scope="row">{definitionFieldLabels[change.field]}</th>
                  <td className="prewrap">{change.currentValue}</td>
                  <td className="prewrap">{change.newValue}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <MutationProblems problems={userErrors} error={networkError} />
      {access.acceptUpdate && <p className="read-only-reason">{access.acceptUpdate}</p>}
      <div className="button-row">
        {!access.acceptUpdate && (
          <button
            type="button"
            className="primary"
            disabled={loading}
            onClick={() => void accept()}
          >
            {loading ? "Accepting…" : "Accept update"}
          </button>
        )}
        <button
          type="button"
          onClick={() => {
            onClose(
              "Update deferred: it stays pending and can be reviewed here or from the actions list later.",
            );
          }}
        >
          Defer
        </button>
      </div>
      <p className="hint">Defer changes nothing: the update stays pending for everyone.</p>
    </section>
  );
}
