import type { ImplementationType, TestingSource } from "../../gql/graphql";
import type { ActionGroupBy } from "./listParams";

export const testingSourceLabels: Record<TestingSource, string> = {
  MANUAL: "Manual",
  AUTOMATIC: "Automatic",
  PARENT: "Parent",
};

export const implementationTypeLabels: Record<ImplementationType, string> = {
  TECHNICAL: "Technical",
  OPERATIONAL: "Operational",
  DOCUMENTATION: "Documentation",
};

export const groupByLabels: Record<ActionGroupBy, string> = {
  none: "No grouping",
  regulation: "Regulation",
  solution: "Solution",
  category: "Category",
  assessment: "Assessment",
  group: "Group",
};
