import { graphql } from "../gql";

export const OverallScoreChanged = graphql(`
  subscription OverallScoreChanged {
    scoreChanged {
      delta
      score {
        earned
        possible
        percent
      }
    }
  }
`);
