import { graphql } from "../gql";

export const ViewerQuery = graphql(`
  query Viewer {
    viewer {
      role
      user {
        id
        name
        email
      }
    }
  }
`);
