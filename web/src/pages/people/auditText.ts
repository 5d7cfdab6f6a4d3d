import { roleLabel } from "../../format";
import type { AuditAction } from "../../gql/graphql";

/** Names for the database ids an audit detail holds, keyed by global id. */
export type NameLookup = (typeName: "Assessment" | "Regulation", rowId: number) => string | null;

function field(detail: unknown, key: string): unknown {
  return typeof detail === "object" && detail !== null
    ? (detail as Record<string, unknown>)[key]
    : undefined;
}

function text(detail: unknown, key: string): string | null {
  const value = field(detail, key);
  return typeof value === "string" ? value : null;
}

function count(detail: unknown, key: string): number | null {
  const value = field(detail, key);
  return typeof value === "number" ? value : null;
}

function roleName(value: unknown): string {
  return typeof value === "string" ? roleLabel(value) : "no organisation role";
}

function scope(detail: unknown, names: NameLookup): string {
  const assessment = count(detail, "assessmentId");
  if (assessment !== null) {
    return `assessment ${names("Assessment", assessment) ?? `#${assessment}`}`;
  }
  const regulation = count(detail, "regulationId");
  if (regulation !== null) {
    return `regulation ${names("Regulation", regulation) ?? `#${regulation}`}`;
  }
  return "a scope";
}

function userUpdated(detail: unknown): string {
  const parts: string[] = [];
  const name = field(detail, "name");
  if (name !== undefined) {
    parts.push(`Name changed from “${text(name, "from") ?? ""}” to “${text(name, "to") ?? ""}”`);
  }
  const role = field(detail, "role");
  if (role !== undefined) {
    parts.push(
      `Role changed from ${roleName(field(role, "from"))} to ${roleName(field(role, "to"))}`,
    );
  }
  const source = text(detail, "source");
  const sentence = parts.length > 0 ? parts.join("; ") : "Account details changed";
  return source ? `${sentence} (by ${source === "SSO" ? "single sign-on" : source})` : sentence;
}

/** One audit row as a sentence a person reads. */
export function describeAuditEvent(
  action: AuditAction,
  detail: unknown,
  names: NameLookup,
): string {
  switch (action) {
    case "USER_INVITED":
      return `Invited as ${roleName(field(detail, "role"))}`;
    case "USER_CREATED": {
      const source = text(detail, "source");
      return source === "SSO"
        ? "Account created at a single sign-on"
        : "Account created at the command line";
    }
    case "USER_UPDATED":
      return userUpdated(detail);
    case "USER_DISABLED": {
      const ended = count(detail, "sessionsEnded") ?? 0;
      return `Account disabled (${ended === 1 ? "1 session" : `${ended} sessions`} ended)`;
    }
    case "USER_ENABLED":
      return "Account enabled";
    case "ACCESS_GRANTED": {
      const previous = field(detail, "previousRole");
      const change = typeof previous === "string" ? ` (was ${roleLabel(previous)})` : "";
      return `${roleName(field(detail, "role"))} granted on ${scope(detail, names)}${change}`;
    }
    case "GRANT_REVOKED":
      return `${roleName(field(detail, "role"))} grant revoked on ${scope(detail, names)}`;
    case "TOKEN_CREATED": {
      const expires = text(detail, "expiresAt");
      const until = expires ? `, expires ${new Date(expires).toLocaleString()}` : ", never expires";
      return `API token “${text(detail, "name") ?? ""}” created${until}`;
    }
    case "TOKEN_REVOKED":
      return `API token “${text(detail, "name") ?? ""}” revoked`;
    case "SESSION_ENDED":
      return "A browser session was ended";
    case "SESSIONS_ENDED": {
      const ended = count(detail, "count") ?? 0;
      return `All open browser sessions ended (${ended})`;
    }
    case "PASSWORD_SET": {
      const via = text(detail, "via");
      if (via === "CLI") return "Password set at the command line";
      if (via === "INVITATION") return "Password chosen from the invitation link";
      if (via === "PASSWORD_RESET") return "Password reset from an emailed link";
      return "Password set";
    }
  }
}
