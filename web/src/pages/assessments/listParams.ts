import type { AssessmentFilter } from "../../gql/graphql";

/** The assessments list's state, kept in the URL so a view can be bookmarked and shared. */
export interface AssessmentListParams {
  regulationIds: string[];
  groupIds: string[];
  showArchived: boolean;
  groupBy: AssessmentGroupBy;
}

export type AssessmentGroupBy = "none" | "group" | "product" | "regulation";

export const GROUP_BY_LABELS: Record<AssessmentGroupBy, string> = {
  none: "Nothing",
  group: "Group",
  product: "Product",
  regulation: "Regulation",
};

const GROUP_BYS = Object.keys(GROUP_BY_LABELS) as AssessmentGroupBy[];

export function parseListParams(search: URLSearchParams): AssessmentListParams {
  const groupBy = search.get("groupBy");
  return {
    regulationIds: search.getAll("regulation").filter(Boolean),
    groupIds: search.getAll("group").filter(Boolean),
    showArchived: search.get("archived") === "1",
    groupBy: GROUP_BYS.find((value) => value === groupBy) ?? "none",
  };
}

export function listSearch(params: AssessmentListParams): URLSearchParams {
  const search = new URLSearchParams();
  for (const id of params.regulationIds) search.append("regulation", id);
  for (const id of params.groupIds) search.append("group", id);
  if (params.showArchived) search.set("archived", "1");
  if (params.groupBy !== "none") search.set("groupBy", params.groupBy);
  return search;
}

export function listFilter(params: AssessmentListParams): AssessmentFilter {
  return {
    archived: params.showArchived ? null : false,
    regulationIds: params.regulationIds.length ? params.regulationIds : null,
    groupIds: params.groupIds.length ? params.groupIds : null,
  };
}
