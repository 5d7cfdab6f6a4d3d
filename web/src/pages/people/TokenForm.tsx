import { useMutation } from "@apollo/client/react";
import { useId, useState, type SubmitEvent } from "react";
import { FormError } from "../../components/FormError";
import { CreateApiTokenMutation } from "./documents";
import { attempt } from "../../mutationErrors";
import { REFRESH_PERSON } from "./refresh";
import { SecretReveal } from "./SecretReveal";

/** Today as yyyy-mm-dd in local time: the earliest day a token may expire at the end of. */
function today(): string {
  const date = new Date();
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

/** A new API token; the secret appears once, in this form's place. */
export function TokenForm({ userId }: { userId: string }) {
  const id = useId();
  const [create, { loading }] = useMutation(CreateApiTokenMutation, {
    refetchQueries: REFRESH_PERSON,
    fetchPolicy: "no-cache", // the secret is shown once and kept nowhere
  });
  const [name, setName] = useState("");
  const [expiry, setExpiry] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [issued, setIssued] = useState<{ name: string; secret: string } | null>(null);

  async function submit(event: SubmitEvent<HTMLFormElement>) {
    event.preventDefault();
    setError(null);
    // The end of the chosen day where the owner is, sent with its time zone (UTC).
    const expiresAt = expiry ? new Date(`${expiry}T23:59:59`).toISOString() : null;
    const outcome = await attempt(async () => {
      const result = await create({
        variables: { input: { userId, name: name.trim(), expiresAt } },
      });
      return result.data?.createApiToken;
    });
    if (!outcome.ok) {
      setError(outcome.message);
      return;
    }
    const { secret, token } = outcome.payload;
    if (!secret || !token) {
      setError("The server made no token. Try again.");
      return;
    }
    setIssued({ name: token.name, secret });
    setName("");
    setExpiry("");
  }

  if (issued) {
    return (
      <SecretReveal
        tokenName={issued.name}
        secret={issued.secret}
        onDone={() => {
          setIssued(null);
        }}
      />
    );
  }

  return (
    <form
      className="token-form"
      onSubmit={(event) => void submit(event)}
      aria-describedby={`${id}-error`}
    >
      <label>
        What the token is for
        <input
          type="text"
          required
          placeholder="e.g. nightly export script"
          value={name}
          onChange={(event) => {
            setName(event.target.value);
          }}
        />
      </label>
      <label>
        Expires at the end of <span className="muted">(optional: empty never expires)</span>
        <input
          type="date"
          min={today()}
          value={expiry}
          onChange={(event) => {
            setExpiry(event.target.value);
          }}
        />
      </label>
      <div>
        <button type="submit" className="primary" disabled={loading}>
          {loading ? "Creating…" : "Create token"}
        </button>
      </div>
      <FormError id={`${id}-error`} message={error} />
    </form>
  );
}
