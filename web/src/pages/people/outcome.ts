import type { UserErrorCode } from "../../gql/graphql";

/** A refused change as a mutation's payload reports it. */
export interface UserErrorFields {
  field?: readonly string[] | null;
  code: UserErrorCode;
  message: string;
}

const FIELD_LABELS: Record<string, string> = {
  email: "Email",
  name: "Name",
  role: "Role",
  disabled: "Account",
  userId: "Person",
  assessmentId: "Assessment",
  regulationId: "Regulation",
  grantId: "Grant",
  tokenId: "Token",
  sessionId: "Session",
  expiresAt: "Expiry",
  automaticTesting: "Automatic testing",
};

/** One readable sentence per refusal: the field it concerns and the server's reason. */
export function describeUserErrors(errors: readonly UserErrorFields[]): string {
  return errors
    .map((error) => {
      const key = error.field?.at(-1);
      const label = key ? FIELD_LABELS[key] : undefined;
      return label ? `${label}: ${error.message}` : error.message;
    })
    .join(" ");
}

export type Outcome<T> = { ok: true; payload: T } | { ok: false; message: string };

/**
 * Runs a mutation and folds both kinds of failure into one message: the payload's
 * userErrors, or the request failing (network, server error, no payload).
 */
export async function attempt<T extends { userErrors: readonly UserErrorFields[] }>(
  perform: () => Promise<T | null | undefined>,
): Promise<Outcome<T>> {
  try {
    const payload = await perform();
    if (!payload) return { ok: false, message: "The server sent no answer. Try again." };
    if (payload.userErrors.length > 0) {
      return { ok: false, message: describeUserErrors(payload.userErrors) };
    }
    return { ok: true, payload };
  } catch (failure) {
    const reason = failure instanceof Error ? failure.message : String(failure);
    return { ok: false, message: `The change was not saved: ${reason}` };
  }
}
