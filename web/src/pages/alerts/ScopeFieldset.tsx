import { useQuery } from "@apollo/client/react";
import type { AlertPolicyFieldsFragment } from "../../gql/graphql";
import { PolicyScopeOptionsQuery } from "./documents";
import type { PolicyDraft } from "./policyDraft";

interface Named {
  id: string;
  name: string;
}

function distinct(items: readonly Named[]): Named[] {
  const byId = new Map<string, Named>();
  for (const item of items) byId.set(item.id, item);
  return [...byId.values()].sort((a, b) => a.name.localeCompare(b.name));
}

function Choices({
  legend,
  options,
  chosen,
  onChange,
}: {
  legend: string;
  options: readonly Named[];
  chosen: readonly string[];
  onChange: (ids: string[]) => void;
}) {
  return (
    <fieldset>
      <legend>{legend}</legend>
      {options.length === 0 ? (
        <p className="muted">None to choose from.</p>
      ) : (
        <div className="choice-list">
          {options.map((option) => (
            <label key={option.id} className="check">
              <input
                type="checkbox"
                checked={chosen.includes(option.id)}
                onChange={(event) => {
                  onChange(
                    event.target.checked
                      ? [...chosen, option.id]
                      : chosen.filter((id) => id !== option.id),
                  );
                }}
              />
              {option.name}
            </label>
          ))}
        </div>
      )}
    </fieldset>
  );
}

/** Where the policy looks: nothing ticked in a list means it does not narrow. */
export function ScopeFieldset({
  draft,
  policy,
  onChange,
}: {
  draft: PolicyDraft;
  policy: AlertPolicyFieldsFragment | null;
  onChange: (change: Partial<PolicyDraft>) => void;
}) {
  const { data, error, loading } = useQuery(PolicyScopeOptionsQuery);
  const assessments = data?.assessments.nodes ?? [];
  // What the policy names already stays on offer (an archived assessment, say).
  const scope = policy?.scope;
  const categories = [
    ...new Set([
      ...(data?.complianceScore.byCategory.map((row) => row.key) ?? []),
      ...(scope?.categories ?? []),
    ]),
  ].sort((a, b) => a.localeCompare(b));

  return (
    <fieldset className="scope-choices">
      <legend>Scope (nothing ticked: everywhere)</legend>
      {error && <p role="alert">The scope choices could not be loaded: {error.message}</p>}
      {loading && !data && <p aria-busy="true">Loading assessments and categories…</p>}
      <p className="hint">
        An event counts when it concerns an assessment in every list you tick, and an action in one
        of the ticked categories.
      </p>
      <div className="row">
        <Choices
          legend="Assessments"
          options={distinct([...assessments, ...(scope?.assessments ?? [])])}
          chosen={draft.assessmentIds}
          onChange={(assessmentIds) => {
            onChange({ assessmentIds });
          }}
        />
        <Choices
          legend="Groups"
          options={distinct([...assessments.map((a) => a.group), ...(scope?.groups ?? [])])}
          chosen={draft.groupIds}
          onChange={(groupIds) => {
            onChange({ groupIds });
          }}
        />
        <Choices
          legend="Regulations"
          options={distinct([
            ...assessments.map((a) => a.regulation),
            ...(scope?.regulations ?? []),
          ])}
          chosen={draft.regulationIds}
          onChange={(regulationIds) => {
            onChange({ regulationIds });
          }}
        />
        <Choices
          legend="Categories"
          options={categories.map((name) => ({ id: name, name }))}
          chosen={draft.categories}
          onChange={(chosen) => {
            onChange({ categories: chosen });
          }}
        />
      </div>
    </fieldset>
  );
}
