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
        This is the built-in policy: what it watches is fixed. You can turn it off or on and choose
        who receives its alerts.
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
      </dl>
    </section>
  );
}
