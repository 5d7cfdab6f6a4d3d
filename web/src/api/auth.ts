// The server's sign-in endpoints (/auth/*), outside GraphQL. Every POST carries the CSRF
// header; the session cookie is same-origin, so fetch's default credentials send it.

export const CSRF_HEADER = "X-CMGraph-CSRF";

export interface AuthOptions {
  password: boolean;
  sso: boolean;
}

export interface SignedInUser {
  id: string;
  email: string;
  name: string;
  role: string | null;
}

/** A refusal from /auth/*: the server's message, its code and, for 429, when to try again. */
export class AuthError extends Error {
  readonly status: number;
  readonly code: string;
  readonly field: string | undefined;
  readonly retryAfterSeconds: number | undefined;

  constructor(status: number, code: string, message: string, field?: string, retryAfter?: number) {
    super(message);
    this.name = "AuthError";
    this.status = status;
    this.code = code;
    this.field = field;
    this.retryAfterSeconds = retryAfter;
  }
}

interface ErrorBody {
  errors?: { message?: unknown; extensions?: { code?: unknown; field?: unknown } }[];
}

async function refusal(response: Response): Promise<AuthError> {
  let body: ErrorBody = {};
  try {
    body = (await response.json()) as ErrorBody;
  } catch {
    // Not JSON (a proxy's page): fall back to the status.
  }
  const first = body.errors?.[0];
  const message =
    typeof first?.message === "string"
      ? first.message
      : `The server answered ${response.status} ${response.statusText}.`;
  const code = typeof first?.extensions?.code === "string" ? first.extensions.code : "";
  const field = typeof first?.extensions?.field === "string" ? first.extensions.field : undefined;
  const retryAfter = Number.parseInt(response.headers.get("Retry-After") ?? "", 10);
  return new AuthError(
    response.status,
    code,
    message,
    field,
    Number.isFinite(retryAfter) ? retryAfter : undefined,
  );
}

async function postJson(path: string, body: unknown): Promise<Response> {
  const response = await fetch(path, {
    method: "POST",
    credentials: "include",
    headers: { "Content-Type": "application/json", [CSRF_HEADER]: "1" },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw await refusal(response);
  return response;
}

export async function fetchAuthOptions(signal?: AbortSignal): Promise<AuthOptions> {
  const response = await fetch("/auth/options", signal ? { signal } : {});
  if (!response.ok) throw await refusal(response);
  const body = (await response.json()) as Partial<AuthOptions>;
  return { password: body.password === true, sso: body.sso === true };
}

export async function signIn(email: string, password: string): Promise<SignedInUser> {
  const response = await postJson("/auth/login", { email, password });
  return ((await response.json()) as { user: SignedInUser }).user;
}

/** Chooses a password with an invitation's or a reset's token, which also signs in. */
export async function setPassword(token: string, password: string): Promise<SignedInUser> {
  const response = await postJson("/auth/password", { token, password });
  return ((await response.json()) as { user: SignedInUser }).user;
}

export async function signOut(): Promise<void> {
  await postJson("/auth/logout", {});
}

/** Where single sign-on starts: a top-level navigation, not a fetch. */
export function ssoLoginUrl(next: string): string {
  return `/auth/oidc/login?${new URLSearchParams({ next }).toString()}`;
}

/**
 * Asks for a password-reset email. The server answers 202 with the same message whether or
 * not the address names someone; 429 (with Retry-After) when asked too often.
 */
export async function requestPasswordReset(email: string): Promise<string> {
  const response = await postJson("/auth/forgot-password", { email });
  const body = (await response.json()) as { message?: unknown };
  return typeof body.message === "string"
    ? body.message
    : "If an account has this email, a link to reset its password is on its way.";
}
