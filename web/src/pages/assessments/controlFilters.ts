import type { ControlStatus, TestStatus } from "../../gql/graphql";
import { TEST_STATUSES } from "../../format";
import { CONTROL_STATUSES } from "./labels";

/** The assessment page's control filters, kept in the URL. */
export interface ControlFilters {
  families: string[];
  /** Control names or articles (key or title); a control matching any of them is shown. */
  terms: string[];
  status: ControlStatus | null;
  /** A user id, or UNASSIGNED. */
  assignee: string | null;
  testStatus: TestStatus | null;
}

export const UNASSIGNED = "none";

export interface FilterableControl {
  key: string;
  family: string;
  title: string;
  status: ControlStatus;
  actions: readonly { testStatus: TestStatus; assignee?: { id: string } | null }[];
}

/** "AC-2, access review" → ["AC-2", "access review"]. */
export function splitTerms(text: string): string[] {
  return text
    .split(",")
    .map((term) => term.trim())
    .filter(Boolean);
}

export function parseControlFilters(search: URLSearchParams): ControlFilters {
  const status = search.get("status");
  const test = search.get("test");
  const assignee = search.get("assignee");
  return {
    families: search.getAll("family").filter(Boolean),
    terms: splitTerms(search.get("q") ?? ""),
    status: CONTROL_STATUSES.find((value) => value === status) ?? null,
    assignee: assignee === "" ? null : assignee,
    testStatus: TEST_STATUSES.find((value) => value === test) ?? null,
  };
}

export function controlFiltersSearch(filters: ControlFilters): URLSearchParams {
  const search = new URLSearchParams();
  for (const family of filters.families) search.append("family", family);
  if (filters.terms.length) search.set("q", filters.terms.join(", "));
  if (filters.status) search.set("status", filters.status);
  if (filters.assignee) search.set("assignee", filters.assignee);
  if (filters.testStatus) search.set("test", filters.testStatus);
  return search;
}

export function hasControlFilters(filters: ControlFilters): boolean {
  return (
    filters.families.length > 0 ||
    filters.terms.length > 0 ||
    filters.status !== null ||
    filters.assignee !== null ||
    filters.testStatus !== null
  );
}

export function matchesControl(control: FilterableControl, filters: ControlFilters): boolean {
  if (filters.families.length && !filters.families.includes(control.family)) return false;
  if (filters.terms.length) {
    const text = `${control.key} ${control.title}`.toLowerCase();
    if (!filters.terms.some((term) => text.includes(term.toLowerCase()))) return false;
  }
  if (filters.status && control.status !== filters.status) return false;
  const { assignee, testStatus } = filters;
  if (assignee) {
    const wanted = (action: FilterableControl["actions"][number]) =>
      assignee === UNASSIGNED ? !action.assignee : action.assignee?.id === assignee;
    if (!control.actions.some(wanted)) return false;
  }
  if (testStatus && !control.actions.some((action) => action.testStatus === testStatus)) {
    return false;
  }
  return true;
}
