import { useState, type SubmitEvent } from "react";
import { Link, useSearchParams } from "react-router";
import { AuthError, requestPasswordReset } from "../api/auth";
import { FormError } from "../components/FormError";

function describeRefusal(error: unknown): string {
  if (!(error instanceof AuthError)) {
    return "The server could not be reached. Check your connection and try again.";
  }
  if (error.status === 429) {
    const wait = error.retryAfterSeconds;
    const when =
      wait === undefined
        ? "later"
        : wait < 90
          ? `in ${wait} seconds`
          : `in ${Math.ceil(wait / 60)} minutes`;
    return `Too many requests. Try again ${when}.`;
  }
  if (error.code === "PASSWORD_SIGN_IN_DISABLED") {
    return "Passwords are turned off on this server: sign in with SSO instead.";
  }
  return error.message;
}

/** Asks for a reset link; the answer is the same whether or not the address has an account. */
export function ForgotPassword() {
  const [params] = useSearchParams();
  const [email, setEmail] = useState(params.get("email") ?? "");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [message, setMessage] = useState<string | null>(null);

  async function submit(event: SubmitEvent<HTMLFormElement>) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    setMessage(null);
    try {
      setMessage(await requestPasswordReset(email));
    } catch (refused) {
      setError(describeRefusal(refused));
    } finally {
      setBusy(false);
    }
  }

  return (
    <main className="auth-page">
      <h1>Reset your password</h1>
      <form
        className="stack"
        onSubmit={(event) => void submit(event)}
        aria-describedby="forgot-password-help forgot-password-error"
      >
        <p id="forgot-password-help">
          Enter the email you sign in with. We send a link to choose a new password; it works once,
          for an hour.
        </p>
        <label>
          Email
          <input
            type="email"
            name="email"
            autoComplete="username"
            required
            value={email}
            onChange={(event) => {
              setEmail(event.target.value);
            }}
          />
        </label>
        <FormError id="forgot-password-error" message={error} />
        <p role="status">{message}</p>
        <button type="submit" className="primary" disabled={busy}>
          {busy ? "Sending…" : "Send reset link"}
        </button>
      </form>
      <p>
        <Link to="/sign-in">Back to sign in</Link>
      </p>
    </main>
  );
}
