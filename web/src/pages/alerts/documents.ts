import { graphql } from "../../gql";

export const AlertListFields = graphql(`
  fragment AlertListFields on Alert {
    id
    severity
    status
    kind
    policyName
    detectedAt
    updatedAt
    eventCount
    assignee {
      id
      name
      email
    }
  }
`);

export const AlertsListQuery = graphql(`
  query AlertsList($filter: AlertFilter, $first: Int!, $after: String) {
    alerts(filter: $filter, first: $first, after: $after) {
      totalCount
      pageInfo {
        hasNextPage
        endCursor
      }
      nodes {
        ...AlertListFields
      }
    }
  }
`);

/** What the list's filters offer: policies by name and, for contributors, people. */
export const AlertFilterOptionsQuery = graphql(`
  query AlertFilterOptions {
    alertPolicies(first: 100) {
      nodes {
        id
        name
      }
    }
  }
`);

export const AlertDetailsQuery = graphql(`
  query AlertDetails($id: ID!) {
    node(id: $id) {
      ... on Alert {
        ...AlertListFields
        windowEndsAt
        policy {
          id
          name
          description
        }
        events {
          type
          occurredAt
          details
          pointsDelta
          fromStatus
          toStatus
          user {
            id
            name
          }
          action {
            id
            title
          }
          assessments {
            id
            name
          }
        }
      }
    }
  }
`);

export const AlertChangedSubscription = graphql(`
  subscription AlertChanged {
    alertChanged {
      ...AlertListFields
    }
  }
`);

export const UpdateAlertMutation = graphql(`
  mutation UpdateAlert($input: UpdateAlertInput!) {
    updateAlert(input: $input) {
      alert {
        ...AlertListFields
      }
      userErrors {
        ...UserErrorFields
      }
    }
  }
`);

export const PeopleSearchQuery = graphql(`
  query AlertPeopleSearch($search: String, $first: Int!) {
    people(search: $search, first: $first) {
      totalCount
      nodes {
        id
        name
        email
      }
    }
  }
`);

export const AlertPolicyFields = graphql(`
  fragment AlertPolicyFields on AlertPolicy {
    id
    name
    description
    severity
    trigger
    thresholdCount
    thresholdMinutes
    aggregationSeconds
    enabled
    isDefault
    isBuiltIn
    notifyAssignee
    dailyDigest
    recipientRoles
    recipients {
      id
      name
      email
    }
    conditions {
      type
      direction
      minPoints
      toStatuses
    }
    scope {
      categories
      assessments {
        id
        name
      }
      groups {
        id
        name
      }
      regulations {
        id
        name
      }
    }
    createdBy {
      id
      name
    }
    updatedAt
  }
`);

export const AlertPoliciesQuery = graphql(`
  query AlertPolicies {
    alertPolicies(first: 100) {
      totalCount
      nodes {
        ...AlertPolicyFields
      }
    }
  }
`);

/** What a policy's scope can name: assessments (with their groups and regulations), categories. */
export const PolicyScopeOptionsQuery = graphql(`
  query PolicyScopeOptions {
    assessments(filter: { archived: false }, first: 100) {
      nodes {
        id
        name
        group {
          id
          name
        }
        regulation {
          id
          name
        }
      }
    }
    complianceScore {
      byCategory {
        key
        label
      }
    }
  }
`);

export const CreateAlertPolicyMutation = graphql(`
  mutation CreateAlertPolicy($input: CreateAlertPolicyInput!) {
    createAlertPolicy(input: $input) {
      alertPolicy {
        ...AlertPolicyFields
      }
      userErrors {
        ...UserErrorFields
      }
    }
  }
`);

export const UpdateAlertPolicyMutation = graphql(`
  mutation UpdateAlertPolicy($input: UpdateAlertPolicyInput!) {
    updateAlertPolicy(input: $input) {
      alertPolicy {
        ...AlertPolicyFields
      }
      userErrors {
        ...UserErrorFields
      }
    }
  }
`);

export const DeleteAlertPolicyMutation = graphql(`
  mutation DeleteAlertPolicy($input: DeleteAlertPolicyInput!) {
    deleteAlertPolicy(input: $input) {
      deletedAlertPolicyId
      userErrors {
        ...UserErrorFields
      }
    }
  }
`);

/** A scoped person's grants: one with CONTRIBUTOR or above lets them change alerts. */
export const AlertViewerGrantsQuery = graphql(`
  query AlertViewerGrants {
    viewer {
      grants {
        id
        role
      }
    }
  }
`);

/** Names of the people an assignment event names (details carry their ids only). */
export const EventPeopleQuery = graphql(`
  query AlertEventPeople($ids: [ID!]!) {
    nodes(ids: $ids) {
      ... on User {
        id
        name
      }
    }
  }
`);
