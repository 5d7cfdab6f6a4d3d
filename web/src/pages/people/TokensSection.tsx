import { formatDateTime, formatDay } from "../../format";
import { useMutation } from "@apollo/client/react";
import { useId, useRef, useState } from "react";
import { ConfirmDialog } from "../../components/ConfirmDialog";
import { RevokeApiTokenMutation } from "./documents";
import { attempt } from "../../mutationErrors";
import { REFRESH_PERSON } from "./refresh";
import { TokenForm } from "./TokenForm";

interface Token {
  id: string;
  name: string;
  prefix: string;
  createdAt: string;
  expiresAt?: string | null;
  revokedAt?: string | null;
  lastUsedAt?: string | null;
  active: boolean;
}

interface TokensSectionProps {
  user: {
    id: string;
    name: string;
    isAutomation: boolean;
    disabledAt?: string | null;
    apiTokens?: readonly Token[] | null;
  };
  isViewer: boolean;
}

function tokenState(token: Token, disabled: boolean): string {
  if (token.revokedAt) return `Revoked ${formatDay(token.revokedAt)}`;
  if (token.expiresAt && Date.parse(token.expiresAt) <= Date.now()) return "Expired";
  if (!token.active && disabled) return "Paused: account disabled";
  return token.active ? "Active" : "Inactive";
}

/** API tokens: never their secrets, only a prefix to recognise them. */
export function TokensSection({ user, isViewer }: TokensSectionProps) {
  const id = useId();
  const headingRef = useRef<HTMLHeadingElement>(null);
  const tokens = user.apiTokens ?? [];
  const [revoke] = useMutation(RevokeApiTokenMutation, { refetchQueries: REFRESH_PERSON });
  const [revoking, setRevoking] = useState<Token | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const mayCreate = isViewer || user.isAutomation;

  async function confirmRevoke(token: Token): Promise<string | null> {
    setDone(null);
    const outcome = await attempt(async () => {
      const result = await revoke({ variables: { input: { tokenId: token.id } } });
      return result.data?.revokeApiToken;
    });
    if (!outcome.ok) return outcome.message;
    setDone(`Token “${token.name}” revoked.`);
    return null;
  }

  return (
    <section aria-labelledby={`${id}-heading`} className="card wide">
      <h3 id={`${id}-heading`} ref={headingRef} tabIndex={-1}>
        API tokens
      </h3>
      {tokens.length === 0 ? (
        <p>No API tokens.</p>
      ) : (
        <div className="table-scroll">
          <table className="data">
            <caption className="visually-hidden">API tokens of {user.name}</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Starts with</th>
                <th scope="col">Created</th>
                <th scope="col">Expires</th>
                <th scope="col">Last used</th>
                <th scope="col">State</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {tokens.map((token) => (
                <tr key={token.id}>
                  <th scope="row">{token.name}</th>
                  <td>
                    <code>{token.prefix}…</code>
                  </td>
                  <td>{formatDay(token.createdAt)}</td>
                  <td>{token.expiresAt ? formatDateTime(token.expiresAt) : "Never"}</td>
                  <td>
                    {token.lastUsedAt ? (
                      formatDateTime(token.lastUsedAt)
                    ) : (
                      <span className="muted">Never</span>
                    )}
                  </td>
                  <td>{tokenState(token, Boolean(user.disabledAt))}</td>
                  <td>
                    {!token.revokedAt && (
                      <button
                        type="button"
                        className="danger"
                        aria-label={`Revoke token ${token.name}`}
                        onClick={() => {
                          setRevoking(token);
                        }}
                      >
                        Revoke
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {done && <p role="status">{done}</p>}
      <h4>New token</h4>
      {!mayCreate ? (
        <p>
          A token acts as its person, so owners make tokens only for themselves and for automation
          accounts. {user.name} can be given access by role or grant instead.
        </p>
      ) : user.disabledAt ? (
        <p>This account is disabled: enable it before making a token.</p>
      ) : (
        <TokenForm userId={user.id} />
      )}
      {revoking && (
        <ConfirmDialog
          className="people-dialog"
          focusAfterConfirm={headingRef}
          title={`Revoke token “${revoking.name}”?`}
          confirmLabel="Revoke token"
          onConfirm={() => confirmRevoke(revoking)}
          onClose={() => {
            setRevoking(null);
          }}
        >
          <p>
            Scripts using this token are refused from now on. This cannot be undone: a new token has
            a new secret.
          </p>
        </ConfirmDialog>
      )}
    </section>
  );
}
