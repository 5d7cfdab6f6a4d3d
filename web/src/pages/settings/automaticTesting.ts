import type { AutomaticTesting } from "../../gql/graphql";

export interface TestingOption {
  value: AutomaticTesting;
  label: string;
  explanation: string;
}

/** The organisation's choices, in the order a person weighs them. */
export const TESTING_OPTIONS: readonly TestingOption[] = [
  {
    value: "ON_FOR_ALL",
    label: "On for all eligible actions (default)",
    explanation:
      "Every improvement action that can be tested automatically takes its status from " +
      "automation, unless your organisation already added its own testing data or evidence " +
      "to it (then it stays manual).",
  },
  {
    value: "PER_ACTION",
    label: "Chosen per action",
    explanation:
      "Administrators switch automatic testing on or off action by action. Actions that " +
      "gain automation start automatic unless your organisation already added its own data.",
  },
  {
    value: "OFF_FOR_ALL",
    label: "Off for all actions",
    explanation:
      "Nothing is tested automatically: every action's testing is entered by hand, by " +
      "assessors.",
  },
];

/** The label of a setting; the server's own value for one this page does not know yet. */
export function testingLabel(value: AutomaticTesting): string {
  return TESTING_OPTIONS.find((option) => option.value === value)?.label ?? value;
}
