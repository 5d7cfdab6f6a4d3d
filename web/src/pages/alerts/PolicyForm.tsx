import { useMutation } from "@apollo/client/react";
import { useId, useState, type SubmitEvent } from "react";
import type { AlertPolicyFieldsFragment } from "../../gql/graphql";
import { ConditionsFieldset } from "./ConditionsFieldset";
import { FixedWatch } from "./FixedWatch";
import { MutationProblems } from "../../components/MutationProblems";
import type { UserErrorItem } from "../../mutationErrors";
import { RecipientsFieldset } from "./RecipientsFieldset";
import { ScopeFieldset } from "./ScopeFieldset";
import { CreateAlertPolicyMutation, UpdateAlertPolicyMutation } from "./documents";
import { SEVERITIES, TRIGGERS, formatSeconds, severityLabel, triggerLabel } from "./labels";
import { createInput, draftOf, isFixedPolicy, updateInput, type PolicyDraft } from "./policyDraft";

/**
 * Create a policy (`policy` null) or edit one. The built-in policy's watch is fixed, so
 * only its recipients and its switch are offered.
 */
export function PolicyForm({
  policy,
  creatorName,
  onSaved,
  onCancel,
}: {
  policy: AlertPolicyFieldsFragment | null;
  /** Who will own a new policy (the signed-in person). */
  creatorName: string | null;
  onSaved: (policy: AlertPolicyFieldsFragment) => void;
  onCancel: () => void;
}) {
  const [draft, setDraft] = useState<PolicyDraft>(() => draftOf(policy));
  const [problems, setProblems] = useState<readonly UserErrorItem[]>([]);
  const [create, creating] = useMutation(CreateAlertPolicyMutation);
  const [update, updating] = useMutation(UpdateAlertPolicyMutation);
  const busy = creating.loading || updating.loading;
  const errorsId = useId();
  const aggregation = Number(draft.aggregationSeconds);

  const change = (part: Partial<PolicyDraft>) => {
    setDraft((current) => ({ ...current, ...part }));
  };

  async function submit(event: SubmitEvent<HTMLFormElement>) {
    event.preventDefault();
    setProblems([]);
    try {
      const payload = policy
        ? (await update({ variables: { input: updateInput(policy, draft) } })).data
            ?.updateAlertPolicy
        : (await create({ variables: { input: createInput(draft) } })).data?.createAlertPolicy;
      if (!payload) return;
      if (payload.userErrors.length > 0) setProblems(payload.userErrors);
      else if (payload.alertPolicy) onSaved(payload.alertPolicy);
    } catch {
      // The mutation's error is shown below the form.
    }
  }

  return (
    <form
      className="policy-form"
      onSubmit={(event) => void submit(event)}
      aria-describedby={errorsId}
    >
      {policy ? (
        <p>
          <strong>Name:</strong> {policy.name} <span className="muted">(fixed after creation)</span>
        </p>
      ) : (
        <label>
          Name
          <input
            required
            maxLength={200}
            value={draft.name}
            onChange={(event) => {
              change({ name: event.target.value });
            }}
          />
        </label>
      )}
      {policy && isFixedPolicy(policy) ? (
        <FixedWatch policy={policy} />
      ) : (
        <fieldset>
          <legend>What to watch</legend>
          <div className="policy-form">
            <label>
              Description
              <textarea
                rows={2}
                maxLength={2000}
                value={draft.description}
                onChange={(event) => {
                  change({ description: event.target.value });
                }}
              />
            </label>
            <ConditionsFieldset
              draft={draft}
              onChange={(conditions) => {
                change({ conditions });
              }}
            />
            <ScopeFieldset draft={draft} policy={policy} onChange={change} />
            <div className="row">
              <label>
                Severity
                <select
                  value={draft.severity}
                  onChange={(event) => {
                    const severity = SEVERITIES.find((value) => value === event.target.value);
                    if (severity) change({ severity });
                  }}
                >
                  {SEVERITIES.map((value) => (
                    <option key={value} value={value}>
                      {severityLabel(value)}
                    </option>
                  ))}
                </select>
              </label>
              <label>
                Trigger
                <select
                  value={draft.trigger}
                  onChange={(event) => {
                    const trigger = TRIGGERS.find((value) => value === event.target.value);
                    if (trigger) change({ trigger });
                  }}
                >
                  {TRIGGERS.map((value) => (
                    <option key={value} value={value}>
                      {triggerLabel(value)}
                    </option>
                  ))}
                </select>
              </label>
              {draft.trigger === "THRESHOLD" && (
                <>
                  <label>
                    At least this many matches
                    <input
                      type="number"
                      required
                      min={2}
                      max={10000}
                      step={1}
                      value={draft.thresholdCount}
                      onChange={(event) => {
                        change({ thresholdCount: event.target.value });
                      }}
                    />
                  </label>
                  <label>
                    Within minutes
                    <input
                      type="number"
                      required
                      min={1}
                      max={1440}
                      step={1}
                      value={draft.thresholdMinutes}
                      onChange={(event) => {
                        change({ thresholdMinutes: event.target.value });
                      }}
                    />
                  </label>
                </>
              )}
              <label>
                Grouping window (seconds)
                <input
                  type="number"
                  required
                  min={1}
                  max={86400}
                  step={1}
                  value={draft.aggregationSeconds}
                  onChange={(event) => {
                    change({ aggregationSeconds: event.target.value });
                  }}
                />
              </label>
            </div>
            <p className="hint">
              Matches within{" "}
              {Number.isInteger(aggregation) && aggregation > 0
                ? formatSeconds(aggregation)
                : "the window"}{" "}
              of an alert opening join that alert instead of opening another.
            </p>
          </div>
        </fieldset>
      )}
      <RecipientsFieldset
        draft={draft}
        creatorName={policy ? (policy.createdBy?.name ?? null) : creatorName}
        fixed={isFixedPolicy(policy)}
        onChange={change}
      />
      <label className="check">
        <input
          type="checkbox"
          checked={draft.enabled}
          onChange={(event) => {
            change({ enabled: event.target.checked });
          }}
        />
        Enabled (only enabled policies raise alerts)
      </label>
      <MutationProblems
        id={errorsId}
        problems={problems}
        error={creating.error ?? updating.error ?? null}
      />
      <div className="footer">
        <button type="button" onClick={onCancel} disabled={busy}>
          Cancel
        </button>
        <button type="submit" className="primary" disabled={busy}>
          {busy ? "Saving…" : policy ? "Save policy" : "Create policy"}
        </button>
      </div>
    </form>
  );
}
