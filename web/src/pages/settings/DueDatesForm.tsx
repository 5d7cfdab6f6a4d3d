import { useMutation } from "@apollo/client/react";
import { useId, useState, type SubmitEvent } from "react";
import { FormError } from "../../components/FormError";
import type { UpdateOrganisationSettingsInput } from "../../gql/graphql";
import { attempt } from "../../mutationErrors";
import { UpdateOrganisationSettingsMutation } from "./documents";

/** The owner's form: due-soon days (1 to 365) and whether retest-due actions lose points. */
export function DueDatesForm({
  dueSoonDays,
  retestLosesPoints,
}: {
  dueSoonDays: number;
  retestLosesPoints: boolean;
}) {
  const id = useId();
  const [days, setDays] = useState(String(dueSoonDays));
  const [loses, setLoses] = useState(retestLosesPoints);
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState<string | null>(null);
  const [save, { loading }] = useMutation(UpdateOrganisationSettingsMutation);

  async function submit(event: SubmitEvent<HTMLFormElement>) {
    event.preventDefault();
    setError(null);
    setSaved(null);
    const input: UpdateOrganisationSettingsInput = {};
    const number = Number(days.trim());
    if (!Number.isInteger(number) || number < 1 || number > 365) {
      setError("Due soon days: enter a whole number from 1 to 365.");
      return;
    }
    if (number !== dueSoonDays) input.dueSoonDays = number;
    if (loses !== retestLosesPoints) input.retestLosesPoints = loses;
    if (Object.keys(input).length === 0) {
      setSaved("Nothing to save: these are already the settings.");
      return;
    }
    const outcome = await attempt(async () => {
      const result = await save({ variables: { input } });
      return result.data?.updateOrganisationSettings;
    });
    if (!outcome.ok) {
      setError(outcome.message);
      return;
    }
    setSaved("Saved.");
  }

  return (
    <form
      className="stack"
      onSubmit={(event) => void submit(event)}
      aria-describedby={`${id}-error`}
    >
      <div>
        <label htmlFor={`${id}-days`}>Due soon days</label>
        <input
          id={`${id}-days`}
          type="number"
          min={1}
          max={365}
          step={1}
          inputMode="numeric"
          className="short-number"
          value={days}
          aria-describedby={`${id}-days-hint`}
          onChange={(event) => {
            setDays(event.target.value);
          }}
        />
        <p id={`${id}-days-hint`} className="hint">
          An open action counts as due soon this many days before its due date (1 to 365).
        </p>
      </div>
      <div>
        <label className="inline">
          <input
            type="checkbox"
            checked={loses}
            aria-describedby={`${id}-loses-hint`}
            onChange={(event) => {
              setLoses(event.target.checked);
            }}
          />
          Retested actions lose points when due
        </label>
        <p id={`${id}-loses-hint`} className="hint">
          When on, a passed action whose retest day has come earns nothing until it is retested. It
          applies at once, both ways, and moves the scores.
        </p>
      </div>
      <FormError id={`${id}-error`} message={error} />
      <p role="status">{saved}</p>
      <div>
        <button type="submit" className="primary" disabled={loading}>
          {loading ? "Saving…" : "Save due dates and retesting"}
        </button>
      </div>
    </form>
  );
}
