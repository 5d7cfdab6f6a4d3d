import { useQuery, useSubscription } from "@apollo/client/react";
import { Link } from "react-router";
import { BreakdownTable } from "../components/BreakdownTable";
import { ScoreMeter } from "../components/ScoreMeter";
import {
  formatPercent,
  formatPoints,
  implementationLabel,
  ownerLabel,
  testLabel,
} from "../format";
import { DashboardQuery } from "../graphql/dashboard";
import { OverallScoreChanged } from "../graphql/scoreChanged";

const KEY_ACTIONS = 10;

export function Dashboard() {
  const { data, error, loading, refetch } = useQuery(DashboardQuery, {
    variables: { keyActions: KEY_ACTIONS },
  });
  // Live: someone else's change lands as a score change; read the breakdowns again.
  useSubscription(OverallScoreChanged, {
    onData: () => {
      void refetch();
    },
  });

  if (!data) {
    return (
      <>
        <h1>Overview</h1>
        {error ? (
          <p role="alert">The overview could not be loaded: {error.message}</p>
        ) : (
          <p aria-busy={loading}>Loading the compliance score…</p>
        )}
      </>
    );
  }

  const score = data.complianceScore;
  return (
    <>
      <h1>Overview</h1>
      {error && <p role="alert">Showing earlier numbers: {error.message}</p>}

      <section aria-labelledby="overall-heading" className="card">
        <h2 id="overall-heading">Overall compliance score</h2>
        <p className="big-number">{formatPercent(score.overall.percent)}</p>
        <p>
          {formatPoints(score.overall.earned)} of {formatPoints(score.overall.possible)} points
          achieved
        </p>
        <ScoreMeter percent={score.overall.percent} label="Overall compliance score" />
        {score.byOwner.length > 0 && (
          <dl className="split">
            {score.byOwner.map((row) => (
              <div key={row.key}>
                <dt>{ownerLabel(row.key, row.label)}</dt>
                <dd>
                  {formatPoints(row.score.earned)} / {formatPoints(row.score.possible)} points
                </dd>
              </div>
            ))}
          </dl>
        )}
      </section>

      <section aria-labelledby="key-actions-heading">
        <h2 id="key-actions-heading">Key improvement actions</h2>
        {score.contributions.length === 0 ? (
          <p>No points left to earn: every action in your assessments has passed.</p>
        ) : (
          <table className="data">
            <caption className="visually-hidden">Actions with the most points left to earn</caption>
            <thead>
              <tr>
                <th scope="col">Improvement action</th>
                <th scope="col" className="num">
                  Score impact
                </th>
                <th scope="col" className="num">
                  Points achieved
                </th>
                <th scope="col">Implementation</th>
                <th scope="col">Test status</th>
                <th scope="col">Assigned to</th>
              </tr>
            </thead>
            <tbody>
              {score.contributions.map((item) => (
                <tr key={item.action.id}>
                  <th scope="row">
                    <Link to={`/actions/${encodeURIComponent(item.action.id)}`}>
                      {item.action.title}
                    </Link>
                  </th>
                  <td className="num">+{formatPoints(item.remaining)}</td>
                  <td className="num">
                    {formatPoints(item.earned)} / {formatPoints(item.possible)}
                  </td>
                  <td>{implementationLabel(item.action.implementationStatus)}</td>
                  <td>{testLabel(item.action.testStatus)}</td>
                  <td>{item.action.assignee?.name ?? <span className="muted">Unassigned</span>}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>

      <div className="grid">
        <BreakdownTable caption="By category" rowHeader="Category" rows={score.byCategory} />
        <BreakdownTable caption="By assessment" rowHeader="Assessment" rows={score.byAssessment} />
        <BreakdownTable caption="By regulation" rowHeader="Regulation" rows={score.byRegulation} />
      </div>

      <section aria-labelledby="solutions-heading">
        <h2 id="solutions-heading">Solutions that affect your score</h2>
        <table className="data">
          <thead>
            <tr>
              <th scope="col">Solution</th>
              <th scope="col" className="num">
                Points achieved
              </th>
              <th scope="col" className="num">
                Remaining actions
              </th>
            </tr>
          </thead>
          <tbody>
            {score.solutions.length === 0 ? (
              <tr>
                <td colSpan={3}>No solutions yet: create an assessment from a template.</td>
              </tr>
            ) : (
              score.solutions.map((row) => (
                <tr key={row.solution}>
                  <th scope="row">{row.solution}</th>
                  <td className="num">
                    {formatPoints(row.earned)} / {formatPoints(row.possible)}
                  </td>
                  <td className="num">
                    {row.remainingActions === 0 ? (
                      0
                    ) : (
                      <Link
                        to={`/actions?${new URLSearchParams({ solution: row.solution }).toString()}`}
                        aria-label={`${row.remainingActions} remaining actions in ${row.solution}`}
                      >
                        {row.remainingActions}
                      </Link>
                    )}
                  </td>
                </tr>
              ))
            )}
          </tbody>
        </table>
      </section>
    </>
  );
}
