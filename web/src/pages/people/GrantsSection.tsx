import { useMutation, useQuery } from "@apollo/client/react";
import { useId, useRef, useState } from "react";
import { FormError } from "../../components/FormError";
import { formatDay, roleLabel } from "../../format";
import type { OrgRole } from "../../gql/graphql";
import { ConfirmDialog } from "../../components/ConfirmDialog";
import { GrantScopesQuery, RevokeGrantMutation } from "./documents";
import { GrantForm } from "./GrantForm";
import { attempt } from "../../mutationErrors";
import { REFRESH_PERSON } from "./refresh";

interface Grant {
  id: string;
  role: OrgRole;
  createdAt: string;
  assessment?: { id: string; name: string } | null;
  regulation?: { id: string; name: string } | null;
}

interface GrantsSectionProps {
  user: { id: string; name: string; grants?: readonly Grant[] | null };
}

function scopeOf(grant: Grant): string {
  if (grant.assessment) return `Assessment: ${grant.assessment.name}`;
  if (grant.regulation) return `Regulation: ${grant.regulation.name} (all its assessments)`;
  return "A scope that no longer exists";
}

/** Scoped roles on one assessment or one regulation, next to the organisation role. */
export function GrantsSection({ user }: GrantsSectionProps) {
  const id = useId();
  const headingRef = useRef<HTMLHeadingElement>(null);
  const grants = user.grants ?? [];
  const scopes = useQuery(GrantScopesQuery);
  const [revoke] = useMutation(RevokeGrantMutation, { refetchQueries: REFRESH_PERSON });
  const [revoking, setRevoking] = useState<Grant | null>(null);
  const [done, setDone] = useState<string | null>(null);

  async function confirmRevoke(grant: Grant): Promise<string | null> {
    setDone(null);
    const outcome = await attempt(async () => {
      const result = await revoke({ variables: { input: { grantId: grant.id } } });
      return result.data?.revokeGrant;
    });
    if (!outcome.ok) return outcome.message;
    setDone(`Grant revoked: ${scopeOf(grant)}.`);
    return null;
  }

  return (
    <section aria-labelledby={`${id}-heading`} className="card wide">
      <h3 id={`${id}-heading`} ref={headingRef} tabIndex={-1}>
        Scoped grants
      </h3>
      <p className="muted">
        A grant gives a role on one assessment, or on every present and future assessment of one
        regulation. The highest of the organisation role and the grants applies.
      </p>
      {grants.length === 0 ? (
        <p>No grants: {user.name} has only the organisation role.</p>
      ) : (
        <table className="data">
          <caption className="visually-hidden">Grants of {user.name}</caption>
          <thead>
            <tr>
              <th scope="col">Scope</th>
              <th scope="col">Role</th>
              <th scope="col">Given</th>
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {grants.map((grant) => (
              <tr key={grant.id}>
                <th scope="row">{scopeOf(grant)}</th>
                <td>{roleLabel(grant.role)}</td>
                <td>{formatDay(grant.createdAt)}</td>
                <td>
                  <button
                    type="button"
                    className="danger"
                    aria-label={`Revoke grant: ${scopeOf(grant)}`}
                    onClick={() => {
                      setRevoking(grant);
                    }}
                  >
                    Revoke
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {done && <p role="status">{done}</p>}
      <h4>Add a grant</h4>
      {scopes.error && !scopes.data && (
        <FormError
          id={`${id}-scopes-error`}
          message={`The assessments could not be loaded: ${scopes.error.message}`}
        />
      )}
      {!scopes.data && !scopes.error && <p aria-busy="true">Loading assessments…</p>}
      {scopes.data && (
        <GrantForm
          userId={user.id}
          assessments={scopes.data.assessments.nodes}
          totalAssessments={scopes.data.assessments.totalCount}
        />
      )}
      {revoking && (
        <ConfirmDialog
          className="people-dialog"
          focusAfterConfirm={headingRef}
          title="Revoke this grant?"
          confirmLabel="Revoke grant"
          onConfirm={() => confirmRevoke(revoking)}
          onClose={() => {
            setRevoking(null);
          }}
        >
          <p>
            {user.name} loses the {roleLabel(revoking.role)} role on {scopeOf(revoking)}. Their
            organisation role stays as it is.
          </p>
        </ConfirmDialog>
      )}
    </section>
  );
}
