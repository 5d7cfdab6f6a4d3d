import { graphql } from "../../gql";

export const PeopleListQuery = graphql(`
  query PeopleList($filter: UserFilter, $first: Int!, $after: String) {
    users(filter: $filter, orderBy: { field: NAME, direction: ASC }, first: $first, after: $after) {
      totalCount
      pageInfo {
        hasNextPage
        endCursor
      }
      nodes {
        id
        name
        email
        role
        isAutomation
        disabledAt
        sessions(includeEnded: true) {
          id
          lastSeenAt
        }
        apiTokens {
          id
          lastUsedAt
        }
      }
    }
  }
`);

export const PersonQuery = graphql(`
  query Person($id: ID!) {
    node(id: $id) {
      ... on User {
        id
        name
        email
        role
        isAutomation
        createdAt
        disabledAt
        grants {
          id
          role
          createdAt
          assessment {
            id
            name
          }
          regulation {
            id
            name
          }
        }
        apiTokens {
          id
          name
          prefix
          createdAt
          expiresAt
          revokedAt
          lastUsedAt
          active
        }
        sessions(includeEnded: true) {
          id
          createdAt
          lastSeenAt
          expiresAt
          endedAt
          address
          userAgent
          active
        }
      }
    }
  }
`);

export const AuditTrailQuery = graphql(`
  query PersonAuditTrail($userId: ID!, $first: Int!, $after: String) {
    auditEvents(userId: $userId, first: $first, after: $after) {
      totalCount
      pageInfo {
        hasNextPage
        endCursor
      }
      nodes {
        id
        action
        createdAt
        detail
        actor {
          id
          name
        }
      }
    }
  }
`);

export const GrantScopesQuery = graphql(`
  query GrantScopes {
    assessments(orderBy: { field: NAME, direction: ASC }, first: 100) {
      totalCount
      nodes {
        id
        name
        archived
        regulation {
          id
          name
        }
      }
    }
  }
`);

export const InviteUserMutation = graphql(`
  mutation InviteUser($input: InviteUserInput!) {
    inviteUser(input: $input) {
      user {
        id
        name
        email
        role
      }
      userErrors {
        ...UserErrorFields
      }
    }
  }
`);

export const UpdateUserMutation = graphql(`
  mutation UpdateUser($input: UpdateUserInput!) {
    updateUser(input: $input) {
      user {
        id
        name
        role
        disabledAt
      }
      userErrors {
        ...UserErrorFields
      }
    }
  }
`);

export const GrantAccessMutation = graphql(`
  mutation GrantAccess($input: GrantAccessInput!) {
    grantAccess(input: $input) {
      grant {
        id
        role
      }
      userErrors {
        ...UserErrorFields
      }
    }
  }
`);

export const RevokeGrantMutation = graphql(`
  mutation RevokeGrant($input: RevokeGrantInput!) {
    revokeGrant(input: $input) {
      user {
        id
      }
      userErrors {
        ...UserErrorFields
      }
    }
  }
`);

export const CreateApiTokenMutation = graphql(`
  mutation CreateApiToken($input: CreateApiTokenInput!) {
    createApiToken(input: $input) {
      secret
      token {
        id
        name
        prefix
      }
      userErrors {
        ...UserErrorFields
      }
    }
  }
`);

export const RevokeApiTokenMutation = graphql(`
  mutation RevokeApiToken($input: RevokeApiTokenInput!) {
    revokeApiToken(input: $input) {
      token {
        id
        revokedAt
        active
      }
      userErrors {
        ...UserErrorFields
      }
    }
  }
`);

export const EndSessionMutation = graphql(`
  mutation EndSession($input: EndSessionInput!) {
    endSession(input: $input) {
      session {
        id
        endedAt
        active
      }
      userErrors {
        ...UserErrorFields
      }
    }
  }
`);

export const EndSessionsMutation = graphql(`
  mutation EndSessions($input: EndSessionsInput!) {
    endSessions(input: $input) {
      endedCount
      userErrors {
        ...UserErrorFields
      }
    }
  }
`);
