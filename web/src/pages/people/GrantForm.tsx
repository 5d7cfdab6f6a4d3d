import { useMutation } from "@apollo/client/react";
import { useId, useMemo, useState, type SubmitEvent } from "react";
import { FormError } from "../../components/FormError";
import { roleLabel } from "../../format";
import type { GrantScopesQuery as GrantScopesData } from "../../gql/graphql";
import { GrantAccessMutation } from "./documents";
import { attempt } from "../../mutationErrors";
import { REFRESH_PERSON } from "./refresh";
import { GRANT_ROLES, parseRole } from "./roles";

type Assessment = GrantScopesData["assessments"]["nodes"][number];
type ScopeKind = "assessment" | "regulation";

interface GrantFormProps {
  userId: string;
  assessments: readonly Assessment[];
  totalAssessments: number;
}

/** The regulations of the listed assessments, once each, by name. */
function regulationsOf(assessments: readonly Assessment[]): { id: string; name: string }[] {
  const byId = new Map(assessments.map((a) => [a.regulation.id, a.regulation]));
  return [...byId.values()].sort((a, b) => a.name.localeCompare(b.name));
}

export function GrantForm({ userId, assessments, totalAssessments }: GrantFormProps) {
  const id = useId();
  const [grant, { loading }] = useMutation(GrantAccessMutation, { refetchQueries: REFRESH_PERSON });
  const [kind, setKind] = useState<ScopeKind>("assessment");
  const [scopeId, setScopeId] = useState("");
  const [role, setRole] = useState<string>("READER");
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const regulations = useMemo(() => regulationsOf(assessments), [assessments]);
  const options =
    kind === "assessment"
      ? assessments.map((a) => ({ id: a.id, name: a.archived ? `${a.name} (archived)` : a.name }))
      : regulations;

  async function submit(event: SubmitEvent<HTMLFormElement>) {
    event.preventDefault();
    setError(null);
    setDone(null);
    const chosenRole = parseRole(role);
    if (!chosenRole || !scopeId) {
      setError(`Choose ${kind === "assessment" ? "an assessment" : "a regulation"} and a role.`);
      return;
    }
    const outcome = await attempt(async () => {
      const result = await grant({
        variables: {
          input: {
            userId,
            role: chosenRole,
            ...(kind === "assessment" ? { assessmentId: scopeId } : { regulationId: scopeId }),
          },
        },
      });
      return result.data?.grantAccess;
    });
    if (!outcome.ok) {
      setError(outcome.message);
      return;
    }
    const name = options.find((option) => option.id === scopeId)?.name ?? "";
    setDone(`${roleLabel(chosenRole)} granted on ${name}.`);
    setScopeId("");
  }

  return (
    <form
      className="grant-form"
      onSubmit={(event) => void submit(event)}
      aria-describedby={`${id}-error`}
    >
      <fieldset>
        <legend>Scope</legend>
        <label className="inline">
          <input
            type="radio"
            name={`${id}-kind`}
            checked={kind === "assessment"}
            onChange={() => {
              setKind("assessment");
              setScopeId("");
            }}
          />
          One assessment
        </label>
        <label className="inline">
          <input
            type="radio"
            name={`${id}-kind`}
            checked={kind === "regulation"}
            onChange={() => {
              setKind("regulation");
              setScopeId("");
            }}
          />
          A regulation (all its assessments)
        </label>
      </fieldset>
      <label>
        {kind === "assessment" ? "Assessment" : "Regulation"}
        <select
          required
          value={scopeId}
          onChange={(event) => {
            setScopeId(event.target.value);
          }}
        >
          <option value="">Choose…</option>
          {options.map((option) => (
            <option key={option.id} value={option.id}>
              {option.name}
            </option>
          ))}
        </select>
      </label>
      <label>
        Role
        <select
          value={role}
          onChange={(event) => {
            setRole(event.target.value);
          }}
        >
          {GRANT_ROLES.map((option) => (
            <option key={option} value={option}>
              {roleLabel(option)}
            </option>
          ))}
        </select>
      </label>
      <div>
        <button type="submit" className="primary" disabled={loading}>
          {loading ? "Granting…" : "Add grant"}
        </button>
      </div>
      {totalAssessments > assessments.length && (
        <p className="hint">
          Showing the first {assessments.length} of {totalAssessments} assessments by name.
        </p>
      )}
      <p className="hint">A grant on a scope the person already has replaces its role.</p>
      <FormError id={`${id}-error`} message={error} />
      {done && <p role="status">{done}</p>}
    </form>
  );
}
