import { useId } from "react";
import { FilterPopup, type FilterPopupState } from "./FilterPopup";

export interface FilterOption {
  value: string;
  label: string;
}

/** One filter of the pane: a disclosure holding a checkbox per choice. */
export function FilterChecklist({
  label,
  options,
  selected,
  onChange,
  emptyText = "Nothing to choose from yet.",
  popup,
}: {
  label: string;
  options: readonly FilterOption[];
  selected: readonly string[];
  onChange: (values: string[]) => void;
  emptyText?: string;
  popup: FilterPopupState;
}) {
  const id = useId();
  const chosen = new Set(selected);
  // Values in the URL that the options no longer list stay visible, so they can be removed.
  const shown = [
    ...options,
    ...selected
      .filter((value) => !options.some((option) => option.value === value))
      .map((value) => ({ value, label: value })),
  ];
  return (
    <FilterPopup
      {...popup}
      summary={
        <>
          {label}
          {selected.length > 0 && <span className="al-filter-count"> ({selected.length})</span>}
        </>
      }
    >
      <fieldset className="al-filter-panel">
        <legend className="visually-hidden">{label}</legend>
        {shown.length === 0 && <p className="muted">{emptyText}</p>}
        {shown.map((option, index) => (
          <label key={option.value} className="al-check" htmlFor={`${id}-${index}`}>
            <input
              id={`${id}-${index}`}
              type="checkbox"
              checked={chosen.has(option.value)}
              onChange={(event) => {
                onChange(
                  event.target.checked
                    ? [...selected, option.value]
                    : selected.filter((value) => value !== option.value),
                );
              }}
            />
            {option.label}
          </label>
        ))}
        {selected.length > 0 && (
          <button
            type="button"
            className="al-link-button"
            onClick={() => {
              onChange([]);
            }}
          >
            Clear {label.toLowerCase()}
          </button>
        )}
      </fieldset>
    </FilterPopup>
  );
}
