import { useId, useState } from "react";

interface SecretRevealProps {
  tokenName: string;
  secret: string;
  onDone: () => void;
}

/** A new token's secret: shown this once, with a copy button. */
export function SecretReveal({ tokenName, secret, onDone }: SecretRevealProps) {
  const id = useId();
  const [copyState, setCopyState] = useState<"idle" | "copied" | "failed">("idle");

  async function copy() {
    try {
      await navigator.clipboard.writeText(secret);
      setCopyState("copied");
    } catch {
      setCopyState("failed");
    }
  }

  return (
    <div className="secret-reveal" role="group" aria-labelledby={`${id}-title`}>
      <p id={`${id}-title`}>
        <strong>Token “{tokenName}” created.</strong>
      </p>
      <p className="warning">
        Copy the token now: it is shown only this once. cmgraph keeps only a digest of it, so nobody
        can show it again. Anyone holding it acts as this account: keep it secret.
      </p>
      <label>
        Token
        <input
          type="text"
          readOnly
          className="secret"
          value={secret}
          onFocus={(event) => {
            event.target.select();
          }}
        />
      </label>
      <div className="dialog-buttons">
        <button type="button" className="primary" onClick={() => void copy()}>
          Copy token
        </button>
        <button type="button" onClick={onDone}>
          I have stored it: hide the token
        </button>
      </div>
      <p role="status">
        {copyState === "copied" && "Copied to the clipboard."}
        {copyState === "failed" &&
          "The browser refused to copy: select the token and copy it by hand."}
      </p>
    </div>
  );
}
