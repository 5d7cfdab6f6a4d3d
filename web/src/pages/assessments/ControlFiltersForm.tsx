import { useState } from "react";
import { controlStatusLabel, TEST_STATUSES, testLabel } from "../../format";
import type { ControlStatus, TestStatus } from "../../gql/graphql";
import { UNASSIGNED, hasControlFilters, splitTerms, type ControlFilters } from "./controlFilters";
import { CONTROL_STATUSES } from "./labels";

export interface Person {
  id: string;
  name: string;
}

/** Family, control name or article (several, comma separated), status, assignee, test result. */
export function ControlFiltersForm({
  filters,
  families,
  assignees,
  onChange,
}: {
  filters: ControlFilters;
  families: readonly string[];
  assignees: readonly Person[];
  onChange: (next: ControlFilters) => void;
}) {
  // The text as typed (with its commas); the URL keeps the parsed terms.
  const [text, setText] = useState(filters.terms.join(", "));

  return (
    <div className="assessments-filters" role="group" aria-label="Filter the controls">
      <label className="wide">
        Control name or article
        <input
          type="search"
          value={text}
          placeholder="e.g. AC-2, access review"
          aria-describedby="control-terms-hint"
          onChange={(event) => {
            setText(event.target.value);
            onChange({ ...filters, terms: splitTerms(event.target.value) });
          }}
        />
        <span id="control-terms-hint" className="hint">
          Separate several with commas.
        </span>
      </label>
      <label>
        Family
        <select
          value={filters.families[0] ?? ""}
          onChange={(event) => {
            onChange({ ...filters, families: event.target.value ? [event.target.value] : [] });
          }}
        >
          <option value="">All families</option>
          {families.map((family) => (
            <option key={family} value={family}>
              {family}
            </option>
          ))}
        </select>
      </label>
      <label>
        Control status
        <select
          value={filters.status ?? ""}
          onChange={(event) => {
            const value = event.target.value;
            onChange({
              ...filters,
              status: CONTROL_STATUSES.find((status: ControlStatus) => status === value) ?? null,
            });
          }}
        >
          <option value="">Any status</option>
          {CONTROL_STATUSES.map((status) => (
            <option key={status} value={status}>
              {controlStatusLabel(status)}
            </option>
          ))}
        </select>
      </label>
      <label>
        Assigned to
        <select
          value={filters.assignee ?? ""}
          onChange={(event) => {
            onChange({ ...filters, assignee: event.target.value || null });
          }}
        >
          <option value="">Anyone</option>
          <option value={UNASSIGNED}>Unassigned</option>
          {assignees.map((person) => (
            <option key={person.id} value={person.id}>
              {person.name}
            </option>
          ))}
        </select>
      </label>
      <label>
        Test result
        <select
          value={filters.testStatus ?? ""}
          onChange={(event) => {
            const value = event.target.value;
            onChange({
              ...filters,
              testStatus: TEST_STATUSES.find((status: TestStatus) => status === value) ?? null,
            });
          }}
        >
          <option value="">Any result</option>
          {TEST_STATUSES.map((status) => (
            <option key={status} value={status}>
              {testLabel(status)}
            </option>
          ))}
        </select>
      </label>
      {hasControlFilters(filters) && (
        <button
          type="button"
          onClick={() => {
            setText("");
            onChange({ families: [], terms: [], status: null, assignee: null, testStatus: null });
          }}
        >
          Clear filters
        </button>
      )}
    </div>
  );
}
