import type {
  ControlStatus,
  DueState,
  ImplementationStatus,
  ImplementationType,
  Priority,
  TestingSource,
  TestStatus,
} from "./gql/graphql";

const points = new Intl.NumberFormat(undefined, { maximumFractionDigits: 1 });
const percent = new Intl.NumberFormat(undefined, { maximumFractionDigits: 2 });

export function formatPoints(value: number): string {
  return points.format(value);
}

/** The server's percent is already 0–100 with two decimals. */
export function formatPercent(value: number): string {
  return `${percent.format(value)}%`;
}

const implementationLabels: Record<ImplementationStatus, string> = {
  NOT_IMPLEMENTED: "Not implemented",
  PLANNED: "Planned",
  PARTIALLY_IMPLEMENTED: "Partially implemented",
  IMPLEMENTED: "Implemented",
  ALTERNATIVE_IMPLEMENTATION: "Alternative implementation",
  OUT_OF_SCOPE: "Out of scope",
};

const testLabels: Record<TestStatus, string> = {
  NONE: "None",
  NOT_ASSESSED: "Not assessed",
  IN_PROGRESS: "In progress",
  PASSED: "Passed",
  FAILED_LOW_RISK: "Failed (low risk)",
  FAILED_MEDIUM_RISK: "Failed (medium risk)",
  FAILED_HIGH_RISK: "Failed (high risk)",
  REMEDIATED: "Remediated",
  OUT_OF_SCOPE: "Out of scope",
  TO_BE_DETECTED: "To be detected",
  COULD_NOT_BE_DETECTED: "Could not be detected",
  PARTIALLY_TESTED: "Partially tested",
};

function keysOf<K extends string>(record: Record<K, unknown>): readonly K[] {
  return Object.keys(record) as K[];
}

/** Every implementation status, in the order a person reads them. */
export const IMPLEMENTATION_STATUSES = keysOf(implementationLabels);
/** Every test status, in the order a person reads them. */
export const TEST_STATUSES = keysOf(testLabels);

export function isImplementationStatus(value: string): value is ImplementationStatus {
  return value in implementationLabels;
}

export function isTestStatus(value: string): value is TestStatus {
  return value in testLabels;
}

export function implementationLabel(status: ImplementationStatus): string {
  return implementationLabels[status];
}

export function testLabel(status: TestStatus): string {
  return testLabels[status];
}

const controlStatusLabels: Record<ControlStatus, string> = {
  NONE: "Not tested",
  IN_PROGRESS: "In progress",
  PASSED: "Passed",
  FAILED: "Failed",
  OUT_OF_SCOPE: "Out of scope",
};

export function controlStatusLabel(status: ControlStatus): string {
  return controlStatusLabels[status];
}

const implementationTypeLabels: Record<ImplementationType, string> = {
  TECHNICAL: "Technical",
  OPERATIONAL: "Operational",
  DOCUMENTATION: "Documentation",
};

/** Every implementation type, in the order a person reads them. */
export const IMPLEMENTATION_TYPES = keysOf(implementationTypeLabels);

export function isImplementationType(value: string): value is ImplementationType {
  return value in implementationTypeLabels;
}

export function implementationTypeLabel(type: ImplementationType): string {
  return implementationTypeLabels[type];
}

const dueStateLabels: Record<DueState, string> = {
  OVERDUE: "Overdue",
  DUE_SOON: "Due soon",
  ON_TRACK: "On track",
  NONE: "No due date",
};

/** Every due state, most urgent first. */
export const DUE_STATES = keysOf(dueStateLabels);

export function isDueState(value: string): value is DueState {
  return value in dueStateLabels;
}

export function dueStateLabel(state: DueState): string {
  return dueStateLabels[state];
}

const priorityLabels: Record<Priority, string> = {
  HIGH: "High",
  MEDIUM: "Medium",
  LOW: "Low",
};

export function priorityLabel(priority: Priority): string {
  return priorityLabels[priority];
}

const testingSourceLabels: Record<TestingSource, string> = {
  MANUAL: "Manual",
  AUTOMATIC: "Automatic",
  PARENT: "Parent action",
};

export function isTestingSource(value: string): value is TestingSource {
  return value in testingSourceLabels;
}

export function testingSourceLabel(source: TestingSource): string {
  return testingSourceLabels[source];
}

const roleLabels: Record<string, string> = {
  READER: "Reader",
  CONTRIBUTOR: "Contributor",
  ASSESSOR: "Assessor",
  ADMINISTRATOR: "Administrator",
  OWNER: "Owner",
};

export function roleLabel(role: string | null | undefined): string {
  return role ? (roleLabels[role] ?? role) : "Scoped access";
}

const ownerLabels: Record<string, string> = {
  CUSTOMER: "Your organisation's actions",
  PROVIDER: "Provider actions",
};

/** byOwner's rows are keyed CUSTOMER and PROVIDER. */
export function ownerLabel(key: string, fallback: string): string {
  return ownerLabels[key] ?? fallback;
}

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
const day = new Intl.DateTimeFormat(undefined, { dateStyle: "medium" });

/** A timestamp (DateTime scalar) in the person's time zone; as sent if it is not one. */
export function formatDateTime(iso: string): string {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : dateTime.format(date);
}

/** A timestamp's day in the person's time zone. */
export function formatDay(iso: string): string {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : day.format(date);
}

const dateOnly = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeZone: "UTC" });

/** A `Date` scalar (YYYY-MM-DD), shown without shifting it into another day. */
export function formatDate(iso: string | null | undefined): string {
  if (!iso) return "Not set";
  const date = new Date(`${iso}T00:00:00Z`);
  return Number.isNaN(date.getTime()) ? iso : dateOnly.format(date);
}
