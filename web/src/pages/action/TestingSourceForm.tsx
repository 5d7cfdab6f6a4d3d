import { testingSourceLabel } from "../../format";
import { useMutation } from "@apollo/client/react";
import { useState } from "react";
import type { SetTestingSourceInput, TestingSource } from "../../gql/graphql";
import type { DraftField } from "./ConflictNotice";
import { SetTestingSourceMutation } from "./documents";
import { EditForm } from "./EditForm";
import { ParentPicker, type ParentChoice } from "./ParentPicker";
import type { ActionFormProps } from "./types";
import { useActionForm } from "./useActionForm";

const SOURCES: readonly TestingSource[] = ["MANUAL", "AUTOMATIC", "PARENT"];

const DESCRIPTIONS: Record<TestingSource, string> = {
  MANUAL: "People record implementation and testing.",
  AUTOMATIC: "Automation reports the test status.",
  PARENT: "Inherit implementation, testing and evidence from another action.",
};

interface Values extends Record<string, string> {
  testingSource: string;
  parentId: string;
}

/** Choose Manual, Automatic or Parent (with a picker for the parent action). */
export function TestingSourceForm({ action, access, reload, onDone }: ActionFormProps) {
  const [chosen, setChosen] = useState<ParentChoice | null>(action.parent ?? null);

  const parentName = (id: string) =>
    [action.parent, chosen].find((parent) => parent?.id === id)?.title ?? "Another action";
  const fields: readonly DraftField<Values>[] = [
    {
      key: "testingSource",
      label: "Testing source",
      read: (saved) => saved.testingSource,
      show: (value) => testingSourceLabel(value as TestingSource),
    },
    {
      key: "parentId",
      label: "Parent action",
      read: (saved) => saved.parent?.id ?? "",
      show: parentName,
    },
  ];
  const form = useActionForm(action, fields, reload, onDone);
  const { draft, state } = form;
  const [mutate, { loading }] = useMutation(SetTestingSourceMutation);
  const source = draft.values.testingSource as TestingSource;

  function disabledReason(option: TestingSource): string | null {
    const automaticInvolved = option === "AUTOMATIC" || action.testingSource === "AUTOMATIC";
    if (option !== action.testingSource && automaticInvolved) return access.automaticSource;
    return null;
  }

  async function submit() {
    const input: SetTestingSourceInput = {
      actionId: action.id,
      version: draft.baseVersion,
      testingSource: source,
    };
    if (source === "PARENT") {
      if (!draft.values.parentId) {
        state.refuse([
          { field: ["input", "parentId"], code: "INVALID", message: "Choose the parent action." },
        ]);
        return;
      }
      input.parentId = draft.values.parentId;
    }
    await state.save(async () => {
      const { data } = await mutate({ variables: { input } });
      return data?.setTestingSource.userErrors ?? [];
    }, "Testing source saved.");
  }

  return (
    <EditForm
      title="Change the testing source"
      saveLabel="Save testing source"
      action={action}
      form={form}
      fields={fields}
      loading={loading}
      onSubmit={submit}
      onCancel={() => {
        onDone("");
      }}
    >
      <fieldset>
        <legend>Testing source</legend>
        {SOURCES.map((option) => {
          const reason = disabledReason(option);
          return (
            <div key={option} className="radio">
              <label>
                <input
                  type="radio"
                  name="testingSource"
                  value={option}
                  checked={source === option}
                  disabled={reason !== null}
                  onChange={() => {
                    draft.set("testingSource", option);
                  }}
                />
                {testingSourceLabel(option)}
              </label>
              <span className="hint">{reason ?? DESCRIPTIONS[option]}</span>
            </div>
          );
        })}
      </fieldset>
      {source === "PARENT" && (
        <ParentPicker
          actionId={action.id}
          chosen={chosen}
          onChoose={(parent) => {
            setChosen(parent);
            draft.set("parentId", parent.id);
          }}
        />
      )}
      {source === "PARENT" && action.testingSource !== "PARENT" && (
        <p className="hint">
          Linking replaces this action&apos;s implementation and testing details with the
          parent&apos;s.
        </p>
      )}
    </EditForm>
  );
}
