import { useQuery } from "@apollo/client/react";
import { useCallback, useId, useState, type SubmitEvent } from "react";
import {
  DUE_STATES,
  dueStateLabel,
  IMPLEMENTATION_STATUSES,
  IMPLEMENTATION_TYPES,
  implementationLabel,
  implementationTypeLabel,
  TEST_STATUSES,
  testLabel,
} from "../../format";
import type {
  DueState,
  ImplementationStatus,
  ImplementationType,
  TestStatus,
} from "../../gql/graphql";
import { AssigneeFilter } from "./AssigneeFilter";
import { ActionFilterOptionsQuery } from "./documents";
import { FilterChecklist, type FilterOption } from "./FilterChecklist";
import type { FilterPopupState } from "./FilterPopup";
import { hasActionFilters, withoutFilters, type ActionListParams } from "./listParams";
import { OwnerFilter } from "./OwnerFilter";

const breakdownOptions = (rows: readonly { key: string; label: string }[] | undefined) =>
  (rows ?? []).map((row) => ({ value: row.key, label: row.label }));
const nodeOptions = (nodes: readonly { id: string; name: string }[] | undefined) =>
  (nodes ?? []).map((node) => ({ value: node.id, label: node.name }));

/** The filter pane: every filter writes the URL, which the list reads. */
export function ActionFilters({
  params,
  onChange,
  showAssignee,
  maySearchPeople,
}: {
  params: ActionListParams;
  onChange: (patch: Partial<ActionListParams>) => void;
  /** False on My action items, where the assignee is fixed. */
  showAssignee: boolean;
  maySearchPeople: boolean;
}) {
  const id = useId();
  const { data, error } = useQuery(ActionFilterOptionsQuery);
  const score = data?.complianceScore;
  const set = onChange;
  const [openFilter, setOpenFilter] = useState<string | null>(null);
  const close = useCallback((name: string) => {
    setOpenFilter((current) => (current === name ? null : current));
  }, []);
  // One pop-up at a time: opening a filter closes the one that was open.
  const popup = (name: string): FilterPopupState => ({
    open: openFilter === name,
    onOpenChange: (open) => {
      if (open) setOpenFilter(name);
      else close(name);
    },
  });

  // A test status filter, or asking for retest due (passed) actions, decides on passed ones.
  const decided = params.testStatuses.length > 0 || params.retestDue;
  const testOptions: FilterOption[] = TEST_STATUSES.map((status) => ({
    value: status,
    label: testLabel(status),
  }));
  const implementationOptions: FilterOption[] = IMPLEMENTATION_STATUSES.map((status) => ({
    value: status,
    label: implementationLabel(status),
  }));
  const dueOptions: FilterOption[] = DUE_STATES.map((state) => ({
    value: state,
    label: dueStateLabel(state),
  }));
  const typeOptions: FilterOption[] = IMPLEMENTATION_TYPES.map((type) => ({
    value: type,
    label: implementationTypeLabel(type),
  }));

  return (
    <section className="al-filters" aria-labelledby={`${id}-heading`}>
      <h2 id={`${id}-heading`} className="visually-hidden">
        Filters
      </h2>
      <SearchForm
        key={params.search}
        initial={params.search}
        onSearch={(search) => {
          setOpenFilter(null);
          set({ search });
        }}
      />
      <div className="al-filter-bar">
        <FilterChecklist
          label="Regulation"
          popup={popup("Regulation")}
          options={breakdownOptions(score?.byRegulation)}
          selected={params.regulationIds}
          onChange={(regulationIds) => {
            set({ regulationIds });
          }}
        />
        <FilterChecklist
          label="Solution"
          popup={popup("Solution")}
          options={breakdownOptions(score?.bySolution)}
          selected={params.solutions}
          onChange={(solutions) => {
            set({ solutions });
          }}
        />
        <FilterChecklist
          label="Group"
          popup={popup("Group")}
          options={nodeOptions(data?.groups.nodes)}
          selected={params.groupIds}
          onChange={(groupIds) => {
            set({ groupIds });
          }}
        />
        <FilterChecklist
          label="Assessment"
          popup={popup("Assessment")}
          options={nodeOptions(data?.assessments.nodes)}
          selected={params.assessmentIds}
          onChange={(assessmentIds) => {
            set({ assessmentIds });
          }}
          emptyText="No assessments yet: create one from a template."
        />
        <FilterChecklist
          label="Category"
          popup={popup("Category")}
          options={breakdownOptions(score?.byCategory)}
          selected={params.categories}
          onChange={(categories) => {
            set({ categories });
          }}
        />
        <OwnerFilter
          owner={params.owner}
          onChange={(owner) => {
            set({ owner });
          }}
          popup={popup("Owner")}
        />
        <FilterChecklist
          label="Action type"
          popup={popup("Action type")}
          options={typeOptions}
          selected={params.implementationTypes}
          onChange={(values) => {
            set({ implementationTypes: values as ImplementationType[] });
          }}
        />
        <FilterChecklist
          label="Implementation status"
          popup={popup("Implementation status")}
          options={implementationOptions}
          selected={params.implementationStatuses}
          onChange={(values) => {
            set({ implementationStatuses: values as ImplementationStatus[] });
          }}
        />
        <FilterChecklist
          label="Test status"
          popup={popup("Test status")}
          options={testOptions}
          selected={params.testStatuses}
          onChange={(values) => {
            set({ testStatuses: values as TestStatus[] });
          }}
        />
        <FilterChecklist
          label="Due date"
          popup={popup("Due date")}
          options={dueOptions}
          selected={params.dueStates}
          onChange={(values) => {
            set({ dueStates: values as DueState[] });
          }}
        />
        {showAssignee && (
          <AssigneeFilter
            params={params}
            onChange={onChange}
            maySearchPeople={maySearchPeople}
            popup={popup("Assigned to")}
          />
        )}
      </div>
      <div className="al-filter-switches">
        <label className="al-check">
          <input
            type="checkbox"
            checked={params.pendingUpdate}
            onChange={(event) => {
              set({ pendingUpdate: event.target.checked });
            }}
          />
          Only pending updates
        </label>
        <label className="al-check">
          <input
            type="checkbox"
            checked={params.retestDue}
            onChange={(event) => {
              set({ retestDue: event.target.checked });
            }}
          />
          Only retest due
        </label>
        <label className="al-check">
          <input
            type="checkbox"
            checked={
              params.showPassed || params.retestDue || params.testStatuses.includes("PASSED")
            }
            disabled={decided}
            aria-describedby={decided ? `${id}-passed-hint` : undefined}
            onChange={(event) => {
              set({ showPassed: event.target.checked });
            }}
          />
          Show passed actions
        </label>
        {decided && (
          <span id={`${id}-passed-hint`} className="muted">
            {params.testStatuses.length > 0
              ? "(the test status filter decides)"
              : "(retest due actions are passed ones)"}
          </span>
        )}
        <button
          type="button"
          disabled={!hasActionFilters(params)}
          onClick={() => {
            setOpenFilter(null);
            set(withoutFilters());
          }}
        >
          Clear all filters
        </button>
      </div>
      {error && (
        <p role="alert" className="form-error">
          The filter choices could not be loaded: {error.message}
        </p>
      )}
    </section>
  );
}

function SearchForm({ initial, onSearch }: { initial: string; onSearch: (text: string) => void }) {
  const id = useId();
  const [text, setText] = useState(initial);
  function handleSubmit(event: SubmitEvent<HTMLFormElement>) {
    event.preventDefault();
    onSearch(text);
  }
  return (
    <form role="search" className="al-search-form" onSubmit={handleSubmit}>
      <label htmlFor={`${id}-q`}>Search by title, key or guidance</label>
      <div className="al-search-row">
        <input
          id={`${id}-q`}
          type="search"
          value={text}
          onChange={(event) => {
            setText(event.target.value);
          }}
        />
        <button type="submit">Search</button>
      </div>
    </form>
  );
}
