import { skipToken, useQuery } from "@apollo/client/react";
import { PersonPicker } from "../../components/PersonPicker";
import { AssigneeNamesQuery } from "./documents";
import { FilterPopup, type FilterPopupState } from "./FilterPopup";
import type { ActionListParams } from "./listParams";

/** "Assigned to": people found by search (contributors and up), or only unassigned actions. */
export function AssigneeFilter({
  params,
  onChange,
  maySearchPeople,
  popup,
}: {
  params: ActionListParams;
  onChange: (patch: Partial<ActionListParams>) => void;
  maySearchPeople: boolean;
  popup: FilterPopupState;
}) {
  const ids = params.assigneeIds;
  const { data, error } = useQuery(
    AssigneeNamesQuery,
    ids.length === 0 ? skipToken : { variables: { ids } },
  );
  const names = new Map<string, string>();
  for (const node of data?.nodes ?? []) {
    if (node?.__typename === "User") names.set(node.id, node.name);
  }
  const count = ids.length + (params.unassigned ? 1 : 0);

  return (
    <FilterPopup
      {...popup}
      summary={
        <>
          Assigned to
          {count > 0 && <span className="al-filter-count"> ({count})</span>}
        </>
      }
    >
      <div className="al-filter-panel al-assignee-panel">
        {ids.length > 0 && (
          <ul className="al-chips" aria-label="Chosen assignees">
            {ids.map((id) => {
              const name = names.get(id) ?? (error ? "Unknown person" : "…");
              return (
                <li key={id}>
                  {name}
                  <button
                    type="button"
                    className="al-link-button"
                    aria-label={`Remove ${name} from the assignee filter`}
                    onClick={() => {
                      onChange({
                        assigneeIds: ids.filter((other) => other !== id),
                      });
                    }}
                  >
                    Remove
                  </button>
                </li>
              );
            })}
          </ul>
        )}
        {maySearchPeople && (
          <PersonPicker
            label="Add a person"
            value={null}
            onChange={(person) => {
              if (person && !ids.includes(person.id)) {
                onChange({
                  assigneeIds: [...ids, person.id],
                  unassigned: false,
                });
              }
            }}
          />
        )}
        {!maySearchPeople && (
          <p className="muted">Finding people by name needs contributor access.</p>
        )}
        <label className="al-check">
          <input
            type="checkbox"
            checked={params.unassigned}
            onChange={(event) => {
              onChange({
                unassigned: event.target.checked,
                assigneeIds: event.target.checked ? [] : ids,
              });
            }}
          />
          Only unassigned actions
        </label>
        {error && (
          <p role="alert" className="form-error">
            The chosen people could not be named: {error.message}
          </p>
        )}
      </div>
    </FilterPopup>
  );
}
