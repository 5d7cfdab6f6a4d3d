import { useState } from "react";

/** A form's values as text (selects, dates and notes), keyed by field. */
export type FormValues = Record<string, string>;

interface DraftState<T extends FormValues> {
  /** The action's values when editing started (or was last rebased). */
  base: T;
  baseVersion: number;
  values: T;
}

export interface VersionedDraft<T extends FormValues> {
  values: T;
  /** The version to send: the one the edits were made on. */
  baseVersion: number;
  base: T;
  dirty: boolean;
  /** Someone else's change arrived while these edits were open. */
  stale: boolean;
  set: (field: keyof T, value: string) => void;
  /** Take the latest version as the base and keep the edited fields, to submit them over it. */
  keepMine: () => void;
  /** Drop the edits and show the latest values. */
  discard: () => void;
}

function same<T extends FormValues>(a: T, b: T): boolean {
  return Object.keys(a).every((key) => a[key] === b[key]);
}

/** The person's edited fields over the latest values; untouched fields take the latest. */
function rebased<T extends FormValues>(values: T, base: T, latest: T): T {
  const result: FormValues = { ...latest };
  for (const key of Object.keys(values)) {
    if (values[key] !== base[key]) result[key] = values[key] ?? "";
  }
  return result as T;
}

/**
 * Edits of a versioned action. While the form is untouched it follows the action as it
 * changes; once edited, a newer version is never merged in silently: `stale` turns on until
 * the person keeps their edits on the new version or discards them.
 */
export function useVersionedDraft<T extends FormValues>(
  version: number,
  current: T,
): VersionedDraft<T> {
  const [state, setState] = useState<DraftState<T>>({
    base: current,
    baseVersion: version,
    values: current,
  });
  const dirty = !same(state.values, state.base);
  let effective = state;
  if (version !== state.baseVersion && (!dirty || same(state.values, current))) {
    // Untouched, or the new version already holds these edits (our own save): follow it.
    effective = { base: current, baseVersion: version, values: current };
    setState(effective);
  }
  return {
    values: effective.values,
    base: effective.base,
    baseVersion: effective.baseVersion,
    dirty: !same(effective.values, effective.base),
    stale: version !== effective.baseVersion,
    set: (field, value) => {
      setState((previous) => ({ ...previous, values: { ...previous.values, [field]: value } }));
    },
    keepMine: () => {
      setState((previous) => ({
        base: current,
        baseVersion: version,
        values: rebased(previous.values, previous.base, current),
      }));
    },
    discard: () => {
      setState({ base: current, baseVersion: version, values: current });
    },
  };
}
