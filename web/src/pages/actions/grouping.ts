import type { ActionRowFragment } from "../../gql/graphql";
import type { ActionGroupBy } from "./listParams";

export interface ActionSection {
  key: string;
  label: string;
  rows: ActionRowFragment[];
  /** Points the score gains when every action of the section is done. */
  remaining: number;
  earned: number;
  possible: number;
}

interface Key {
  key: string;
  label: string;
}

const NONE_KEY = "";

/** The sections an action belongs to; one shared by several assessments is in each of theirs. */
function keysOf(row: ActionRowFragment, groupBy: Exclude<ActionGroupBy, "none">): Key[] {
  const distinct = (keys: Key[]) => [...new Map(keys.map((k) => [k.key, k])).values()];
  switch (groupBy) {
    case "solution":
      return [{ key: row.solution, label: row.solution }];
    case "category":
      return [{ key: row.category, label: row.category }];
    case "assessment":
      return distinct(row.assessments.map((a) => ({ key: a.id, label: a.name })));
    case "regulation":
      return distinct(
        row.assessments.map((a) => ({
          key: a.regulation.id,
          label: a.regulation.name,
        })),
      );
    case "group":
      return distinct(row.assessments.map((a) => ({ key: a.group.id, label: a.group.name })));
  }
}

export function remainingPoints(row: ActionRowFragment): number {
  return Math.max(0, row.score.possible - row.score.earned);
}

/** The page's rows in sections, by section name, each with its subtotals. */
export function groupActions(
  rows: readonly ActionRowFragment[],
  groupBy: ActionGroupBy,
): ActionSection[] {
  if (groupBy === "none") {
    return [section({ key: NONE_KEY, label: "" }, rows)];
  }
  const byKey = new Map<string, { label: string; rows: ActionRowFragment[] }>();
  for (const row of rows) {
    const keys = keysOf(row, groupBy);
    for (const { key, label } of keys.length ? keys : [{ key: NONE_KEY, label: "None" }]) {
      const entry = byKey.get(key) ?? { label, rows: [] };
      entry.rows.push(row);
      byKey.set(key, entry);
    }
  }
  return [...byKey]
    .map(([key, entry]) => section({ key, label: entry.label }, entry.rows))
    .sort((a, b) => a.label.localeCompare(b.label));
}

function section({ key, label }: Key, rows: readonly ActionRowFragment[]): ActionSection {
  return {
    key,
    label,
    rows: [...rows],
    remaining: rows.reduce((sum, row) => sum + remainingPoints(row), 0),
    earned: rows.reduce((sum, row) => sum + row.score.earned, 0),
    possible: rows.reduce((sum, row) => sum + row.score.possible, 0),
  };
}
