import { Link } from "react-router";
import { ScoreMeter } from "../../components/ScoreMeter";
import { formatDay, formatPoints } from "../../format";
import type { AssessmentListQuery } from "../../gql/graphql";
import { ActionCounts } from "./ActionCounts";
import { assessmentStatusLabel, formatProgress } from "./labels";
import type { AssessmentGroupBy } from "./listParams";

export type AssessmentRow = AssessmentListQuery["assessments"]["nodes"][number];

/** One table of assessments (the whole list, or one group of it). */
export function AssessmentsTable({
  caption,
  captionHidden,
  groupedBy,
  rows,
}: {
  caption: string;
  captionHidden: boolean;
  /** The caption names this for every row, so its column is left out. */
  groupedBy: AssessmentGroupBy;
  rows: readonly AssessmentRow[];
}) {
  const showGroup = groupedBy !== "group";
  return (
    <div className="table-scroll assessments-table">
      <table className="data">
        <caption className={captionHidden ? "visually-hidden" : undefined}>{caption}</caption>
        <thead>
          <tr>
            <th scope="col">Assessment</th>
            {showGroup && <th scope="col">Group</th>}
            <th scope="col">Regulation and template</th>
            <th scope="col">Status</th>
            <th scope="col" className="num">
              Progress
            </th>
            <th scope="col">Score</th>
            <th scope="col" className="num wrap">
              Your actions completed
            </th>
            <th scope="col" className="num wrap">
              Provider actions completed
            </th>
            <th scope="col">Last modified</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <tr key={row.id}>
              <th scope="row">
                <Link to={`/assessments/${encodeURIComponent(row.id)}`}>{row.name}</Link>
                {row.archived && (
                  <span className="tag">
                    Archived{row.archivedAt ? ` ${formatDay(row.archivedAt)}` : ""}
                  </span>
                )}
                {row.pendingUpdate && !row.archived && (
                  <span className="tag">Update available</span>
                )}
              </th>
              {showGroup && <td>{row.group.name}</td>}
              <td>
                {row.regulation.name}
                <br />
                <span className="muted small">
                  {row.template.title} · {row.template.product} · version {row.templateVersion}
                </span>
              </td>
              <td>{assessmentStatusLabel(row.status)}</td>
              <td className="num">{formatProgress(row.progress)}</td>
              <td className="nowrap">
                <ScoreMeter percent={row.score.percent} label={`${row.name} score`} />
                <br />
                <span className="muted small">
                  {formatPoints(row.score.earned)} of {formatPoints(row.score.possible)} points
                </span>
              </td>
              <ActionCounts
                assessmentId={row.id}
                assessmentName={row.name}
                customer={row.customerActionCounts}
                provider={row.providerActionCounts}
              />
              <td>
                <time className="nowrap" dateTime={row.lastModifiedAt}>
                  {formatDay(row.lastModifiedAt)}
                </time>
                <br />
                <span className="muted small">Created {formatDay(row.createdAt)}</span>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
