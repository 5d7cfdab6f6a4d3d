import { formatDateTime } from "../../format";
import { changeSourceLabels, historyFieldLabel, historyValueLabel } from "./labels";
import type { ActionDetails } from "./types";

/** Every change, newest first: who, when, from what to what, and where it came from. */
export function HistoryTab({ action }: { action: ActionDetails }) {
  return (
    <>
      <h2>History</h2>
      {action.history.length === 0 ? (
        <p>Nothing has changed since this action was created.</p>
      ) : (
        <div className="table-scroll">
          <table className="data">
            <caption className="visually-hidden">Changes to this action, newest first</caption>
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Field</th>
                <th scope="col">From</th>
                <th scope="col">To</th>
                <th scope="col">By</th>
                <th scope="col">Source</th>
              </tr>
            </thead>
            <tbody>
              {action.history.map((entry, index) => (
                <tr key={`${entry.createdAt}-${entry.field}-${index}`}>
                  <td>{formatDateTime(entry.createdAt)}</td>
                  <th scope="row">{historyFieldLabel(entry.field)}</th>
                  <td className="prewrap">{historyValueLabel(entry.field, entry.oldValue)}</td>
                  <td className="prewrap">{historyValueLabel(entry.field, entry.newValue)}</td>
                  <td>
                    {entry.actor?.name ??
                      (entry.source === "USER" ? (
                        <span className="muted">Removed user</span>
                      ) : (
                        <span className="muted">System</span>
                      ))}
                  </td>
                  <td>{changeSourceLabels[entry.source]}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {action.history.length >= 100 && (
            <p className="hint">
              The latest 100 changes. Export the testing history from the Testing tab for every
              test-status change.
            </p>
          )}
        </div>
      )}
    </>
  );
}
