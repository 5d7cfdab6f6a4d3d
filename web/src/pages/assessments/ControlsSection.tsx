import { useState } from "react";
import { useSearchParams } from "react-router";
import { ControlFiltersForm, type Person } from "./ControlFiltersForm";
import { FamilySection, byFamily } from "./ControlFamilies";
import {
  controlFiltersSearch,
  hasControlFilters,
  matchesControl,
  parseControlFilters,
} from "./controlFilters";
import type { ControlItem } from "./types";

function assigneesOf(controls: readonly ControlItem[]): Person[] {
  const people = new Map<string, Person>();
  for (const control of controls) {
    for (const action of control.actions) {
      if (action.assignee) people.set(action.assignee.id, action.assignee);
    }
  }
  return [...people.values()].sort((a, b) => a.name.localeCompare(b.name));
}

/** The assessment's controls by family, filtered as the URL says. */
export function ControlsSection({
  assessmentId,
  controls,
}: {
  assessmentId: string;
  controls: readonly ControlItem[];
}) {
  const [search, setSearch] = useSearchParams();
  const filters = parseControlFilters(search);
  const filtering = hasControlFilters(filters);
  // Families the person opened or closed; the others are open while filtering, else closed.
  const [toggled, setToggled] = useState<Record<string, boolean>>({});

  const families = byFamily(controls);
  const shown = byFamily(controls.filter((control) => matchesControl(control, filters)));
  const shownCount = shown.reduce((sum, [, list]) => sum + list.length, 0);
  const isExpanded = (family: string) => toggled[family] ?? filtering;

  function setAll(expanded: boolean) {
    setToggled(Object.fromEntries(families.map(([family]) => [family, expanded])));
  }

  return (
    <section aria-labelledby="controls-heading">
      <h2 id="controls-heading">Controls</h2>
      <ControlFiltersForm
        filters={filters}
        families={families.map(([family]) => family)}
        assignees={assigneesOf(controls)}
        onChange={(next) => {
          setSearch(controlFiltersSearch(next), { replace: true });
        }}
      />
      <div className="toolbar">
        <p role="status" className="muted">
          {filtering
            ? `${shownCount} of ${controls.length} controls match the filters`
            : `${controls.length} controls in ${families.length} families`}
        </p>
        <button
          type="button"
          onClick={() => {
            setAll(true);
          }}
        >
          Expand all
        </button>
        <button
          type="button"
          onClick={() => {
            setAll(false);
          }}
        >
          Collapse all
        </button>
      </div>
      {controls.length === 0 ? (
        <p>This assessment has no controls.</p>
      ) : shown.length === 0 ? (
        <p>No control matches these filters. Clear a filter to see more.</p>
      ) : (
        shown.map(([family, list]) => (
          <FamilySection
            key={family}
            family={family}
            controls={list}
            assessmentId={assessmentId}
            expanded={isExpanded(family)}
            onToggle={() => {
              setToggled((current) => ({ ...current, [family]: !isExpanded(family) }));
            }}
          />
        ))
      )}
    </section>
  );
}
