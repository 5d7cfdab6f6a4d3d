import { useMutation } from "@apollo/client/react";
import { useId, useState, type SubmitEvent } from "react";
import { FormError } from "../../components/FormError";
import type { AutomaticTesting } from "../../gql/graphql";
import { TESTING_OPTIONS } from "./automaticTesting";
import { UpdateOrganisationSettingsMutation } from "./documents";
import { attempt } from "../../mutationErrors";

/** The owner's form: the three options, each explained; saving reports how many actions moved. */
export function AutomaticTestingForm({ current }: { current: AutomaticTesting }) {
  const id = useId();
  const [choice, setChoice] = useState<AutomaticTesting>(current);
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState<string | null>(null);
  // The payload's organisation lands in the cache (one per server), so the page follows.
  const [save, { loading }] = useMutation(UpdateOrganisationSettingsMutation);

  async function submit(event: SubmitEvent<HTMLFormElement>) {
    event.preventDefault();
    setError(null);
    setSaved(null);
    if (choice === current) {
      setSaved("Nothing to save: this is already the setting.");
      return;
    }
    const outcome = await attempt(async () => {
      const result = await save({ variables: { input: { automaticTesting: choice } } });
      return result.data?.updateOrganisationSettings;
    });
    if (!outcome.ok) {
      setError(outcome.message);
      return;
    }
    const switched = outcome.payload.actionsSwitched ?? 0;
    setSaved(
      `Saved. ${switched === 1 ? "1 action" : `${switched} actions`} changed testing source.`,
    );
  }

  return (
    <form
      className="stack"
      onSubmit={(event) => void submit(event)}
      aria-describedby={`${id}-error`}
    >
      <fieldset className="testing-options">
        <legend>How are actions with automatic testing available tested?</legend>
        {TESTING_OPTIONS.map((option) => (
          <div key={option.value} className="testing-option">
            <label className="inline">
              <input
                type="radio"
                name="automaticTesting"
                value={option.value}
                checked={choice === option.value}
                aria-describedby={`${id}-${option.value}`}
                onChange={() => {
                  setChoice(option.value);
                }}
              />
              {option.label}
              {option.value === current && <span className="muted"> (current)</span>}
            </label>
            <p id={`${id}-${option.value}`} className="option-explanation">
              {option.explanation}
            </p>
          </div>
        ))}
      </fieldset>
      <p className="hint">
        Changing the setting may switch existing actions between manual and automatic testing; the
        number is reported when it is saved.
      </p>
      <FormError id={`${id}-error`} message={error} />
      <p role="status">{saved}</p>
      <div>
        <button type="submit" className="primary" disabled={loading}>
          {loading ? "Saving…" : "Save automatic testing"}
        </button>
      </div>
    </form>
  );
}
