import type { AuditAction } from "../../gql/graphql";

const LABELS: Record<AuditAction, string> = {
  USER_INVITED: "Invited",
  USER_CREATED: "Created",
  USER_UPDATED: "Updated",
  USER_DISABLED: "Disabled",
  USER_ENABLED: "Enabled",
  ACCESS_GRANTED: "Grant given",
  GRANT_REVOKED: "Grant revoked",
  TOKEN_CREATED: "Token created",
  TOKEN_REVOKED: "Token revoked",
  SESSION_ENDED: "Session ended",
  SESSIONS_ENDED: "Sessions ended",
  PASSWORD_SET: "Password set",
};

export function auditLabel(action: AuditAction): string {
  return LABELS[action];
}
