import { testingSourceLabel } from "../../format";
import { useMutation } from "@apollo/client/react";
import { useState, type SubmitEvent } from "react";
import type { SetTestingSourceInput, TestingSource } from "../../gql/graphql";
import { ConflictNotice, type DraftField } from "./ConflictNotice";
import { SetTestingSourceMutation } from "./documents";
import { MutationProblems } from "../../components/MutationProblems";
import { hasConflict, requestErrorMessage } from "../../mutationErrors";
import { ParentPicker, type ParentChoice } from "./ParentPicker";
import type { ActionAccess } from "./permissions";
import type { ActionDetails } from "./types";
import type { UserErrorItem } from "../../mutationErrors";
import { useVersionedDraft } from "./useVersionedDraft";

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

function valuesOf(action: ActionDetails): Values {
  return { testingSource: action.testingSource, parentId: action.parent?.id ?? "" };
}

/** Choose Manual, Automatic or Parent (with a picker for the parent action). */
export function TestingSourceForm({
  action,
  access,
  reload,
  onDone,
}: {
  action: ActionDetails;
  access: ActionAccess;
  reload: () => Promise<unknown>;
  onDone: (message: string) => void;
}) {
  const current = valuesOf(action);
  const draft = useVersionedDraft(action.version, current);
  const [chosen, setChosen] = useState<ParentChoice | null>(action.parent ?? null);
  const [mutate, { loading }] = useMutation(SetTestingSourceMutation);
  const [userErrors, setUserErrors] = useState<readonly UserErrorItem[]>([]);
  const [networkError, setNetworkError] = useState<string | null>(null);
  const source = draft.values.testingSource as TestingSource;

  const parentName = (id: string) =>
    [action.parent, chosen].find((parent) => parent?.id === id)?.title ?? "Another action";
  const fields: readonly DraftField<Values>[] = [
    {
      key: "testingSource",
      label: "Testing source",
      show: (value) => testingSourceLabel(value as TestingSource),
    },
    { key: "parentId", label: "Parent action", show: parentName },
  ];

  function disabledReason(option: TestingSource): string | null {
    const automaticInvolved = option === "AUTOMATIC" || action.testingSource === "AUTOMATIC";
    if (option !== action.testingSource && automaticInvolved) return access.automaticSource;
    return null;
  }

  async function submit(event: SubmitEvent<HTMLFormElement>) {
    event.preventDefault();
    setUserErrors([]);
    setNetworkError(null);
    const input: SetTestingSourceInput = {
      actionId: action.id,
      version: draft.baseVersion,
      testingSource: source,
    };
    if (source === "PARENT") {
      if (!draft.values.parentId) {
        setNetworkError(null);
        setUserErrors([
          { field: ["input", "parentId"], code: "INVALID", message: "Choose the parent action." },
        ]);
        return;
      }
      input.parentId = draft.values.parentId;
    }
    try {
      const { data } = await mutate({ variables: { input } });
      const errors = data?.setTestingSource.userErrors ?? [];
      setUserErrors(errors);
      if (hasConflict(errors)) await reload();
      else if (errors.length === 0) onDone("Testing source saved.");
    } catch (error) {
      setNetworkError(requestErrorMessage(error));
    }
  }

  return (
    <form className="edit-form stack" onSubmit={(event) => void submit(event)}>
      <h3>Change the testing source</h3>
      <ConflictNotice
        action={action}
        draft={draft}
        current={current}
        fields={fields}
        onResolved={() => {
          setUserErrors([]);
          setNetworkError(null);
        }}
      />
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
      <MutationProblems problems={userErrors} error={networkError} />
      <div className="button-row">
        <button type="submit" className="primary" disabled={loading}>
          {loading ? "Saving…" : "Save testing source"}
        </button>
        <button
          type="button"
          onClick={() => {
            onDone("");
          }}
        >
          Cancel
        </button>
      </div>
    </form>
  );
}
