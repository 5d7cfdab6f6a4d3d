import type { ReactNode } from "react";
import type { AlertPolicyFieldsFragment } from "../../gql/graphql";
import { SeverityBadge } from "./Badges";
import { conditionLines, recipientLines, scopeLines, triggerText } from "./policySummary";

type Policy = AlertPolicyFieldsFragment;

function Lines({ lines }: { lines: readonly string[] }) {
  return (
    <ul className="plain">
      {lines.map((line, index) => (
        <li key={index}>{line}</li>
      ))}
    </ul>
  );
}

/** The policies with what each watches; `actions` renders a row's controls, if any. */
export function PoliciesTable({
  policies,
  actions,
}: {
  policies: readonly Policy[];
  actions: ((policy: Policy) => ReactNode) | null;
}) {
  return (
    <div className="table-scroll">
      <table className="data">
        <caption className="visually-hidden">Alert policies by name</caption>
        <thead>
          <tr>
            <th scope="col">Policy</th>
            <th scope="col">Severity</th>
            <th scope="col">Conditions</th>
            <th scope="col">Scope</th>
            <th scope="col">Trigger</th>
            <th scope="col">Recipients</th>
            <th scope="col">Enabled</th>
            {actions && (
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            )}
          </tr>
        </thead>
        <tbody>
          {policies.map((policy) => (
            <tr key={policy.id}>
              <th scope="row">
                <strong>{policy.name}</strong>
                {policy.isBuiltIn && <span className="policy-badge">Built-in</span>}
                {policy.isDefault && <span className="policy-badge">Default</span>}
                {policy.description && <div className="muted">{policy.description}</div>}
              </th>
              <td>
                <SeverityBadge severity={policy.severity} />
              </td>
              <td>
                <Lines lines={conditionLines(policy)} />
              </td>
              <td>
                <Lines lines={scopeLines(policy)} />
              </td>
              <td>{triggerText(policy)}</td>
              <td>
                <Lines lines={recipientLines(policy)} />
              </td>
              <td>{policy.enabled ? "On" : <span className="muted">Off</span>}</td>
              {actions && <td>{actions(policy)}</td>}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
