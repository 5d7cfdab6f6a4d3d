/** The latest of some timestamps, or null when there are none. */
export function latest(values: readonly (string | null | undefined)[]): string | null {
  let best: string | null = null;
  let bestTime = -Infinity;
  for (const value of values) {
    if (!value) continue;
    const time = Date.parse(value);
    if (time > bestTime) {
      best = value;
      bestTime = time;
    }
  }
  return best;
}
