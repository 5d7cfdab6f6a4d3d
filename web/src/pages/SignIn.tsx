import { useApolloClient } from "@apollo/client/react";
import { useEffect, useState, type SubmitEvent } from "react";
import { Link, useNavigate, useSearchParams } from "react-router";
import { AuthError, fetchAuthOptions, signIn, ssoLoginUrl, type AuthOptions } from "../api/auth";
import { isServerPath, safeNextPath } from "../auth/next";
import { FormError } from "../components/FormError";

function describeRefusal(error: unknown): string {
  if (!(error instanceof AuthError)) {
    return "The server could not be reached. Check your connection and try again.";
  }
  if (error.status === 401) return "Wrong email or password.";
  if (error.status === 429) {
    const wait = error.retryAfterSeconds;
    const when =
      wait === undefined
        ? "later"
        : wait < 90
          ? `in ${wait} seconds`
          : `in ${Math.ceil(wait / 60)} minutes`;
    return `Too many refused sign-ins. Try again ${when}.`;
  }
  return error.message;
}

/** The reset page, with the email typed so far. */
function forgotPasswordPath(email: string): string {
  const typed = email.trim();
  return typed
    ? `/forgot-password?${new URLSearchParams({ email: typed }).toString()}`
    : "/forgot-password";
}

export function SignIn() {
  const [params] = useSearchParams();
  const next = safeNextPath(params.get("next"));
  const navigate = useNavigate();
  const client = useApolloClient();
  const [options, setOptions] = useState<AuthOptions | null>(null);
  const [optionsFailed, setOptionsFailed] = useState(false);
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    const abort = new AbortController();
    fetchAuthOptions(abort.signal).then(setOptions, () => {
      if (!abort.signal.aborted) setOptionsFailed(true);
    });
    return () => {
      abort.abort();
    };
  }, []);

  async function submit(event: SubmitEvent<HTMLFormElement>) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await signIn(email, password);
      // Whatever a previous person left in the cache is not this person's to see.
      await client.clearStore();
      if (isServerPath(next)) {
        window.location.replace(next); // a download the server answers, not an app page
        return;
      }
      await navigate(next, { replace: true });
    } catch (refused) {
      setError(describeRefusal(refused));
      setBusy(false);
    }
  }

  return (
    <main className="auth-page">
      <h1>Sign in to cmgraph</h1>
      {options === null && !optionsFailed && <p aria-busy="true">Loading sign-in options…</p>}
      {optionsFailed && (
        <p role="alert">The server could not be reached. Reload the page to try again.</p>
      )}
      {options?.password && (
        <form
          className="stack"
          onSubmit={(event) => void submit(event)}
          aria-describedby="sign-in-error"
        >
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
          <label>
            Password
            <input
              type="password"
              name="password"
              autoComplete="current-password"
              required
              value={password}
              onChange={(event) => {
                setPassword(event.target.value);
              }}
            />
          </label>
          <FormError id="sign-in-error" message={error} />
          <button type="submit" className="primary" disabled={busy}>
            {busy ? "Signing in…" : "Sign in"}
          </button>
        </form>
      )}
      {options?.password && (
        <p>
          <Link to={forgotPasswordPath(email)}>Forgot your password?</Link>
        </p>
      )}
      {options?.sso && (
        <p>
          <a className={options.password ? "button" : "button primary"} href={ssoLoginUrl(next)}>
            Sign in with SSO
          </a>
        </p>
      )}
      {options && !options.password && !options.sso && (
        <p>No way of signing in is turned on. Ask the server&apos;s administrator.</p>
      )}
    </main>
  );
}
