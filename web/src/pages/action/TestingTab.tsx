import { RichText } from "../../components/RichText";
import { formatPercent, testingSourceLabel, testLabel } from "../../format";
import { EditSection } from "./EditSection";
import { Facts, Notes } from "./Facts";
import { formatDate } from "./labels";
import { onlyAdditionalNotes } from "./permissions";
import { TestingForm } from "./TestingForm";
import { TestingHistoryExport } from "./TestingHistoryExport";
import type { ActionTabProps } from "./types";

export function TestingTab({ action, access, reload }: ActionTabProps) {
  const canEditSomething =
    access.testStatus === null || access.testDate === null || access.additionalNotes === null;
  // What stays closed for this viewer, said once each.
  const reasons = [
    ...new Set([access.testStatus, access.testDate, access.additionalNotes].filter(Boolean)),
  ] as string[];
  const partly =
    action.testStatus === "PARTIALLY_TESTED" && action.automationFraction != null
      ? ` (${formatPercent(action.automationFraction * 100)} passed)`
      : "";

  return (
    <>
      <h2>Testing</h2>
      <Facts
        items={[
          ["Test status", `${testLabel(action.testStatus)}${partly}`],
          ["Test date", formatDate(action.testDate)],
          ["Testing source", testingSourceLabel(action.testingSource)],
        ]}
      />
      <Notes title="Testing notes" text={action.testingNotes} empty="No testing notes." />
      <Notes title="Additional notes" text={action.additionalNotes} empty="No additional notes." />
      {action.testingSource === "AUTOMATIC" || action.testingLogic ? (
        <>
          <h3>Testing logic</h3>
          {action.testingLogic ? (
            <RichText text={action.testingLogic} />
          ) : (
            <p className="muted">No testing logic is described.</p>
          )}
        </>
      ) : null}

      <EditSection
        reasons={reasons}
        editable={canEditSomething}
        // Contributors may change only the additional notes: the button says so.
        label={onlyAdditionalNotes(access) ? "Edit additional notes" : "Edit testing details"}
      >
        {(onDone) => (
          <TestingForm action={action} access={access} reload={reload} onDone={onDone} />
        )}
      </EditSection>

      <h3>Testing history</h3>
      <p>Every change of the test status, as a spreadsheet.</p>
      <TestingHistoryExport actionId={action.id} />
    </>
  );
}
