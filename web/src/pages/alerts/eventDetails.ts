import type { EventType } from "../../gql/graphql";
import { formatDate, formatPoints } from "../../format";
import { statusValueLabel } from "./labels";

// An event's `details` is the JSON the server recorded (see AlertEvent.details in the
// schema); these readers take only what has the expected shape.

type Details = Readonly<Record<string, unknown>>;

function isRecord(value: unknown): value is Details {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function field(details: unknown, ...path: string[]): unknown {
  let value: unknown = details;
  for (const key of path) value = isRecord(value) ? value[key] : undefined;
  return value;
}

function text(details: unknown, ...path: string[]): string | null {
  const value = field(details, ...path);
  return typeof value === "string" && value !== "" ? value : null;
}

function number(details: unknown, ...path: string[]): number | null {
  const value = field(details, ...path);
  return typeof value === "number" && Number.isFinite(value) ? value : null;
}

/** The user ids an assignment event names (from and to), for looking up their names. */
export function assignmentUserIds(details: unknown): string[] {
  return [text(details, "fromUserId"), text(details, "toUserId")].filter(
    (id): id is string => id !== null,
  );
}

const sourceWords: Record<string, string> = {
  IMPORT: "through a spreadsheet import",
  AUTOMATION: "by automatic testing",
  PARENT: "from its parent action",
  UPDATE: "by an accepted update",
  PROVIDER: "as the provider's statement",
};

function count(value: unknown): number {
  if (Array.isArray(value)) return value.length;
  return typeof value === "number" ? value : 0;
}

/** An action definition's update: [{ field, from?, to? }], e.g. POINTS 3 → 5. */
function definitionChanges(changes: unknown): string | null {
  if (!Array.isArray(changes)) return null;
  const parts = changes.flatMap((change: unknown) => {
    const name = text(change, "field");
    if (!name) return [];
    const label = name.toLowerCase().replaceAll("_", " ");
    const from = field(change, "from");
    const to = field(change, "to");
    const shown = (value: unknown) =>
      typeof value === "string" || typeof value === "number" ? String(value) : "none";
    return from === undefined && to === undefined
      ? [label]
      : [`${label} ${shown(from)} → ${shown(to)}`];
  });
  return parts.length > 0 ? `Changes: ${parts.join("; ")}.` : null;
}

/** A template's update: counts of controls and mappings added, removed or changed. */
function templateChanges(changes: unknown): string | null {
  if (!isRecord(changes)) return null;
  const parts = [
    ["controls added", changes.controlsAdded],
    ["controls removed", changes.controlsRemoved],
    ["controls changed", changes.controlsChanged],
    ["mappings added", changes.mappingsAdded],
    ["mappings removed", changes.mappingsRemoved],
  ]
    .map(([label, value]) => [label, count(value)] as const)
    .filter(([, n]) => n > 0)
    .map(([label, n]) => `${n} ${String(label)}`);
  return parts.length > 0 ? `Changes: ${parts.join(", ")}.` : null;
}

export interface EventLine {
  type: EventType;
  details: unknown;
  fromStatus?: string | null;
  toStatus?: string | null;
}

/** What happened, in a sentence or a few. */
export function describeEvent(
  event: EventLine,
  nameOf: (userId: string) => string | null,
): string[] {
  const { details } = event;
  const lines: string[] = [];
  switch (event.type) {
    case "SCORE_CHANGE": {
      const before = number(details, "before", "earned");
      const after = number(details, "after", "earned");
      const possible = number(details, "after", "possible");
      if (before !== null && after !== null) {
        lines.push(
          `Points achieved went from ${formatPoints(before)} to ${formatPoints(after)}` +
            (possible === null ? "." : ` of ${formatPoints(possible)}.`),
        );
      } else {
        lines.push("The action's points achieved changed.");
      }
      break;
    }
    case "IMPLEMENTATION_STATUS_CHANGE":
    case "TEST_STATUS_CHANGE": {
      const what = event.type === "TEST_STATUS_CHANGE" ? "Test status" : "Implementation status";
      const from = event.fromStatus ? statusValueLabel(event.type, event.fromStatus) : "none";
      const to = event.toStatus ? statusValueLabel(event.type, event.toStatus) : "none";
      lines.push(`${what}: ${from} → ${to}.`);
      break;
    }
    case "ASSIGNMENT_CHANGE": {
      const fromId = text(details, "fromUserId");
      const toId = text(details, "toUserId");
      const person = (id: string) => nameOf(id) ?? "a person you cannot see";
      if (toId && fromId) lines.push(`Reassigned from ${person(fromId)} to ${person(toId)}.`);
      else if (toId) lines.push(`Assigned to ${person(toId)}.`);
      else if (fromId) lines.push(`Unassigned from ${person(fromId)}.`);
      else lines.push("Assignment changed.");
      const notes = text(details, "notes");
      if (notes) lines.push(`Notes: ${notes}`);
      break;
    }
    case "EVIDENCE_CHANGE": {
      const change = text(details, "change")?.toLowerCase() ?? "changed";
      const kind = text(details, "kind") === "LINK" ? "link" : "file";
      const name = text(details, "name");
      lines.push(`Evidence ${kind}${name ? ` “${name}”` : ""} ${change}.`);
      break;
    }
    case "UPDATE_AVAILABLE": {
      const target =
        text(details, "kind") === "TEMPLATE" ? "the assessment's template" : "the action";
      const from = number(details, "fromVersion");
      const to = number(details, "toVersion");
      lines.push(
        `A new version of ${target} is available` +
          (from !== null && to !== null ? ` (version ${from} → ${to}).` : "."),
      );
      const changed = definitionChanges(field(details, "changes"));
      if (changed) lines.push(changed);
      const template = templateChanges(field(details, "changes"));
      if (template) lines.push(template);
      break;
    }
    case "DUE_SOON": {
      const due = text(details, "dueDate");
      const left = number(details, "daysLeft");
      lines.push(
        `Due ${due ? formatDate(due) : "soon"}` + (left === null ? "." : ` (${days(left)} left).`),
      );
      break;
    }
    case "OVERDUE": {
      const due = text(details, "dueDate");
      const left = number(details, "daysLeft");
      lines.push(
        `Overdue: it was due ${due ? formatDate(due) : "earlier"}` +
          (left === null ? "." : ` (${days(-left)} ago).`),
      );
      break;
    }
    case "RETEST_DUE": {
      const tested = text(details, "testDate");
      const due = text(details, "retestDueOn");
      lines.push(
        `Retest due${due ? ` on ${formatDate(due)}` : ""}` +
          (tested ? `: it passed on ${formatDate(tested)}.` : "."),
      );
      break;
    }
    case "EVIDENCE_EXPIRING": {
      const name = text(details, "name");
      const reviewBy = text(details, "reviewBy");
      lines.push(
        `Evidence${name ? ` “${name}”` : ""} is to be reviewed` +
          (reviewBy ? ` by ${formatDate(reviewBy)}.` : "."),
      );
      break;
    }
  }
  const source = text(details, "source");
  const via = source ? sourceWords[source] : undefined;
  if (via) lines.push(`Made ${via}.`);
  return lines;
}

function days(n: number): string {
  return n === 1 ? "1 day" : `${n} days`;
}
