import { useId } from "react";

/** The optional review-by day of new evidence: after it, the evidence counts as expired. */
export function ReviewByField({
  value,
  onChange,
  disabled = false,
}: {
  value: string;
  onChange: (value: string) => void;
  disabled?: boolean;
}) {
  const id = useId();
  return (
    <div>
      <label htmlFor={`${id}-review`}>Review by (optional)</label>
      <input
        id={`${id}-review`}
        type="date"
        value={value}
        disabled={disabled}
        aria-describedby={`${id}-review-hint`}
        onChange={(event) => {
          onChange(event.target.value);
        }}
      />
      <p id={`${id}-review-hint`} className="hint">
        After this day the evidence is marked expired until someone reviews it and sets a new day.
      </p>
    </div>
  );
}
