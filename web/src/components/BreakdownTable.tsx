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
function listPath(filter: Readonly<Record<string, string>>, extra: [string, string]): string {
  const search = new URLSearchParams(filter);
  search.append(...extra);
  return `/actions?${search.toString()}`;
}

function CountCell({
  count,
  to,
  label,
}: {
  count: number | undefined;
  to: string | null;
  label: string;
}) {
  if (count === undefined) return null;
  return (
    <td className="num">
      {count === 0 || to === null ? (
        count
      ) : (
        <Link to={to} aria-label={label}>
          {count}
        </Link>
      )}
    </td>
  );
}

/**
 * One score breakdown (by category, assessment, regulation...) as a table. With `filterOf`,
 * the overdue, due soon and retest due counts open the improvement actions list filtered to
 * the row; `labelOf` words a row whose label is a code.
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
  const columns = counts ? 6 : 3;
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
            {counts && (
              <>
                <th scope="col" className="num">
                  Overdue
                </th>
                <th scope="col" className="num">
                  Due soon
                </th>
                <th scope="col" className="num">
                  Retest due
                </th>
              </>
            )}
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
              const to = (extra: [string, string]) => (filter ? listPath(filter, extra) : null);
              return (
                <tr key={row.key}>
                  <th scope="row">{label}</th>
                  <td className="num">
                    {formatPoints(row.score.earned)} / {formatPoints(row.score.possible)}
                  </td>
                  <td>
                    <ScoreMeter percent={row.score.percent} label={`${label} score`} />
                  </td>
                  {counts && (
                    <>
                      <CountCell
                        count={row.overdueCount}
                        to={to(["due", "OVERDUE"])}
                        label={`${row.overdueCount ?? 0} overdue actions in ${label}`}
                      />
                      <CountCell
                        count={row.dueSoonCount}
                        to={to(["due", "DUE_SOON"])}
                        label={`${row.dueSoonCount ?? 0} actions due soon in ${label}`}
                      />
                      <CountCell
                        count={row.retestDueCount}
                        to={to(["retest", "1"])}
                        label={`${row.retestDueCount ?? 0} actions due for retest in ${label}`}
                      />
                    </>
                  )}
                </tr>
              );
            })
          )}
        </tbody>
      </table>
    </div>
  );
}
