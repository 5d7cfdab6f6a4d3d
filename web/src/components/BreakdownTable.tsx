import { Link } from "react-router";
import { formatPoints } from "../format";
import { ScoreMeter } from "./ScoreMeter";

export interface BreakdownRow {
  key: string;
  label: string;
  score: { earned: number; possible: number; percent: number };
  overdueCount?: number;
  dueSoonCount?: number;
  retestDueCount?: number;
}

/** The improvement actions list's address for one row, with one more filter (`due=…`). */
function listPath(
  filter: Readonly<Record<string, string>>,
  extra: readonly [string, string],
): string {
  const search = new URLSearchParams(filter);
  search.append(extra[0], extra[1]);
  return `/actions?${search.toString()}`;
}

/** The non-zero counts of a row, each a link to those actions when the row has a filter. */
function AttentionCell({
  row,
  label,
  filter,
}: {
  row: BreakdownRow;
  label: string;
  filter: Readonly<Record<string, string>> | undefined;
}) {
  const items = (
    [
      [row.overdueCount ?? 0, "overdue", ["due", "OVERDUE"]],
      [row.dueSoonCount ?? 0, "due soon", ["due", "DUE_SOON"]],
      [row.retestDueCount ?? 0, "retest due", ["retest", "1"]],
    ] as const
  ).filter(([count]) => count > 0);
  if (items.length === 0) {
    return (
      <td>
        <span className="muted">None</span>
      </td>
    );
  }
  return (
    <td>
      <ul className="attention">
        {items.map(([count, what, extra]) => (
          <li key={what}>
            {filter ? (
              <Link to={listPath(filter, extra)} aria-label={`${count} ${what} in ${label}`}>
                {count} {what}
              </Link>
            ) : (
              `${count} ${what}`
            )}
          </li>
        ))}
      </ul>
    </td>
  );
}

/**
 * One score breakdown (by category, assessment, regulation...) as a table, with each row's
 * overdue, due soon and retest due actions when the rows carry them; with `filterOf`, each
 * count opens the improvement actions list filtered to the row and that state. `labelOf`
 * words a row whose label is a code.
 */
export function BreakdownTable({
  caption,
  rowHeader,
  rows,
  filterOf,
  labelOf = (row) => row.label,
}: {
  caption: string;
  rowHeader: string;
  rows: readonly BreakdownRow[];
  /** The list's URL filter for a row, e.g. { category: row.key }. */
  filterOf?: (row: BreakdownRow) => Readonly<Record<string, string>>;
  labelOf?: (row: BreakdownRow) => string;
}) {
  const counts = rows.some((row) => row.overdueCount !== undefined);
  const columns = counts ? 4 : 3;
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
            {counts && <th scope="col">Needs attention</th>}
          </tr>
        </thead>
        <tbody>
          {rows.length === 0 ? (
            <tr>
              <td colSpan={columns}>Nothing to show yet.</td>
            </tr>
          ) : (
            rows.map((row) => {
              const label = labelOf(row);
              const filter = filterOf?.(row);
              return (
                <tr key={row.key}>
                  <th scope="row">{label}</th>
                  <td className="num">
                    {formatPoints(row.score.earned)} / {formatPoints(row.score.possible)}
                  </td>
                  <td>
                    <ScoreMeter percent={row.score.percent} label={`${label} score`} />
                  </td>
                  {counts && <AttentionCell row={row} label={label} filter={filter} />}
                </tr>
              );
            })
          )}
        </tbody>
      </table>
    </div>
  );
}
