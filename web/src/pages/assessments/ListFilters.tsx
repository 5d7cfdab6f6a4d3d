import type { AssessmentChoicesQuery } from "../../gql/graphql";
import { GROUP_BY_LABELS, type AssessmentGroupBy, type AssessmentListParams } from "./listParams";

export interface Choice {
  id: string;
  name: string;
}

/** Regulations named by the templates, once each, by name. */
export function regulationChoices(
  templates: AssessmentChoicesQuery["templates"]["nodes"],
): Choice[] {
  const byId = new Map<string, Choice>();
  for (const template of templates) byId.set(template.regulation.id, template.regulation);
  return [...byId.values()].sort((a, b) => a.name.localeCompare(b.name));
}

/** The list's filters, grouping and "Show archived"; every change goes to the URL. */
export function ListFilters({
  params,
  regulations,
  groups,
  onChange,
}: {
  params: AssessmentListParams;
  regulations: readonly Choice[];
  groups: readonly Choice[];
  onChange: (next: AssessmentListParams) => void;
}) {
  return (
    <div className="assessments-filters" role="group" aria-label="Filter the assessments">
      <label>
        Regulation
        <select
          value={params.regulationIds[0] ?? ""}
          onChange={(event) => {
            onChange({ ...params, regulationIds: event.target.value ? [event.target.value] : [] });
          }}
        >
          <option value="">All regulations</option>
          {regulations.map((regulation) => (
            <option key={regulation.id} value={regulation.id}>
              {regulation.name}
            </option>
          ))}
        </select>
      </label>
      <label>
        Group
        <select
          value={params.groupIds[0] ?? ""}
          onChange={(event) => {
            onChange({ ...params, groupIds: event.target.value ? [event.target.value] : [] });
          }}
        >
          <option value="">All groups</option>
          {groups.map((group) => (
            <option key={group.id} value={group.id}>
              {group.name}
            </option>
          ))}
        </select>
      </label>
      <label>
        Group by
        <select
          value={params.groupBy}
          onChange={(event) => {
            onChange({ ...params, groupBy: event.target.value as AssessmentGroupBy });
          }}
        >
          {Object.entries(GROUP_BY_LABELS).map(([value, label]) => (
            <option key={value} value={value}>
              {label}
            </option>
          ))}
        </select>
      </label>
      <label className="choice">
        <input
          type="checkbox"
          role="switch"
          checked={params.showArchived}
          onChange={(event) => {
            onChange({ ...params, showArchived: event.target.checked });
          }}
        />
        Show archived
      </label>
    </div>
  );
}
