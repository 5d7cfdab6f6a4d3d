import {
  DUE_STATES,
  IMPLEMENTATION_STATUSES,
  IMPLEMENTATION_TYPES,
  TEST_STATUSES,
} from "../../format";
import type {
  ActionOwner,
  DueState,
  ImplementationStatus,
  ImplementationType,
  ImprovementActionFilter,
  ImprovementActionOrder,
  ImprovementActionOrderField,
  OrderDirection,
  TestStatus,
} from "../../gql/graphql";

/**
 * The improvement actions list's state lives in the URL (`/actions?regulation=…&sort=…`), so
 * a filtered list can be bookmarked, shared, and walked with next/previous from an action's
 * details page (`/actions/:id?list=<the list's query string>`).
 */
export interface ActionListParams {
  assessmentIds: string[];
  groupIds: string[];
  regulationIds: string[];
  solutions: string[];
  categories: string[];
  implementationTypes: ImplementationType[];
  implementationStatuses: ImplementationStatus[];
  testStatuses: TestStatus[];
  assigneeIds: string[];
  /** Overdue, due soon, on track, or without a due date (each OR the others). */
  dueStates: DueState[];
  /** Only passed actions whose retest day has come (passed ones shown for it). */
  retestDue: boolean;
  /** Only the organisation's own actions, or only the provider's; null for both. */
  owner: ActionOwner | null;
  unassigned: boolean;
  pendingUpdate: boolean;
  search: string;
  /**
   * Passed actions are hidden unless this is on (or a test status filter decides, or the
   * retest due filter asks for passed ones).
   */
  showPassed: boolean;
  sort: ImprovementActionOrderField;
  direction: OrderDirection;
  groupBy: ActionGroupBy;
}

export type ActionGroupBy =
  "none" | "regulation" | "solution" | "category" | "assessment" | "group";

const SORT_FIELDS: readonly ImprovementActionOrderField[] = [
  "KEY",
  "TITLE",
  "CATEGORY",
  "POINTS",
  "IMPLEMENTATION_STATUS",
  "TEST_STATUS",
  "UPDATED_AT",
];
const OWNERS: readonly ActionOwner[] = ["CUSTOMER", "PROVIDER"];
const GROUP_BYS: readonly ActionGroupBy[] = [
  "none",
  "regulation",
  "solution",
  "category",
  "assessment",
  "group",
];

// URL key for each list-valued filter.
const LIST_KEYS = {
  assessmentIds: "assessment",
  groupIds: "group",
  regulationIds: "regulation",
  solutions: "solution",
  categories: "category",
  implementationTypes: "type",
  implementationStatuses: "implementation",
  testStatuses: "test",
  assigneeIds: "assignee",
  dueStates: "due",
} as const;

function oneOf<T extends string>(value: string | null, allowed: readonly T[], fallback: T): T {
  return allowed.find((item) => item === value) ?? fallback;
}

/** The values the API knows: an edited or old URL must not break the whole list. */
function known<T extends string>(values: string[], allowed: readonly T[]): T[] {
  return values.filter((value): value is T => (allowed as readonly string[]).includes(value));
}

export function parseActionListParams(search: URLSearchParams): ActionListParams {
  const all = (key: string) => search.getAll(key).filter((value) => value !== "");
  return {
    assessmentIds: all(LIST_KEYS.assessmentIds),
    groupIds: all(LIST_KEYS.groupIds),
    regulationIds: all(LIST_KEYS.regulationIds),
    solutions: all(LIST_KEYS.solutions),
    categories: all(LIST_KEYS.categories),
    implementationTypes: known(all(LIST_KEYS.implementationTypes), IMPLEMENTATION_TYPES),
    implementationStatuses: known(all(LIST_KEYS.implementationStatuses), IMPLEMENTATION_STATUSES),
    testStatuses: known(all(LIST_KEYS.testStatuses), TEST_STATUSES),
    assigneeIds: all(LIST_KEYS.assigneeIds),
    dueStates: known(all(LIST_KEYS.dueStates), DUE_STATES),
    retestDue: search.get("retest") === "1",
    owner: OWNERS.find((owner) => owner === search.get("owner")) ?? null,
    unassigned: search.get("unassigned") === "1",
    pendingUpdate: search.get("pending") === "1",
    search: search.get("q") ?? "",
    showPassed: search.get("passed") === "1",
    sort: oneOf(search.get("sort"), SORT_FIELDS, "KEY"),
    direction: search.get("dir") === "DESC" ? "DESC" : "ASC",
    groupBy: oneOf(search.get("groupBy"), GROUP_BYS, "none"),
  };
}

