import type { AlertFilter, AlertStatus, EventType, Severity } from "../../gql/graphql";
import { ALERT_STATUSES, EVENT_TYPES, SEVERITIES } from "./labels";

// The list's filters live in the query string, so a link or a bookmark opens the same view:
// ?status=ACTIVE&status=INVESTIGATING&severity=HIGH&policy=<id>&type=SCORE_CHANGE
// &assignee=<user id>&from=2026-01-31&to=2026-02-28 (dates inclusive, local time).

export interface ListFilters {
  statuses: AlertStatus[];
  severities: Severity[];
  policyId: string;
  eventType: EventType | "";
  assigneeId: string;
  from: string;
  to: string;
}

function pick<T extends string>(values: readonly string[], allowed: readonly T[]): T[] {
  return allowed.filter((value) => values.includes(value));
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;

export function readFilters(params: URLSearchParams): ListFilters {
  const type = params.get("type") ?? "";
  const from = params.get("from") ?? "";
  const to = params.get("to") ?? "";
  return {
    statuses: pick(params.getAll("status"), ALERT_STATUSES),
    severities: pick(params.getAll("severity"), SEVERITIES),
    policyId: params.get("policy") ?? "",
    eventType: EVENT_TYPES.find((value) => value === type) ?? "",
    assigneeId: params.get("assignee") ?? "",
    from: DATE.test(from) ? from : "",
    to: DATE.test(to) ? to : "",
  };
}

export function writeFilters(filters: ListFilters): URLSearchParams {
  const params = new URLSearchParams();
  for (const status of filters.statuses) params.append("status", status);
  for (const severity of filters.severities) params.append("severity", severity);
  if (filters.policyId) params.set("policy", filters.policyId);
  if (filters.eventType) params.set("type", filters.eventType);
  if (filters.assigneeId) params.set("assignee", filters.assigneeId);
  if (filters.from) params.set("from", filters.from);
  if (filters.to) params.set("to", filters.to);
  return params;
}

export function hasFilters(filters: ListFilters): boolean {
  return writeFilters(filters).size > 0;
}

/** Midnight at the start of a local calendar day, as an ISO instant. */
function startOfDay(date: string, addDays = 0): string {
  const [year = 0, month = 1, day = 1] = date.split("-").map(Number);
  return new Date(year, month - 1, day + addDays).toISOString();
}

export function toAlertFilter(filters: ListFilters): AlertFilter {
  return {
    statuses: filters.statuses.length > 0 ? filters.statuses : null,
    severities: filters.severities.length > 0 ? filters.severities : null,
    policyIds: filters.policyId ? [filters.policyId] : null,
    eventTypes: filters.eventType ? [filters.eventType] : null,
    assigneeIds: filters.assigneeId ? [filters.assigneeId] : null,
    detectedAfter: filters.from ? startOfDay(filters.from) : null,
    detectedBefore: filters.to ? startOfDay(filters.to, 1) : null,
  };
}
