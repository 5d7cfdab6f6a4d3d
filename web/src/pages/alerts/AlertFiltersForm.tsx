import { skipToken, useQuery } from "@apollo/client/react";
import { AlertFilterOptionsQuery, PeopleSearchQuery } from "./documents";
import {
  ALERT_STATUSES,
  EVENT_TYPES,
  SEVERITIES,
  alertStatusLabel,
  eventTypeLabel,
  severityLabel,
} from "./labels";
import { hasFilters, type ListFilters } from "./listFilters";

const PEOPLE_IN_FILTER = 100;

function toggle<T>(list: readonly T[], value: T, on: boolean): T[] {
  return on ? [...list, value] : list.filter((item) => item !== value);
}

/** The alert list's filter pane; every change applies at once. */
export function AlertFiltersForm({
  filters,
  onChange,
  viewerId,
  mayPickPeople,
}: {
  filters: ListFilters;
  onChange: (next: ListFilters) => void;
  viewerId: string | null;
  mayPickPeople: boolean;
}) {
  const options = useQuery(AlertFilterOptionsQuery);
  const people = useQuery(
    PeopleSearchQuery,
    mayPickPeople ? { variables: { search: null, first: PEOPLE_IN_FILTER } } : skipToken,
  );
  const set = (change: Partial<ListFilters>) => {
    onChange({ ...filters, ...change });
  };
  const others = (people.data?.people.nodes ?? []).filter((person) => person.id !== viewerId);

  return (
    <form
      className="alert-filters"
      aria-label="Filter alerts"
      onSubmit={(event) => {
        event.preventDefault();
      }}
    >
      <fieldset>
        <legend>Status</legend>
        {ALERT_STATUSES.map((status) => (
          <label key={status} className="check">
            <input
              type="checkbox"
              checked={filters.statuses.includes(status)}
              onChange={(event) => {
                set({ statuses: toggle(filters.statuses, status, event.target.checked) });
              }}
            />
            {alertStatusLabel(status)}
          </label>
        ))}
      </fieldset>
      <fieldset>
        <legend>Severity</legend>
        {SEVERITIES.map((severity) => (
          <label key={severity} className="check">
            <input
              type="checkbox"
              checked={filters.severities.includes(severity)}
              onChange={(event) => {
                set({ severities: toggle(filters.severities, severity, event.target.checked) });
              }}
            />
            {severityLabel(severity)}
          </label>
        ))}
      </fieldset>
      <label>
        Policy
        <select
          value={filters.policyId}
          onChange={(event) => {
            set({ policyId: event.target.value });
          }}
        >
          <option value="">Any policy</option>
          {options.data?.alertPolicies.nodes.map((policy) => (
            <option key={policy.id} value={policy.id}>
              {policy.name}
            </option>
          ))}
        </select>
      </label>
      <label>
        Event type
        <select
          value={filters.eventType}
          onChange={(event) => {
            const type = EVENT_TYPES.find((value) => value === event.target.value);
            set({ eventType: type ?? "" });
          }}
        >
          <option value="">Any event</option>
          {EVENT_TYPES.map((type) => (
            <option key={type} value={type}>
              {eventTypeLabel(type)}
            </option>
          ))}
        </select>
      </label>
      <label>
        Assigned to
        <select
          value={filters.assigneeId}
          onChange={(event) => {
            set({ assigneeId: event.target.value });
          }}
        >
          <option value="">Anyone or no one</option>
          {viewerId && <option value={viewerId}>Me</option>}
          {others.map((person) => (
            <option key={person.id} value={person.id}>
              {person.name}
            </option>
          ))}
        </select>
      </label>
      <label>
        Detected from
        <input
          type="date"
          value={filters.from}
          max={filters.to || undefined}
          onChange={(event) => {
            set({ from: event.target.value });
          }}
        />
      </label>
      <label>
        Detected until
        <input
          type="date"
          value={filters.to}
          min={filters.from || undefined}
          onChange={(event) => {
            set({ to: event.target.value });
          }}
        />
      </label>
      <button
        type="button"
        disabled={!hasFilters(filters)}
        onClick={() => {
          onChange({
            statuses: [],
            severities: [],
            policyId: "",
            eventType: "",
            assigneeId: "",
            from: "",
            to: "",
          });
        }}
      >
        Clear filters
      </button>
      {options.error && (
        <p role="alert">Policies could not be loaded for the filter: {options.error.message}</p>
      )}
      {people.error && (
        <p role="alert">People could not be loaded for the filter: {people.error.message}</p>
      )}
    </form>
  );
}
