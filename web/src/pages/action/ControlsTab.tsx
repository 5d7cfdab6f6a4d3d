import { controlStatusLabel } from "../../format";
import { useState } from "react";
import { Dialog } from "../../components/Dialog";
import { RichText } from "../../components/RichText";
import type { ActionDetails } from "./types";

type Control = ActionDetails["controls"][number];

/** The controls this action satisfies; a control opens its full text in a side panel. */
export function ControlsTab({ action }: { action: ActionDetails }) {
  const [shown, setShown] = useState<Control | null>(null);
  const close = () => {
    setShown(null);
  };

  return (
    <>
      <h2>Related controls</h2>
      {action.controls.length === 0 ? (
        <p>This action is not mapped to any control of an assessment you can read.</p>
      ) : (
        <div className="table-scroll">
          <table className="data">
            <caption className="visually-hidden">Controls this action satisfies</caption>
            <thead>
              <tr>
                <th scope="col">Control</th>
                <th scope="col">Title</th>
                <th scope="col">Regulation</th>
                <th scope="col">Assessment</th>
                <th scope="col">Control status</th>
              </tr>
            </thead>
            <tbody>
              {action.controls.map((control) => (
                <tr key={control.id}>
                  <th scope="row">
                    <button
                      type="button"
                      className="link-button"
                      aria-haspopup="dialog"
                      onClick={() => {
                        setShown(control);
                      }}
                    >
                      {control.key}
                    </button>
                  </th>
                  <td>{control.title}</td>
                  <td>{control.assessment.regulation.name}</td>
                  <td>{control.assessment.name}</td>
                  <td>{controlStatusLabel(control.status)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <Dialog
        open={shown !== null}
        title={shown && `${shown.key}: ${shown.title}`}
        onClose={close}
        className="side-panel"
      >
        {shown && (
          <>
            <p className="muted">
              {shown.family} · {shown.assessment.regulation.name} · {shown.assessment.name}
            </p>
            {shown.description ? (
              <RichText text={shown.description} />
            ) : (
              <p>This control has no text.</p>
            )}
          </>
        )}
        <button type="button" onClick={close}>
          Close
        </button>
      </Dialog>
    </>
  );
}
