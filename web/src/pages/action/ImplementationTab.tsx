import { RichText } from "../../components/RichText";
import { implementationLabel, implementationTypeLabel } from "../../format";
import { EditSection } from "./EditSection";
import { Facts, Notes } from "./Facts";
import { ImplementationForm } from "./ImplementationForm";
import { formatDate } from "./labels";
import type { ActionTabProps } from "./types";

export function ImplementationTab({ action, access, reload }: ActionTabProps) {
  return (
    <>
      <h2>Implementation</h2>
      <Facts
        items={[
          ["Implementation status", implementationLabel(action.implementationStatus)],
          ["Implementation date", formatDate(action.implementationDate)],
          ["Action type", implementationTypeLabel(action.implementationType)],
          [
            action.implementationType === "TECHNICAL" ? "Where the work is done" : "Solution",
            action.solution,
          ],
        ]}
      />
      <Notes title="Implementation notes" text={action.implementationNotes} empty="No notes yet." />

      <EditSection
        reasons={access.implementation ? [access.implementation] : []}
        label="Edit implementation details"
      >
        {(onDone) => <ImplementationForm action={action} reload={reload} onDone={onDone} />}
      </EditSection>

      <h3>Guidance</h3>
      {action.guidance ? (
        <RichText className="guidance" text={action.guidance} />
      ) : (
        <p className="muted">This action has no guidance.</p>
      )}
    </>
  );
}
