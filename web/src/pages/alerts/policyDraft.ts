import type {
  AlertConditionInput,
  AlertPolicyFieldsFragment,
  AlertTrigger,
  CreateAlertPolicyInput,
  EventType,
  OrgRole,
  ScoreDirection,
  Severity,
  UpdateAlertPolicyInput,
} from "../../gql/graphql";
import type { PickedPerson } from "../../components/PersonPicker";
import { EVENT_TYPES } from "./labels";

export const DEFAULT_AGGREGATION_SECONDS = 60;

/** One event type's condition as the form holds it: numbers as typed. */
export interface ConditionDraft {
  on: boolean;
  direction: ScoreDirection;
  minPoints: string;
  /** Empty: any status counts. */
  toStatuses: string[];
}

export interface PolicyDraft {
  name: string;
  description: string;
  severity: Severity;
  conditions: Record<EventType, ConditionDraft>;
  assessmentIds: string[];
  groupIds: string[];
  regulationIds: string[];
  categories: string[];
  trigger: AlertTrigger;
  thresholdCount: string;
  thresholdMinutes: string;
  aggregationSeconds: string;
  recipientRoles: OrgRole[];
  recipients: PickedPerson[];
  /** Also email the assignee of each affected action. */
  notifyAssignee: boolean;
  /** One mail a day per recipient instead of one per alert. */
  dailyDigest: boolean;
  enabled: boolean;
}

/**
 * The default and the built-in policies watch what they were made to watch: only their
 * switch, recipients and daily digest change; they cannot be deleted.
 */
export function isFixedPolicy(policy: AlertPolicyFieldsFragment | null | undefined): boolean {
  return Boolean(policy && (policy.isDefault || policy.isBuiltIn));
}

const OFF: ConditionDraft = { on: false, direction: "ANY", minPoints: "", toStatuses: [] };

function conditionsOf(policy: AlertPolicyFieldsFragment | null): Record<EventType, ConditionDraft> {
  const entries = EVENT_TYPES.map((type): [EventType, ConditionDraft] => {
    const found = policy?.conditions.find((condition) => condition.type === type);
    if (!found) return [type, OFF];
    return [
      type,
      {
        on: true,
        direction: found.direction ?? "ANY",
        minPoints: found.minPoints == null ? "" : String(found.minPoints),
        toStatuses: found.toStatuses ?? [],
      },
    ];
  });
  return Object.fromEntries(entries) as Record<EventType, ConditionDraft>;
}

/** The form's starting point: the policy as it is, or a new policy's defaults. */
export function draftOf(policy: AlertPolicyFieldsFragment | null): PolicyDraft {
  return {
    name: policy?.name ?? "",
    description: policy?.description ?? "",
    severity: policy?.severity ?? "MEDIUM",
    conditions: conditionsOf(policy),
    assessmentIds: policy?.scope.assessments.map((item) => item.id) ?? [],
    groupIds: policy?.scope.groups.map((item) => item.id) ?? [],
    regulationIds: policy?.scope.regulations.map((item) => item.id) ?? [],
    categories: policy?.scope.categories ?? [],
    trigger: policy?.trigger ?? "EVERY_MATCH",
    thresholdCount: policy?.thresholdCount == null ? "" : String(policy.thresholdCount),
    thresholdMinutes: policy?.thresholdMinutes == null ? "" : String(policy.thresholdMinutes),
    aggregationSeconds: String(policy?.aggregationSeconds ?? DEFAULT_AGGREGATION_SECONDS),
    recipientRoles: policy?.recipientRoles ?? [],
    recipients: policy?.recipients.map(({ id, name, email }) => ({ id, name, email })) ?? [],
    notifyAssignee: policy?.notifyAssignee ?? false,
    dailyDigest: policy?.dailyDigest ?? false,
    enabled: policy?.enabled ?? true,
  };
}

function numberOrNull(text: string): number | null {
  const trimmed = text.trim();
  return trimmed === "" ? null : Number(trimmed);
}

function conditionInputs(draft: PolicyDraft): AlertConditionInput[] {
  return EVENT_TYPES.filter((type) => draft.conditions[type].on).map((type) => {
    const condition = draft.conditions[type];
    const input: AlertConditionInput = { type };
    if (type === "SCORE_CHANGE") {
      input.direction = condition.direction;
      input.minPoints = numberOrNull(condition.minPoints);
    }
    if (
      (type === "IMPLEMENTATION_STATUS_CHANGE" || type === "TEST_STATUS_CHANGE") &&
      condition.toStatuses.length > 0
    ) {
      input.toStatuses = condition.toStatuses;
    }
    return input;
  });
}

/** Everything but the name and the on/off switch, as both inputs spell it. */
function settingsOf(draft: PolicyDraft) {
  const threshold = draft.trigger === "THRESHOLD";
  return {
    description: draft.description,
    conditions: conditionInputs(draft),
    scope: {
      assessmentIds: draft.assessmentIds,
      groupIds: draft.groupIds,
      regulationIds: draft.regulationIds,
      categories: draft.categories,
    },
    severity: draft.severity,
    trigger: draft.trigger,
    thresholdCount: threshold ? numberOrNull(draft.thresholdCount) : null,
    thresholdMinutes: threshold ? numberOrNull(draft.thresholdMinutes) : null,
    aggregationSeconds: numberOrNull(draft.aggregationSeconds) ?? DEFAULT_AGGREGATION_SECONDS,
    notifyAssignee: draft.notifyAssignee,
    recipientIds: draft.recipients.map((person) => person.id),
    recipientRoles: draft.recipientRoles,
  };
}

export function createInput(draft: PolicyDraft): CreateAlertPolicyInput {
  return {
    name: draft.name,
    enabled: draft.enabled,
    dailyDigest: draft.dailyDigest,
    ...settingsOf(draft),
  };
}

/**
 * The default and built-in policies take only their switch, recipients and daily digest; any
 * other policy everything.
 */
export function updateInput(
  policy: AlertPolicyFieldsFragment,
  draft: PolicyDraft,
): UpdateAlertPolicyInput {
  const { recipientIds, recipientRoles, ...watch } = settingsOf(draft);
  const base = {
    alertPolicyId: policy.id,
    enabled: draft.enabled,
    recipientIds,
    recipientRoles,
    dailyDigest: draft.dailyDigest,
  };
  return isFixedPolicy(policy) ? base : { ...base, ...watch };
}
