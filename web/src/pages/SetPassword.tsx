import { useApolloClient } from "@apollo/client/react";
import { useState, type SubmitEvent } from "react";
import { Link, useNavigate, useSearchParams } from "react-router";
import { AuthError, setPassword } from "../api/auth";
import { FormError } from "../components/FormError";

const MIN_LENGTH = 12;

function describeRefusal(error: unknown): string {
  if (!(error instanceof AuthError)) {
    return "The server could not be reached. Check your connection and try again.";
  }
  if (error.code === "INVALID" && error.field === "token") {
    return "This link has expired or was already used. Ask for a new one.";
  }
  if (error.code === "PASSWORD_SIGN_IN_DISABLED") {
    return "Passwords are turned off on this server: sign in with SSO instead.";
  }
  return error.message;
}

/** Where invitation and password-reset links land: choose a password, then signed in. */
export function SetPassword() {
  const [params] = useSearchParams();
  const token = params.get("token") ?? "";
  const navigate = useNavigate();
  const client = useApolloClient();
  const [password, setPasswordValue] = useState("");
  const [confirmation, setConfirmation] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  if (!token) {
    return (
      <main className="auth-page">
        <h1>Choose a password</h1>
        <p role="alert">
          This page needs the link from your invitation or reset email. Open that link again,
          or <Link to="/sign-in">go to sign in</Link>.
        </p>
      </main>
    );
  }

  async function submit(event: SubmitEvent<HTMLFormElement>) {
    event.preventDefault();
    if (password !== confirmation) {
      setError("The two passwords are not the same.");
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await setPassword(token, password);
      await client.clearStore();
      await navigate("/", { replace: true });
    } catch (refused) {
      setError(describeRefusal(refused));
      setBusy(false);
    }
  }

  return (
    <main className="auth-page">
      <h1>Choose a password</h1>
      <form
        className="stack"
        onSubmit={(event) => void submit(event)}
        aria-describedby="set-password-error"
      >
        <label>
          New password
          <input
            type="password"
            name="password"
            autoComplete="new-password"
            required
            minLength={MIN_LENGTH}
            aria-describedby="password-rule"
            value={password}
            onChange={(event) => {
              setPasswordValue(event.target.value);
            }}
          />
        </label>
        <p id="password-rule" className="hint">
          At least {MIN_LENGTH} characters.
        </p>
        <label>
          Repeat the password
          <input
            type="password"
            name="confirmation"
            autoComplete="new-password"
            required
            minLength={MIN_LENGTH}
            value={confirmation}
            onChange={(event) => {
              setConfirmation(event.target.value);
            }}
          />
        </label>
        <FormError id="set-password-error" message={error} />
        <button type="submit" className="primary" disabled={busy}>
          {busy ? "Saving…" : "Save password and sign in"}
        </button>
      </form>
    </main>
  );
}
