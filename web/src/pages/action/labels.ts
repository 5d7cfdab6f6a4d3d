import {
  formatDate,
  implementationLabel,
  isImplementationStatus,
  isTestingSource,
  isTestStatus,
  testingSourceLabel,
  testLabel,
} from "../../format";
import type { ChangeSource, DefinitionField, Enforcement, Purpose } from "../../gql/graphql";

export const changeSourceLabels: Record<ChangeSource, string> = {
  USER: "Person",
  IMPORT: "Spreadsheet import",
  AUTOMATION: "Automation",
  PARENT: "Parent action",
  UPDATE: "Definition update",
  PROVIDER: "Provider",
};

export const enforcementLabels: Record<Enforcement, string> = {
  MANDATORY: "Mandatory",
  DISCRETIONARY: "Discretionary",
};

export const purposeLabels: Record<Purpose, string> = {
  PREVENTATIVE: "Preventative",
  DETECTIVE: "Detective",
  CORRECTIVE: "Corrective",
};

export const definitionFieldLabels: Record<DefinitionField, string> = {
  POINTS: "Points",
  TITLE: "Title",
  GUIDANCE: "Guidance",
  ENFORCEMENT: "Enforcement",
  PURPOSE: "Purpose",
  CATEGORY: "Category",
  SOLUTION: "Solution",
  TESTING_LOGIC: "Testing logic",
  AUTOMATIC_TESTING_AVAILABLE: "Automatic testing available",
  DEFAULT_RETEST_INTERVAL_DAYS: "Default retest cadence (days)",
};

// History rows name the server's field (snake_case); the values of status fields are enums.
const historyFieldLabels: Record<string, string> = {
  implementation_status: "Implementation status",
  implementation_date: "Implementation date",
  implementation_notes: "Implementation notes",
  test_status: "Test status",
  test_date: "Test date",
  testing_notes: "Testing notes",
  additional_notes: "Additional notes",
  automation_fraction: "Automated share passed",
  testing_source: "Testing source",
  parent: "Parent action",
  assignee: "Assigned to",
  assignment_notes: "Assignment notes",
  due_date: "Due date",
  retest_interval_days: "Retest every (days)",
  review_by: "Review by",
  evidence: "Evidence",
  definition_version: "Definition version",
  points: "Points",
};

export function historyFieldLabel(field: string): string {
  const known = historyFieldLabels[field];
  if (known) return known;
  const words = field
    .replace(/([a-z])([A-Z])/g, "$1 $2")
    .replace(/_/g, " ")
    .toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** A history value in words: status enums by their labels, everything else as written. */
export function historyValueLabel(field: string, value: string | null | undefined): string {
  if (value == null || value === "") return field === "evidence" ? "" : "(empty)";
  if (field.endsWith("_date") && /^\d{4}-\d{2}-\d{2}$/.test(value)) return formatDate(value);
  if (field === "implementation_status" && isImplementationStatus(value)) {
    return implementationLabel(value);
  }
  if (field === "test_status" && isTestStatus(value)) return testLabel(value);
  if (field === "testing_source" && isTestingSource(value)) return testingSourceLabel(value);
  return value;
}

export { formatDate } from "../../format";

const sizeFormat = new Intl.NumberFormat(undefined, { maximumFractionDigits: 1 });

export function formatBytes(bytes: number | null | undefined): string {
  if (bytes == null) return "";
  if (bytes < 1024) return `${bytes} bytes`;
  if (bytes < 1024 * 1024) return `${sizeFormat.format(bytes / 1024)} KB`;
  return `${sizeFormat.format(bytes / (1024 * 1024))} MB`;
}

/** Today as YYYY-MM-DD in the person's own time zone (dates may not be in the future). */
export function todayIso(): string {
  const now = new Date();
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}`;
}

/** An edit form submitted unchanged. */
export const NOTHING_TO_SAVE = "Nothing to save: the form holds the saved values.";
