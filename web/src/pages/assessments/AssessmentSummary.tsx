import { Link } from "react-router";
import { ScoreMeter } from "../../components/ScoreMeter";
import { formatDay, formatPercent, formatPoints } from "../../format";
import { assessmentActionsPath } from "../actions/listParams";
import { assessmentStatusHint, assessmentStatusLabel, formatProgress } from "./labels";
import type { AssessmentNode, ControlAction, ControlItem } from "./types";

interface Tally {
  passed: number;
  inScope: number;
}

/** Passed and in-scope distinct actions by owner, as the controls list them. */
function tallyActions(controls: readonly ControlItem[]): { customer: Tally; provider: Tally } {
  const seen = new Map<string, ControlAction>();
  for (const control of controls) for (const action of control.actions) seen.set(action.id, action);
  const customer = { passed: 0, inScope: 0 };
  const provider = { passed: 0, inScope: 0 };
  for (const action of seen.values()) {
    if (action.testStatus === "OUT_OF_SCOPE" || action.implementationStatus === "OUT_OF_SCOPE") {
      continue;
    }
    const tally = action.owner === "PROVIDER" ? provider : customer;
    tally.inScope += 1;
    if (action.testStatus === "PASSED") tally.passed += 1;
  }
  return { customer, provider };
}

/** Score, status, progress, action counts, group, regulation and template. */
export function AssessmentSummary({ assessment }: { assessment: AssessmentNode }) {
  const { customer, provider } = tallyActions(assessment.controls);
  const { score, template } = assessment;
  return (
    <section aria-labelledby="summary-heading" className="card summary-card">
      <h2 id="summary-heading">Summary</h2>
      <div className="summary-score">
        <p className="big-number">{formatPercent(score.percent)}</p>
        <p>
          {formatPoints(score.earned)} of {formatPoints(score.possible)} points achieved
          {assessment.archived && " (frozen when archived)"}
        </p>
        <ScoreMeter percent={score.percent} label="Assessment score" />
      </div>
      <dl className="figures">
        <div>
          <dt>Status</dt>
          <dd>
            {assessmentStatusLabel(assessment.status)}
            <br />
            <span className="muted small">{assessmentStatusHint(assessment.status)}</span>
          </dd>
        </div>
        <div>
          <dt>Progress</dt>
          <dd>{formatProgress(assessment.progress)} of in-scope controls passed</dd>
        </div>
        <div>
          <dt>Your actions completed</dt>
          <dd>
            <Link to={assessmentActionsPath(assessment.id, "CUSTOMER")}>
              {customer.passed} of {customer.inScope}
            </Link>
          </dd>
        </div>
        <div>
          <dt>Provider actions completed</dt>
          <dd>
            <Link to={assessmentActionsPath(assessment.id, "PROVIDER")}>
              {provider.passed} of {provider.inScope}
            </Link>
          </dd>
        </div>
        <div>
          <dt>Group</dt>
          <dd>{assessment.group.name}</dd>
        </div>
        <div>
          <dt>Regulation</dt>
          <dd>{assessment.regulation.name}</dd>
        </div>
        <div>
          <dt>Template</dt>
          <dd>
            {template.title} · {template.product} · version {assessment.templateVersion}
            {template.version > assessment.templateVersion && (
              <span className="muted"> (latest {template.version})</span>
            )}
          </dd>
        </div>
        <div>
          <dt>Created</dt>
          <dd>{formatDay(assessment.createdAt)}</dd>
        </div>
        {assessment.archivedAt && (
          <div>
            <dt>Archived</dt>
            <dd>{formatDay(assessment.archivedAt)}</dd>
          </div>
        )}
      </dl>
    </section>
  );
}
