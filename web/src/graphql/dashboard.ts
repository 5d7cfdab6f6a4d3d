import { graphql } from "../gql";

export const DashboardQuery = graphql(`
  query Dashboard($keyActions: Int!) {
    complianceScore {
      overall {
        earned
        possible
        percent
      }
      byOwner {
        key
        label
        score {
          earned
          possible
          percent
        }
      }
      byCategory {
        key
        label
        score {
          earned
          possible
          percent
        }
      }
      byAssessment {
        key
        label
        score {
          earned
          possible
          percent
        }
      }
      byRegulation {
        key
        label
        score {
          earned
          possible
          percent
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
