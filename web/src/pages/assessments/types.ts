import type { AssessmentDetailsQuery } from "../../gql/graphql";

/** The assessment as the details page reads it. */
export type AssessmentNode = Extract<
  NonNullable<AssessmentDetailsQuery["node"]>,
  { __typename: "Assessment" }
>;

export type ControlItem = AssessmentNode["controls"][number];
export type ControlAction = ControlItem["actions"][number];
