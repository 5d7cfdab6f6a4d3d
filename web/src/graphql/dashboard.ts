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
      byOwner {
        key
        label
        score {
          ...ScoreFields
        }
      }
      byCategory {
        key
        label
        score {
          ...ScoreFields
        }
      }
      byAssessment {
        key
        label
        score {
          ...ScoreFields
        }
      }
      byRegulation {
        key
        label
        score {
          ...ScoreFields
        }
      }
      solutions {
        solution
        earned
        possible
        remainingActions
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
