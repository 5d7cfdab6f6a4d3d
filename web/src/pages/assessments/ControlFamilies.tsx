import { useId } from "react";
import { Link } from "react-router";
import { controlStatusLabel, formatPoints, implementationLabel, testLabel } from "../../format";
import { RichText } from "../../components/RichText";
import { actionDetailsPath } from "../actions/listParams";
import { actionOwnerLabel } from "./labels";
import type { ControlAction, ControlItem } from "./types";

/** Controls by family, in template order. */
export function byFamily(controls: readonly ControlItem[]): [string, ControlItem[]][] {
  const families = new Map<string, ControlItem[]>();
  for (const control of controls) {
    const list = families.get(control.family);
    if (list) list.push(control);
    else families.set(control.family, [control]);
  }
  return [...families.entries()];
}

function familySummary(controls: readonly ControlItem[]): string {
  const count = (status: ControlItem["status"]) =>
    controls.filter((control) => control.status === status).length;
  const parts = [`${controls.length} ${controls.length === 1 ? "control" : "controls"}`];
  parts.push(`${count("PASSED")} passed`);
  const failed = count("FAILED");
  if (failed) parts.push(`${failed} failed`);
  return parts.join(" · ");
}

function ActionItem({ action, assessmentId }: { action: ControlAction; assessmentId: string }) {
  return (
    <li>
      <Link to={actionDetailsPath(action.id, new URLSearchParams({ assessment: assessmentId }))}>
        {action.title}
      </Link>
      {action.pendingUpdate && <span className="tag">Update available</span>}
      <br />
      <span className="muted small">
        {actionOwnerLabel(action.owner)} · Implementation:{" "}
        {implementationLabel(action.implementationStatus)} · Test: {testLabel(action.testStatus)} ·{" "}
        {formatPoints(action.score.earned)} of {formatPoints(action.score.possible)} points ·{" "}
        {action.assignee ? `Assigned to ${action.assignee.name}` : "Unassigned"}
      </span>
    </li>
  );
}

/** One family: a heading that expands and collapses its table of controls. */
export function FamilySection({
  family,
  controls,
  assessmentId,
  expanded,
  onToggle,
}: {
  family: string;
  controls: readonly ControlItem[];
  assessmentId: string;
  expanded: boolean;
  onToggle: () => void;
}) {
  const panelId = useId();
  return (
    <section className="family">
      <h3>
        <button
          type="button"
          className="disclosure"
          aria-expanded={expanded}
          aria-controls={panelId}
          onClick={onToggle}
        >
          <span aria-hidden="true" className="chevron">
            {expanded ? "▾" : "▸"}
          </span>{" "}
          {family} <span className="muted small">{familySummary(controls)}</span>
        </button>
      </h3>
      <div id={panelId} hidden={!expanded} className="table-scroll">
        <table className="data">
          <caption className="visually-hidden">Controls of the family {family}</caption>
          <thead>
            <tr>
              <th scope="col">Control</th>
              <th scope="col">Status</th>
              <th scope="col" className="num">
                Points
              </th>
              <th scope="col">Improvement actions</th>
            </tr>
          </thead>
          <tbody>
            {controls.map((control) => (
              <tr key={control.id}>
                <th scope="row" className="control-cell">
                  <strong>{control.key}</strong> {control.title}
                  {control.description && (
                    <details>
                      <summary>Control text</summary>
                      <RichText className="control-text" text={control.description} />
                    </details>
                  )}
                </th>
                <td>{controlStatusLabel(control.status)}</td>
                <td className="num">
                  {formatPoints(control.score.earned)} / {formatPoints(control.score.possible)}
                </td>
                <td>
                  {control.actions.length === 0 ? (
                    <span className="muted">No actions mapped</span>
                  ) : (
                    <ul className="action-list">
                      {control.actions.map((action) => (
                        <ActionItem key={action.id} action={action} assessmentId={assessmentId} />
                      ))}
                    </ul>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
