import { graphql } from "../gql";

export const ScoreFieldsFragment = graphql(`
  fragment ScoreFields on Score {
    earned
    possible
    percent
  }
`);

/** One row of a breakdown: its score and how much of its work is late or due. */
export const BreakdownRowFieldsFragment = graphql(`
  fragment BreakdownRowFields on ScoreBreakdown {
    key
    label
    score {
      ...ScoreFields
    }
    overdueCount
    dueSoonCount
    retestDueCount
  }
`);

export const DashboardQuery = graphql(`
  query Dashboard($keyActions: Int!) {
    complianceScore {
      overall {
        ...ScoreFields
      }
      overdueCount
      dueSoonCount
      retestDueCount
      byOwner {
        ...BreakdownRowFields
      }
      byCategory {
        ...BreakdownRowFields
      }
      byAssessment {
        ...BreakdownRowFields
      }
      byRegulation {
        ...BreakdownRowFields
      }
      byActionType {
        ...BreakdownRowFields
      }
      byImplementationStatus {
        ...BreakdownRowFields
      }
      byTestStatus {
        ...BreakdownRowFields
      }
      contributions(first: $keyActions) {
        earned
        possible
        remaining
        action {
          id
          title
          implementationStatus
          testStatus
          assignee {
            id
            name
          }
        }
      }
    }
  }
`);

/** Per solution, of the action types chosen (all when none). */
export const DashboardSolutionsQuery = graphql(`
  query DashboardSolutions($implementationTypes: [ImplementationType!]) {
    complianceScore {
      solutions(implementationTypes: $implementationTypes) {
        solution
        earned
        possible
        remainingActions
      }
    }
  }
`);