export function actionListSearch(params: ActionListParams): URLSearchParams {
  const search = new URLSearchParams();
  for (const [field, key] of Object.entries(LIST_KEYS)) {
    for (const value of params[field as keyof typeof LIST_KEYS]) search.append(key, value);
  }
  if (params.owner) search.set("owner", params.owner);
  if (params.unassigned) search.set("unassigned", "1");
  if (params.retestDue) search.set("retest", "1");
  if (params.pendingUpdate) search.set("pending", "1");
  if (params.search.trim()) search.set("q", params.search.trim());
  if (params.showPassed) search.set("passed", "1");
  if (params.sort !== "KEY") search.set("sort", params.sort);
  if (params.direction !== "ASC") search.set("dir", params.direction);
  if (params.groupBy !== "none") search.set("groupBy", params.groupBy);
  return search;
}

/** Whether the list leaves passed actions out (no test status or retest filter decides). */
export function hidesPassed(params: ActionListParams): boolean {
  return !params.showPassed && params.testStatuses.length === 0 && !params.retestDue;
}

/** The API's filter for the list: passed actions left out unless shown or asked for. */
export function actionListFilter(params: ActionListParams): ImprovementActionFilter {
  const filter: ImprovementActionFilter = {};
  if (params.assessmentIds.length) filter.assessmentIds = params.assessmentIds;
  if (params.groupIds.length) filter.groupIds = params.groupIds;
  if (params.regulationIds.length) filter.regulationIds = params.regulationIds;
  if (params.solutions.length) filter.solutions = params.solutions;
  if (params.categories.length) filter.categories = params.categories;
  if (params.implementationTypes.length) filter.implementationTypes = params.implementationTypes;
  if (params.implementationStatuses.length) {
    filter.implementationStatuses = params.implementationStatuses;
  }
  if (params.testStatuses.length) filter.testStatuses = params.testStatuses;
  else if (hidesPassed(params)) filter.excludeTestStatuses = ["PASSED"];
  if (params.dueStates.length) filter.dueStates = params.dueStates;
  if (params.retestDue) filter.retestDue = true;
  if (params.assigneeIds.length) filter.assigneeIds = params.assigneeIds;
  if (params.owner) filter.owner = params.owner;
  if (params.unassigned) filter.unassigned = true;
  if (params.pendingUpdate) filter.pendingUpdate = true;
  if (params.search.trim()) filter.search = params.search.trim();
  return filter;
}

/** Every filter off; the layout (group, sort) and the passed actions switch stay. */
export function withoutFilters(): Partial<ActionListParams> {
  return {
    assessmentIds: [],
    groupIds: [],
    regulationIds: [],
    solutions: [],
    categories: [],
    implementationTypes: [],
    implementationStatuses: [],
    testStatuses: [],
    assigneeIds: [],
    dueStates: [],
    retestDue: false,
    owner: null,
    unassigned: false,
    pendingUpdate: false,
    search: "",
  };
}

export function hasActionFilters(params: ActionListParams): boolean {
  return (
    (Object.keys(LIST_KEYS) as (keyof typeof LIST_KEYS)[]).some(
      (field) => params[field].length > 0,
    ) ||
    params.owner !== null ||
    params.unassigned ||
    params.retestDue ||
    params.pendingUpdate ||
    params.search.trim() !== ""
  );
}

/** One assessment's actions of one owner, passed ones included (the assessments' counts). */
export function assessmentActionsPath(assessmentId: string, owner: ActionOwner): string {
  const params: ActionListParams = {
    ...parseActionListParams(new URLSearchParams()),
    assessmentIds: [assessmentId],
    owner,
    showPassed: true,
  };
  return `/actions?${actionListSearch(params).toString()}`;
}

export function actionListOrder(params: ActionListParams): ImprovementActionOrder {
  return { field: params.sort, direction: params.direction };
}

/** The details page's link for an action opened from a list with these parameters. */
export function actionDetailsPath(actionId: string, listSearch: URLSearchParams): string {
  const list = listSearch.toString();
  const path = `/actions/${encodeURIComponent(actionId)}`;
  return list ? `${path}?${new URLSearchParams({ list }).toString()}` : path;
}
