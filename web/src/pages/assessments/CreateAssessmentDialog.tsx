import { useMutation } from "@apollo/client/react";
import { useState, type SubmitEvent } from "react";
import { useNavigate } from "react-router";
import type { AssessmentChoicesQuery, CreateAssessmentInput } from "../../gql/graphql";
import { Dialog } from "../../components/Dialog";
import { CreateAssessmentMutation } from "./documents";
import { MutationProblems } from "../../components/MutationProblems";
import { fieldName, requestErrorMessage, type UserErrorItem } from "../../mutationErrors";

type Templates = AssessmentChoicesQuery["templates"]["nodes"];
type Groups = AssessmentChoicesQuery["groups"]["nodes"];

function isAssessmentName(problem: UserErrorItem): boolean {
  return fieldName(problem.field) === "name";
}

/** Create an assessment from a template, in an existing or a new group. */
export function CreateAssessmentDialog({
  templates,
  groups,
  onClose,
}: {
  templates: Templates;
  groups: Groups;
  onClose: () => void;
}) {
  const navigate = useNavigate();
  const [create, { loading }] = useMutation(CreateAssessmentMutation, {
    refetchQueries: ["AssessmentList", "AssessmentChoices"],
  });
  const [templateId, setTemplateId] = useState(templates[0]?.id ?? "");
  const [name, setName] = useState("");
  const [groupMode, setGroupMode] = useState<"existing" | "new">(
    groups.length > 0 ? "existing" : "new",
  );
  const [groupId, setGroupId] = useState(groups[0]?.id ?? "");
  const [newGroupName, setNewGroupName] = useState("");
  const [copyFromGroupId, setCopyFromGroupId] = useState("");
  const [problems, setProblems] = useState<UserErrorItem[]>([]);
  const nameProblems = problems.filter(isAssessmentName);
  const otherProblems = problems.filter((problem) => !isAssessmentName(problem));

  async function submit(event: SubmitEvent<HTMLFormElement>) {
    event.preventDefault();
    setProblems([]);
    const input: CreateAssessmentInput =
      groupMode === "existing"
        ? { templateId, name: name.trim(), groupId }
        : {
            templateId,
            name: name.trim(),
            newGroupName: newGroupName.trim(),
            copyFromGroupId: copyFromGroupId || null,
          };
    try {
      const { data } = await create({ variables: { input } });
      const payload = data?.createAssessment;
      if (!payload) {
        setProblems([{ message: "The server sent no answer. Try again." }]);
      } else if (payload.userErrors.length > 0) {
        setProblems(payload.userErrors);
      } else if (payload.assessment) {
        onClose();
        await navigate(`/assessments/${encodeURIComponent(payload.assessment.id)}`, {
          state: { notice: `Assessment “${payload.assessment.name}” created.` },
        });
      }
    } catch (failure) {
      setProblems([{ message: requestErrorMessage(failure) }]);
    }
  }

  return (
    <Dialog
      title="Create assessment"
      busy={loading}
      onClose={onClose}
      className="assessments-dialog"
    >
      <form
        className="stack"
        aria-describedby="create-assessment-problems"
        onSubmit={(event) => void submit(event)}
      >
        <label>
          Template
          <select
            required
            value={templateId}
            onChange={(event) => {
              setTemplateId(event.target.value);
            }}
          >
            {templates.map((template) => (
              <option key={template.id} value={template.id}>
                {template.title} — {template.product} ({template.regulation.name}, version{" "}
                {template.version})
              </option>
            ))}
          </select>
        </label>
        {templates.length === 0 && (
          <p className="hint">
            No templates yet: an administrator imports a template workbook first.
          </p>
        )}
        <label>
          Name
          <input
            required
            value={name}
            aria-invalid={nameProblems.length > 0 || undefined}
            aria-describedby="create-assessment-name-problems"
            onChange={(event) => {
              setName(event.target.value);
            }}
          />
        </label>
        <MutationProblems
          id="create-assessment-name-problems"
          problems={nameProblems}
          fieldLabels={{ name: "" }}
        />
        <fieldset>
          <legend>Group</legend>
          <p className="hint">
            Assessments in one group share the work on their non-technical actions.
          </p>
          <label className="choice">
            <input
              type="radio"
              name="group-mode"
              checked={groupMode === "existing"}
              disabled={groups.length === 0}
              onChange={() => {
                setGroupMode("existing");
              }}
            />
            An existing group
          </label>
          {groupMode === "existing" && (
            <label>
              Existing group
              <select
                required
                value={groupId}
                onChange={(event) => {
                  setGroupId(event.target.value);
                }}
              >
                {groups.map((group) => (
                  <option key={group.id} value={group.id}>
                    {group.name}
                  </option>
                ))}
              </select>
            </label>
          )}
          <label className="choice">
            <input
              type="radio"
              name="group-mode"
              checked={groupMode === "new"}
              onChange={() => {
                setGroupMode("new");
              }}
            />
            A new group
          </label>
          {groupMode === "new" && (
            <>
              <label>
                New group name
                <input
                  required
                  value={newGroupName}
                  onChange={(event) => {
                    setNewGroupName(event.target.value);
                  }}
                />
              </label>
              <label>
                Copy from group (optional)
                <select
                  value={copyFromGroupId}
                  onChange={(event) => {
                    setCopyFromGroupId(event.target.value);
                  }}
                >
                  <option value="">Start afresh: copy nothing</option>
                  {groups.map((group) => (
                    <option key={group.id} value={group.id}>
                      {group.name}
                    </option>
                  ))}
                </select>
              </label>
              <p className="hint">
                Copying brings over implementation and testing details, notes, assignees and
                evidence of the chosen group&apos;s actions.
              </p>
            </>
          )}
        </fieldset>
        <MutationProblems
          id="create-assessment-problems"
          problems={otherProblems}
          fieldLabels={{ name: "New group name" }}
        />
        <div className="dialog-buttons">
          <button type="submit" className="primary" disabled={loading || templates.length === 0}>
            {loading ? "Creating…" : "Create assessment"}
          </button>
          <button type="button" disabled={loading} onClick={onClose}>
            Cancel
          </button>
        </div>
      </form>
    </Dialog>
  );
}
