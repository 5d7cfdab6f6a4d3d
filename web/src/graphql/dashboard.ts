import { graphql } from "../gql";

export const ScoreFieldsFragment = graphql(`
  fragment ScoreFields on Score {
    earned
    possible
    percent
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
        key
        label
        score {
          ...ScoreFields
        }
        overdueCount
        dueSoonCount
        retestDueCount
      }
      byCategory {
        key
        label
        score {
          ...ScoreFields
        }
        overdueCount
        dueSoonCount
        retestDueCount
      }
      byAssessment {
        key
        label
        score {
          ...ScoreFields
        }
        overdueCount
        dueSoonCount
        retestDueCount
      }
      byRegulation {
        key
        label
        score {
          ...ScoreFields
        }
        overdueCount
        dueSoonCount
        retestDueCount
      }
      byActionType {
        key
        label
        score {
          ...ScoreFields
        }
        overdueCount
        dueSoonCount
        retestDueCount
      }
      byImplementationStatus {
        key
        label
        score {
          ...ScoreFields
        }
        overdueCount
        dueSoonCount
        retestDueCount
      }
      byTestStatus {
        key
        label
        score {
          ...ScoreFields
        }
        overdueCount
        dueSoonCount
        retestDueCount
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
