import type { AlertPolicyFieldsFragment } from "../../gql/graphql";
import { severityLabel } from "./labels";
import { conditionLines, scopeLines, triggerText } from "./policySummary";

/** What the built-in policy watches, which nobody can change: shown, not offered. */
export function FixedWatch({ policy }: { policy: AlertPolicyFieldsFragment }) {
  return (
    <section aria-labelledby="fixed-watch-heading">
      <h3 id="fixed-watch-heading" className="field-heading">
        What it watches
      </h3>
      <p className="hint">
        {policy.isBuiltIn
          ? "This policy is built in (the assignee's notice of a failed test): what it watches is fixed and it cannot be deleted. Owners can turn it off or on, choose who else receives its alerts and whether they come as a daily digest."
          : "This is the default policy: what it watches is fixed and it cannot be deleted. You can turn it off or on, choose who receives its alerts and whether they come as a daily digest."}
      </p>
      <dl className="fixed-watch">
        <dt>Description</dt>
        <dd>{policy.description || <span className="muted">None</span>}</dd>
        <dt>Conditions</dt>
        <dd>{conditionLines(policy).join("; ")}</dd>
        <dt>Scope</dt>
        <dd>{scopeLines(policy).join("; ")}</dd>
        <dt>Severity</dt>
        <dd>{severityLabel(policy.severity)}</dd>
        <dt>Trigger</dt>
        <dd>{triggerText(policy)}</dd>
        <dt>Assignee</dt>
        <dd>
          {policy.notifyAssignee
            ? "The assignee of each affected action receives its alerts."
            : "Not notified."}
        </dd>
      </dl>
    </section>
  );
}
