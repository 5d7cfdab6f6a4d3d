import { useMutation, useQuery } from "@apollo/client/react";
import { useEffect, useRef, useState } from "react";
import { Link } from "react-router";
import type { AlertPolicyFieldsFragment } from "../../gql/graphql";
import { Dialog } from "../../components/Dialog";
import { DeletePolicyDialog } from "./DeletePolicyDialog";
import { MutationProblems } from "../../components/MutationProblems";
import type { UserErrorItem } from "../../mutationErrors";
import { PoliciesTable } from "./PoliciesTable";
import { PolicyForm } from "./PolicyForm";
import { isFixedPolicy } from "./policyDraft";
import { AlertPoliciesQuery, UpdateAlertPolicyMutation } from "./documents";
import { useAlertViewer } from "./viewer";
import "./alerts.css";

type Policy = AlertPolicyFieldsFragment;
/** The policy being edited, "new" while creating one, null when the dialog is closed. */
type Editing = Policy | "new" | null;

export function AlertPoliciesPage() {
  const { data, error, loading, refetch } = useQuery(AlertPoliciesQuery);
  const viewer = useAlertViewer();
  const [editing, setEditing] = useState<Editing>(null);
  const [deleting, setDeleting] = useState<Policy | null>(null);
  const [note, setNote] = useState("");
  const [toggleProblems, setToggleProblems] = useState<readonly UserErrorItem[]>([]);
  const [toggle, toggling] = useMutation(UpdateAlertPolicyMutation);
  const [togglingId, setTogglingId] = useState<string | null>(null);
  // Where focus goes once the row whose button opened a dialog is gone.
  const headingRef = useRef<HTMLHeadingElement>(null);
  const focusHeading = useRef(false);
  // After the dialog has closed (the child's effect runs first), so the dialog's own focus
  // return to the deleted row's button does not win.
  useEffect(() => {
    if (deleting === null && focusHeading.current) {
      focusHeading.current = false;
      headingRef.current?.focus();
    }
  }, [deleting]);

  async function switchPolicy(policy: Policy) {
    setNote("");
    setToggleProblems([]);
    setTogglingId(policy.id);
    try {
      const payload = (
        await toggle({
          variables: { input: { alertPolicyId: policy.id, enabled: !policy.enabled } },
        })
      ).data?.updateAlertPolicy;
      if (payload?.userErrors.length) setToggleProblems(payload.userErrors);
      else if (payload?.alertPolicy) {
        setNote(`“${policy.name}” is now ${payload.alertPolicy.enabled ? "on" : "off"}.`);
      }
    } catch {
      // Shown from the mutation's error.
    } finally {
      setTogglingId(null);
    }
  }

  const rowActions = (policy: Policy) =>
    policy.isBuiltIn && !viewer.isOwner ? (
      <span className="muted small">Owners change the built-in policy.</span>
    ) : (
      <div className="actions row-actions">
        <button
          type="button"
          aria-label={`Edit ${policy.name}`}
          onClick={() => {
            setNote("");
            setEditing(policy);
          }}
        >
          Edit
        </button>
        <button
          type="button"
          aria-label={`${policy.enabled ? "Turn off" : "Turn on"} ${policy.name}`}
          disabled={togglingId !== null}
          onClick={() => void switchPolicy(policy)}
        >
          {togglingId === policy.id ? "Saving…" : policy.enabled ? "Turn off" : "Turn on"}
        </button>
        {!isFixedPolicy(policy) && (
          <button
            type="button"
            className="danger"
            aria-label={`Delete ${policy.name}`}
            onClick={() => {
              setNote("");
              setDeleting(policy);
            }}
          >
            Delete
          </button>
        )}
      </div>
    );

  const policies = data?.alertPolicies.nodes ?? [];
  const editingPolicy = editing === "new" ? null : editing;

  return (
    <div className="alerts-page">
      <div className="page-head">
        <h1 ref={headingRef} tabIndex={-1}>
          Alert policies
        </h1>
        {viewer.managesPolicies && (
          <button
            type="button"
            className="primary"
            onClick={() => {
              setNote("");
              setEditing("new");
            }}
          >
            New policy
          </button>
        )}
      </div>
      <p className="muted">
        A policy watches for changes and raises an alert (and emails its recipients) when one
        matches. <Link to="/alerts">See the alerts</Link>.
      </p>
      <p role="status" className="live-note">
        {note}
      </p>
      <MutationProblems problems={toggleProblems} error={toggling.error ?? null} />
      {!data ? (
        error ? (
          <p role="alert">The alert policies could not be loaded: {error.message}</p>
        ) : (
          <p aria-busy={loading}>Loading alert policies…</p>
        )
      ) : (
        <>
          {error && <p role="alert">Showing earlier policies: {error.message}</p>}
          {policies.length === 0 ? (
            <p>
              {viewer.managesPolicies
                ? "No alert policies yet: create one with “New policy”."
                : "No alert policies you can see: policies are shown to organisation members."}
            </p>
          ) : (
            <PoliciesTable
              policies={policies}
              actions={viewer.managesPolicies ? rowActions : null}
            />
          )}
        </>
      )}

      <Dialog
        open={editing !== null}
        title={editingPolicy ? `Edit “${editingPolicy.name}”` : "New alert policy"}
        onClose={() => {
          setEditing(null);
        }}
        className="policy-dialog"
      >
        <PolicyForm
          key={editingPolicy?.id ?? "new"}
          policy={editingPolicy}
          creatorName={viewer.name}
          onCancel={() => {
            setEditing(null);
          }}
          onSaved={(saved) => {
            setEditing(null);
            setNote(editingPolicy ? `“${saved.name}” saved.` : `“${saved.name}” created.`);
            if (!editingPolicy) void refetch();
          }}
        />
      </Dialog>

      <DeletePolicyDialog
        policy={deleting}
        onClose={() => {
          setDeleting(null);
        }}
        onDeleted={(deleted) => {
          setDeleting(null);
          setNote(`“${deleted.name}” deleted.`);
          focusHeading.current = true;
          void refetch();
        }}
      />
    </div>
  );
}
