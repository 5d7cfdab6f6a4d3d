import { useId } from "react";
import { ownerLabel } from "../../format";
import type { ActionOwner } from "../../gql/graphql";
import { FilterPopup, type FilterPopupState } from "./FilterPopup";

const OWNERS: readonly ActionOwner[] = ["CUSTOMER", "PROVIDER"];

/** Whose actions: the organisation's own, the provider's, or both. */
export function OwnerFilter({
  owner,
  onChange,
  popup,
}: {
  owner: ActionOwner | null;
  onChange: (owner: ActionOwner | null) => void;
  popup: FilterPopupState;
}) {
  const id = useId();
  const choices: { value: ActionOwner | null; label: string }[] = [
    { value: null, label: "Both" },
    ...OWNERS.map((value) => ({ value, label: ownerLabel(value, value) })),
  ];
  return (
    <FilterPopup
      {...popup}
      summary={
        <>
          Owner
          {owner && <span className="al-filter-count"> (1)</span>}
        </>
      }
    >
      <fieldset className="al-filter-panel">
        <legend className="visually-hidden">Owner</legend>
        {choices.map((choice) => (
          <label key={choice.label} className="al-check">
            <input
              type="radio"
              name={`${id}-owner`}
              checked={owner === choice.value}
              onChange={() => {
                onChange(choice.value);
              }}
            />
            {choice.label}
          </label>
        ))}
      </fieldset>
    </FilterPopup>
  );
}
