import { useQuery, useSubscription } from "@apollo/client/react";
import { useId, useState } from "react";
import { Link } from "react-router";
import { BreakdownTable, type BreakdownRow } from "../components/BreakdownTable";
import { ScoreMeter } from "../components/ScoreMeter";
import {
  formatPercent,
  formatPoints,
  IMPLEMENTATION_TYPES,
  implementationLabel,
  implementationTypeLabel,
  isImplementationStatus,
  isImplementationType,
  isTestStatus,
  ownerLabel,
  testLabel,
} from "../format";
import type { ImplementationType } from "../gql/graphql";
import { DashboardQuery, DashboardSolutionsQuery } from "../graphql/dashboard";
import { OverallScoreChanged } from "../graphql/scoreChanged";

const KEY_ACTIONS = 10;

export function Dashboard() {
  const { data, error, loading, refetch } = useQuery(DashboardQuery, {
    variables: { keyActions: KEY_ACTIONS },
  });
  const [solutionType, setSolutionType] = useState<ImplementationType | "">("");
  const solutions = useQuery(DashboardSolutionsQuery, {
    variables: { implementationTypes: solutionType ? [solutionType] : null },
  });
  const refetchSolutions = solutions.refetch;
  // Live: someone else's change lands as a score change; read the breakdowns again.
  useSubscription(OverallScoreChanged, {
    onData: () => {
      void refetch();
      void refetchSolutions();
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
  const solutionRows = (solutions.data ?? solutions.previousData)?.complianceScore.solutions ?? [];
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
        <ul className="due-summary">
          <DueCount count={score.overdueCount} what="overdue" to="/actions?due=OVERDUE" />
          <DueCount count={score.dueSoonCount} what="due soon" to="/actions?due=DUE_SOON" />
          <DueCount count={score.retestDueCount} what="due for retest" to="/actions?retest=1" />
        </ul>
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

      <div className="grid breakdowns">
        <BreakdownTable
          caption="By category"
          rowHeader="Category"
          rows={score.byCategory}
          filterOf={(row) => ({ category: row.key })}
        />
        <BreakdownTable
          caption="By assessment"
          rowHeader="Assessment"
          rows={score.byAssessment}
          filterOf={(row) => ({ assessment: row.key })}
        />
        <BreakdownTable
          caption="By regulation"
          rowHeader="Regulation"
          rows={score.byRegulation}
          filterOf={(row) => ({ regulation: row.key })}
        />
        <BreakdownTable
          caption="By action type"
          rowHeader="Action type"
          rows={score.byActionType}
          labelOf={typeRowLabel}
          filterOf={(row) => ({ type: row.key })}
        />
        <BreakdownTable
          caption="By implementation status"
          rowHeader="Implementation status"
          rows={score.byImplementationStatus}
          labelOf={implementationRowLabel}
          filterOf={(row) => ({ implementation: row.key })}
        />
        <BreakdownTable
          caption="By test status"
          rowHeader="Test status"
          rows={score.byTestStatus}
          labelOf={testRowLabel}
          filterOf={(row) => ({ test: row.key })}
        />
      </div>

      <section aria-labelledby="solutions-heading">
        <h2 id="solutions-heading">Solutions that affect your score</h2>
        <SolutionTypeChoice value={solutionType} onChange={setSolutionType} />
        {solutions.error && (
          <p role="alert">The solutions could not be loaded: {solutions.error.message}</p>
        )}
        <table className="data" aria-busy={solutions.loading}>
          <caption className="visually-hidden">
            Solutions
            {solutionType ? `, ${implementationTypeLabel(solutionType)} actions only` : ""}
          </caption>
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
            {solutionRows.length === 0 ? (
              <tr>
                <td colSpan={3}>
                  {solutionType
                    ? "No solutions with actions of this type."
                    : "No solutions yet: create an assessment from a template."}
                </td>
              </tr>
            ) : (
              solutionRows.map((row) => (
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
                        to={`/actions?${new URLSearchParams({
                          solution: row.solution,
                          ...(solutionType ? { type: solutionType } : {}),
                        }).toString()}`}
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

function typeRowLabel(row: BreakdownRow): string {
  return isImplementationType(row.key) ? implementationTypeLabel(row.key) : row.label;
}

function implementationRowLabel(row: BreakdownRow): string {
  return isImplementationStatus(row.key) ? implementationLabel(row.key) : row.label;
}

function testRowLabel(row: BreakdownRow): string {
  return isTestStatus(row.key) ? testLabel(row.key) : row.label;
}

/** One of the overall counts, opening the list of those actions when there are any. */
function DueCount({ count, what, to }: { count: number; what: string; to: string }) {
  const text = `${count} ${count === 1 ? "action" : "actions"} ${what}`;
  return <li>{count === 0 ? text : <Link to={to}>{text}</Link>}</li>;
}

/** The solutions table's action type: all, or one type. */
function SolutionTypeChoice({
  value,
  onChange,
}: {
  value: ImplementationType | "";
  onChange: (value: ImplementationType | "") => void;
}) {
  const id = useId();
  return (
    <p>
      <label htmlFor={`${id}-type`}>Action type </label>
      <select
        id={`${id}-type`}
        value={value}
        onChange={(event) => {
          const type = IMPLEMENTATION_TYPES.find((item) => item === event.target.value);
          onChange(type ?? "");
        }}
      >
        <option value="">All action types</option>
        {IMPLEMENTATION_TYPES.map((type) => (
          <option key={type} value={type}>
            {implementationTypeLabel(type)}
          </option>
        ))}
      </select>
    </p>
  );
}
