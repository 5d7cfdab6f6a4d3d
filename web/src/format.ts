import type { ImplementationStatus, TestStatus } from "./gql/graphql";

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

export function implementationLabel(status: ImplementationStatus): string {
  return implementationLabels[status];
}

export function testLabel(status: TestStatus): string {
  return testLabels[status];
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
