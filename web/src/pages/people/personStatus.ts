import { latest } from "./dates";

export type PersonStatus = "ACTIVE" | "DISABLED" | "INVITED";

interface StatusFacts {
  isAutomation: boolean;
  disabledAt?: string | null;
  sessions?: readonly { lastSeenAt: string }[] | null;
  apiTokens?: readonly { lastUsedAt?: string | null }[] | null;
}

/**
 * The API has no "invitation pending" flag: a person (not an automation account) who has
 * never had a browser session nor an API token has not taken up their access yet.
 */
export function personStatus(user: StatusFacts): PersonStatus {
  if (user.disabledAt) return "DISABLED";
  const neverUsed = (user.sessions?.length ?? 0) === 0 && (user.apiTokens?.length ?? 0) === 0;
  if (!user.isAutomation && neverUsed) return "INVITED";
  return "ACTIVE";
}

export const STATUS_LABELS: Record<PersonStatus, string> = {
  ACTIVE: "Active",
  DISABLED: "Disabled",
  INVITED: "Invited",
};

/** The latest sign of life: a session's last request or a token's last use. */
export function lastSeen(user: StatusFacts): string | null {
  return latest([
    ...(user.sessions ?? []).map((session) => session.lastSeenAt),
    ...(user.apiTokens ?? []).map((token) => token.lastUsedAt),
  ]);
}
