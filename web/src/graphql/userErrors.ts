import { graphql } from "../gql";

/** What every mutation's refusals carry; components/MutationProblems.tsx shows them. */
export const UserErrorFieldsFragment = graphql(`
  fragment UserErrorFields on UserError {
    field
    code
    message
  }
`);
