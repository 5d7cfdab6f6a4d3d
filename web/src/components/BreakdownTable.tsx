import { formatPoints } from "../format";
import { ScoreMeter } from "./ScoreMeter";

export interface BreakdownRow {
  key: string;
  label: string;
  score: { earned: number; possible: number; percent: number };
}

/** One score breakdown (by category, assessment, regulation...) as a table. */
export function BreakdownTable({
  caption,
  rowHeader,
  rows,
}: {
  caption: string;
  rowHeader: string;
  rows: readonly BreakdownRow[];
}) {
  return (
    <div className="table-scroll">
      <table className="data">
        <caption>{caption}</caption>
        <thead>
          <tr>
            <th scope="col">{rowHeader}</th>
            <th scope="col" className="num">
              Points achieved
            </th>
            <th scope="col">Score</th>
          </tr>
        </thead>
        <tbody>
          {rows.length === 0 ? (
            <tr>
              <td colSpan={3}>Nothing to show yet.</td>
            </tr>
          ) : (
            rows.map((row) => (
              <tr key={row.key}>
                <th scope="row">{row.label}</th>
                <td className="num">
                  {formatPoints(row.score.earned)} / {formatPoints(row.score.possible)}
                </td>
                <td>
                  <ScoreMeter percent={row.score.percent} label={`${row.label} score`} />
                </td>
              </tr>
            ))
          )}
        </tbody>
      </table>
    </div>
  );
}
