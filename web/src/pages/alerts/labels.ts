import {
  IMPLEMENTATION_STATUSES,
  implementationLabel,
  isImplementationStatus,
  isTestStatus,
  TEST_STATUSES,
  testLabel,
} from "../../format";
import type {
  AlertKind,
  AlertStatus,
  AlertTrigger,
  EventType,
  OrgRole,
  ScoreDirection,
  Severity,
} from "../../gql/graphql";

// Each record names every value of its enum (the compiler checks), in the order a person
// reads them; the option lists below keep that order.

const severityLabels: Record<Severity, string> = { HIGH: "High", MEDIUM: "Medium", LOW: "Low" };

const statusLabels: Record<AlertStatus, string> = {
  ACTIVE: "Active",
  INVESTIGATING: "Investigating",
  RESOLVED: "Resolved",
  DISMISSED: "Dismissed",
};

const kindLabels: Record<AlertKind, string> = {
  SINGLE_EVENT: "Single event",
  MULTI_EVENT: "Multi-event",
  MULTI_CONDITION: "Multi-condition",
};

const eventTypeLabels: Record<EventType, string> = {
  SCORE_CHANGE: "Score change",
  IMPLEMENTATION_STATUS_CHANGE: "Implementation status change",
  TEST_STATUS_CHANGE: "Test status change",
  ASSIGNMENT_CHANGE: "Assignment change",
  EVIDENCE_CHANGE: "Evidence change",
  UPDATE_AVAILABLE: "Update available",
  DUE_SOON: "Due soon",
  OVERDUE: "Overdue",
  RETEST_DUE: "Retest due",
  EVIDENCE_EXPIRING: "Evidence expiring",
};

const triggerLabels: Record<AlertTrigger, string> = {
  EVERY_MATCH: "Every match",
  THRESHOLD: "Threshold",
};

const directionLabels: Record<ScoreDirection, string> = {
  ANY: "Up or down",
  DOWN: "Down only",
  UP: "Up only",
};

const recipientRoleLabels: Record<OrgRole, string> = {
  OWNER: "Owners",
  ADMINISTRATOR: "Administrators",
  ASSESSOR: "Assessors",
  CONTRIBUTOR: "Contributors",
  READER: "Readers",
};

function keysOf<K extends string>(record: Record<K, unknown>): readonly K[] {
  return Object.keys(record) as K[];
}

export const SEVERITIES = keysOf(severityLabels);
export const ALERT_STATUSES = keysOf(statusLabels);
export const EVENT_TYPES = keysOf(eventTypeLabels);
export const TRIGGERS = keysOf(triggerLabels);
export const DIRECTIONS = keysOf(directionLabels);
export const RECIPIENT_ROLES = keysOf(recipientRoleLabels);

export const severityLabel = (value: Severity): string => severityLabels[value];
export const alertStatusLabel = (value: AlertStatus): string => statusLabels[value];
export const alertKindLabel = (value: AlertKind): string => kindLabels[value];
export const eventTypeLabel = (value: EventType): string => eventTypeLabels[value];
export const triggerLabel = (value: AlertTrigger): string => triggerLabels[value];
export const directionLabel = (value: ScoreDirection): string => directionLabels[value];
export const recipientRoleLabel = (value: OrgRole): string => recipientRoleLabels[value];

/** A status named by an event or a condition, in words (the server sends enum names). */
export function statusValueLabel(type: EventType, value: string): string {
  if (type === "IMPLEMENTATION_STATUS_CHANGE" && isImplementationStatus(value)) {
    return implementationLabel(value);
  }
  if (type === "TEST_STATUS_CHANGE" && isTestStatus(value)) return testLabel(value);
  return value;
}

/** The statuses a status-change condition may narrow to; none for other event types. */
export function statusesFor(type: EventType): readonly string[] {
  if (type === "IMPLEMENTATION_STATUS_CHANGE") return IMPLEMENTATION_STATUSES;
  if (type === "TEST_STATUS_CHANGE") return TEST_STATUSES;
  return [];
}

const signed = new Intl.NumberFormat(undefined, {
  maximumFractionDigits: 1,
  signDisplay: "exceptZero",
});

export function formatPointsDelta(value: number): string {
  return signed.format(value);
}

/** "90 s", "5 min", "1 h 30 min": how long a window stays open. */
export function formatSeconds(total: number): string {
  if (total < 60) return `${total} s`;
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = total % 60;
  return [hours && `${hours} h`, minutes && `${minutes} min`, seconds && `${seconds} s`]
    .filter(Boolean)
    .join(" ");
}
