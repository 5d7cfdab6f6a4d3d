import type { EventType } from "../../gql/graphql";
import {
  DIRECTIONS,
  EVENT_TYPES,
  directionLabel,
  eventTypeLabel,
  statusValueLabel,
  statusesFor,
} from "./labels";
import type { ConditionDraft, PolicyDraft } from "./policyDraft";

const HINTS: Record<EventType, string> = {
  SCORE_CHANGE: "An action's points achieved go up or down.",
  IMPLEMENTATION_STATUS_CHANGE: "An action's implementation status changes.",
  TEST_STATUS_CHANGE: "An action's test status changes.",
  ASSIGNMENT_CHANGE: "An action is assigned, reassigned or unassigned.",
  EVIDENCE_CHANGE: "Evidence is added to or removed from an action.",
  UPDATE_AVAILABLE: "A new version of an action or a template is available.",
  DUE_SOON: "An open action's due date is within the organisation's due-soon days (checked daily).",
  OVERDUE: "An open action is past its due date (checked daily).",
  RETEST_DUE: "A passed action's retest day has come (checked daily).",
  EVIDENCE_EXPIRING: "Evidence reaches its review-by date (checked daily).",
};

function Narrowing({
  type,
  condition,
  onChange,
}: {
  type: EventType;
  condition: ConditionDraft;
  onChange: (change: Partial<ConditionDraft>) => void;
}) {
  const statuses = statusesFor(type);
  if (type === "SCORE_CHANGE") {
    return (
      <div className="narrowing">
        <label>
          Direction
          <select
            value={condition.direction}
            onChange={(event) => {
              const direction = DIRECTIONS.find((value) => value === event.target.value);
              if (direction) onChange({ direction });
            }}
          >
            {DIRECTIONS.map((value) => (
              <option key={value} value={value}>
                {directionLabel(value)}
              </option>
            ))}
          </select>
        </label>
        <label>
          Smallest change (points, optional)
          <input
            type="number"
            min="0.1"
            step="any"
            value={condition.minPoints}
            onChange={(event) => {
              onChange({ minPoints: event.target.value });
            }}
          />
        </label>
      </div>
    );
  }
  if (statuses.length === 0) return null;
  return (
    <fieldset className="narrowing">
      <legend>Only changes to (none ticked: any status)</legend>
      <div className="choice-list">
        {statuses.map((status) => (
          <label key={status} className="check">
            <input
              type="checkbox"
              checked={condition.toStatuses.includes(status)}
              onChange={(event) => {
                onChange({
                  toStatuses: event.target.checked
                    ? [...condition.toStatuses, status]
                    : condition.toStatuses.filter((value) => value !== status),
                });
              }}
            />
            {statusValueLabel(type, status)}
          </label>
        ))}
      </div>
    </fieldset>
  );
}

/** Which events the policy watches (any one matching counts), each with its narrowing. */
export function ConditionsFieldset({
  draft,
  onChange,
}: {
  draft: PolicyDraft;
  onChange: (conditions: PolicyDraft["conditions"]) => void;
}) {
  const change = (type: EventType, part: Partial<ConditionDraft>) => {
    onChange({ ...draft.conditions, [type]: { ...draft.conditions[type], ...part } });
  };
  return (
    <fieldset>
      <legend>Conditions (any one matching raises an alert)</legend>
      {EVENT_TYPES.map((type) => {
        const condition = draft.conditions[type];
        return (
          <div key={type} className="condition">
            <label className="check">
              <input
                type="checkbox"
                checked={condition.on}
                onChange={(event) => {
                  change(type, { on: event.target.checked });
                }}
              />
              {eventTypeLabel(type)}
            </label>
            <span className="muted"> {HINTS[type]}</span>
            {condition.on && (
              <Narrowing
                type={type}
                condition={condition}
                onChange={(part) => {
                  change(type, part);
                }}
              />
            )}
          </div>
        );
      })}
    </fieldset>
  );
}
