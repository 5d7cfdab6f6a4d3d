import type { AlertPolicyFieldsFragment } from "../../gql/graphql";
import { formatPoints } from "../../format";
import {
  directionLabel,
  eventTypeLabel,
  formatSeconds,
  recipientRoleLabel,
  statusValueLabel,
  triggerLabel,
} from "./labels";

type Policy = AlertPolicyFieldsFragment;

/** Each condition in words, e.g. "Score change: down only, at least 5 points". */
export function conditionLines(policy: Policy): string[] {
  return policy.conditions.map((condition) => {
    const narrowing: string[] = [];
    if (condition.direction && condition.direction !== "ANY") {
      narrowing.push(directionLabel(condition.direction).toLowerCase());
    }
    if (condition.minPoints != null) {
      narrowing.push(`at least ${formatPoints(condition.minPoints)} points`);
    }
    if (condition.toStatuses && condition.toStatuses.length > 0) {
      const statuses = condition.toStatuses.map((s) => statusValueLabel(condition.type, s));
      narrowing.push(`to ${statuses.join(" or ")}`);
    }
    const name = eventTypeLabel(condition.type);
    return narrowing.length > 0 ? `${name}: ${narrowing.join(", ")}` : name;
  });
}

export function scopeLines(policy: Policy): string[] {
  const { assessments, groups, regulations, categories } = policy.scope;
  const lines = [
    ["Assessments", assessments.map((a) => a.name)],
    ["Groups", groups.map((g) => g.name)],
    ["Regulations", regulations.map((r) => r.name)],
    ["Categories", categories],
  ] as const;
  const named = lines.filter(([, names]) => names.length > 0);
  return named.length === 0
    ? ["Everywhere"]
    : named.map(([label, names]) => `${label}: ${names.join(", ")}`);
}

export function triggerText(policy: Policy): string {
  const grouping = `grouped over ${formatSeconds(policy.aggregationSeconds)}`;
  if (policy.trigger === "THRESHOLD" && policy.thresholdCount && policy.thresholdMinutes) {
    return `At least ${policy.thresholdCount} matches within ${policy.thresholdMinutes} min; ${grouping}`;
  }
  return `${triggerLabel(policy.trigger)}; ${grouping}`;
}

export function recipientLines(policy: Policy): string[] {
  const lines = policy.recipientRoles.map(recipientRoleLabel);
  lines.push(...policy.recipients.map((person) => person.name));
  if (policy.createdBy && !policy.recipients.some((p) => p.id === policy.createdBy?.id)) {
    lines.push(`${policy.createdBy.name} (creator)`);
  }
  if (policy.notifyAssignee) lines.push("The assignee of each affected action");
  if (lines.length === 0) lines.push("Nobody");
  if (policy.dailyDigest) lines.push("As a daily digest");
  return lines;
}
