import { useEffect, useState } from "react";
import { fetchAuthOptions, type AuthOptions } from "../../api/auth";

/** How people sign in: set in the server's configuration, so shown here, not changed. */
export function SignInOptions() {
  const [options, setOptions] = useState<AuthOptions | null>(null);
  const [failed, setFailed] = useState(false);

  useEffect(() => {
    const abort = new AbortController();
    fetchAuthOptions(abort.signal).then(setOptions, () => {
      if (!abort.signal.aborted) setFailed(true);
    });
    return () => {
      abort.abort();
    };
  }, []);

  return (
    <section aria-labelledby="sign-in-options-heading" className="card">
      <h2 id="sign-in-options-heading">Sign-in options</h2>
      {failed && <p role="alert">The sign-in options could not be read. Reload the page.</p>}
      {!options && !failed && <p aria-busy="true">Loading…</p>}
      {options && (
        <dl className="settings-facts">
          <div>
            <dt>Email and password</dt>
            <dd>{options.password ? "On" : "Off"}</dd>
          </div>
          <div>
            <dt>Single sign-on (OpenID Connect)</dt>
            <dd>{options.sso ? "On" : "Off"}</dd>
          </div>
        </dl>
      )}
      <p className="muted">
        These are set in the server&apos;s configuration (<code>CMGRAPH_PASSWORD_SIGN_IN</code> and{" "}
        <code>CMGRAPH_OIDC_*</code>) by whoever runs the server, not on this page.
      </p>
    </section>
  );
}
