import type { ActionGroupBy } from "./listParams";

export const groupByLabels: Record<ActionGroupBy, string> = {
  none: "No grouping",
  regulation: "Regulation",
  solution: "Solution",
  category: "Category",
  assessment: "Assessment",
  group: "Group",
};
