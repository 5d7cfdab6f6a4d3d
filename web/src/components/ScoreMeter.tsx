import { formatPercent } from "../format";

/** A score as a bar with its percentage in words (colour is never the only signal). */
export function ScoreMeter({ percent, label }: { percent: number; label: string }) {
  return (
    <span className="score-meter">
      <meter min={0} max={100} value={percent} aria-label={label} />
      <span>{formatPercent(percent)}</span>
    </span>
  );
}
