import { formatPercent, formatPoints } from "../../format";
import type { ImportActionsMutation } from "../../gql/graphql";
import { MutationProblems } from "../../components/MutationProblems";

type ImportPayload = ImportActionsMutation["importImprovementActions"];

function signed(value: number): string {
  return `${value > 0 ? "+" : value < 0 ? "−" : "±"}${formatPoints(Math.abs(value))}`;
}

/** One sentence on what the upload did or would do. */
export function importHeadline(payload: ImportPayload, dryRun: boolean): string {
  const errors = payload.rowErrors.length;
  if (errors > 0) {
    return `${errors === 1 ? "1 problem" : `${errors} problems`} found: nothing was applied. Fix the file and check it again.`;
  }
  if (payload.userErrors.length > 0) return "The file was refused: nothing was applied.";
  const summary = payload.summary;
  if (!summary) return "The file could not be read: nothing was applied.";
  const changed = summary.actionsChanged === 1 ? "1 action" : `${summary.actionsChanged} actions`;
  if (payload.applied) {
    return `Applied: ${changed} changed (overall score ${signed(summary.overallDelta)} points).`;
  }
  return dryRun
    ? `Check passed: ${summary.rowsRead} rows read; applying would change ${changed} (overall score ${signed(summary.overallDelta)} points).`
    : "Nothing was applied.";
}

/** The per-row errors and the score impact of an import or its dry run. */
export function ImportReport({ payload }: { payload: ImportPayload }) {
  const summary = payload.summary;
  const conflicts = payload.rowErrors.some((error) => error.code === "CONFLICT");
  return (
    <div className="al-import-report">
      <MutationProblems problems={payload.userErrors} />
      {conflicts && (
        <p className="form-error">
          Someone changed some of these actions after your export. Export the list again, make your
          edits in the new file, and check it again: the newer changes are kept.
        </p>
      )}
      {payload.rowErrors.length > 0 && (
        <div className="table-scroll">
          <table className="data">
            <caption>Problems in the file</caption>
            <thead>
              <tr>
                <th scope="col">Sheet</th>
                <th scope="col" className="num">
                  Row
                </th>
                <th scope="col">Column</th>
                <th scope="col">Problem</th>
              </tr>
            </thead>
            <tbody>
              {payload.rowErrors.map((error, index) => (
                <tr key={index}>
                  <td>{error.sheet || <span className="muted">Whole file</span>}</td>
                  <th scope="row" className="num">
                    {error.row === 0 ? <span className="muted">Whole sheet</span> : error.row}
                  </th>
                  <td>{error.column ?? <span className="muted">—</span>}</td>
                  <td>{error.message}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {summary && (
        <>
          <dl className="split al-import-summary">
            <div>
              <dt>Rows read</dt>
              <dd>{summary.rowsRead}</dd>
            </div>
            <div>
              <dt>Actions changed</dt>
              <dd>{summary.actionsChanged}</dd>
            </div>
            <div>
              <dt>Overall score before</dt>
              <dd>
                {formatPoints(summary.overallBefore.earned)} /{" "}
                {formatPoints(summary.overallBefore.possible)} (
                {formatPercent(summary.overallBefore.percent)})
              </dd>
            </div>
            <div>
              <dt>Overall score after</dt>
              <dd>
                {formatPoints(summary.overallAfter.earned)} /{" "}
                {formatPoints(summary.overallAfter.possible)} (
                {formatPercent(summary.overallAfter.percent)})
              </dd>
            </div>
            <div>
              <dt>Score impact</dt>
              <dd>{signed(summary.overallDelta)} points</dd>
            </div>
          </dl>
          {summary.assessmentsAffected.length > 0 && (
            <div className="table-scroll">
              <table className="data">
                <caption>Assessments affected</caption>
                <thead>
                  <tr>
                    <th scope="col">Assessment</th>
                    <th scope="col" className="num">
                      Before
                    </th>
                    <th scope="col" className="num">
                      After
                    </th>
                    <th scope="col" className="num">
                      Score impact
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {summary.assessmentsAffected.map((change, index) => (
                    <tr key={change.assessment?.id ?? index}>
                      <th scope="row">
                        {change.assessment?.name ?? (
                          <span className="muted">An assessment you cannot read</span>
                        )}
                      </th>
                      <td className="num">
                        {formatPoints(change.before.earned)} /{" "}
                        {formatPoints(change.before.possible)}
                      </td>
                      <td className="num">
                        {formatPoints(change.after.earned)} / {formatPoints(change.after.possible)}
                      </td>
                      <td className="num">{signed(change.delta)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </>
      )}
    </div>
  );
}
