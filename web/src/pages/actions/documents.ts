import { graphql } from "../../gql";

/** Every field a row of the list shows; the live subscription asks for the same ones. */
export const ActionRowFields = graphql(`
  fragment ActionRow on ImprovementAction {
    id
    key
    title
    implementationType
    implementationStatus
    testStatus
    testingSource
    pendingUpdate
    category
    solution
    version
    dueDate
    dueState
    isRetestDue
    hasExpiredEvidence
    score {
      earned
      possible
    }
    group {
      id
      name
    }
    assignee {
      id
      name
    }
    assessments {
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
`);

export const ActionListQuery = graphql(`
  query ActionList(
    $filter: ImprovementActionFilter
    $orderBy: ImprovementActionOrder
    $first: Int
    $after: String
    $last: Int
    $before: String
  ) {
    improvementActions(
      filter: $filter
      orderBy: $orderBy
      first: $first
      after: $after
      last: $last
      before: $before
    ) {
      totalCount
      pageInfo {
        hasNextPage
        hasPreviousPage
        startCursor
        endCursor
      }
      nodes {
        ...ActionRow
      }
    }
  }
`);

/** Who is looking, and what they may do here. */
export const ActionListViewerQuery = graphql(`
  query ActionListViewer {
    viewer {
      role
      user {
        id
        name
      }
      grants {
        id
        role
      }
    }
  }
`);

/** The choices of the filter pane. */
export const ActionFilterOptionsQuery = graphql(`
  query ActionFilterOptions {
    complianceScore {
      byRegulation {
        key
        label
      }
      bySolution {
        key
        label
      }
      byCategory {
        key
        label
      }
    }
    assessments(filter: { archived: false }, first: 100) {
      nodes {
        id
        name
      }
    }
    groups(first: 100) {
      nodes {
        id
        name
      }
    }
  }
`);

/** Names for the assignee ids a list URL carries. */
export const AssigneeNamesQuery = graphql(`
  query AssigneeNames($ids: [ID!]!) {
    nodes(ids: $ids) {
      id
      ... on User {
        name
        email
      }
    }
  }
`);

export const AssignActionsMutation = graphql(`
  mutation AssignActions($input: AssignImprovementActionsInput!) {
    assignImprovementActions(input: $input) {
      improvementActions {
        ...ActionRow
      }
      userErrors {
        ...UserErrorFields
      }
    }
  }
`);

export const ActionsExportQuery = graphql(`
  query ActionsExport($filter: ImprovementActionFilter, $orderBy: ImprovementActionOrder) {
    improvementActionsExport(filter: $filter, orderBy: $orderBy) {
      url
      expiresAt
    }
  }
`);

export const ImportActionsMutation = graphql(`
  mutation ImportActions($input: ImportImprovementActionsInput!) {
    importImprovementActions(input: $input) {
      applied
      rowErrors {
        sheet
        row
        column
        code
        message
      }
      summary {
        rowsRead
        actionsChanged
        overallBefore {
          earned
          possible
          percent
        }
        overallAfter {
          earned
          possible
          percent
        }
        overallDelta
        assessmentsAffected {
          delta
          before {
            earned
            possible
            percent
          }
          after {
            earned
            possible
            percent
          }
          assessment {
            id
            name
          }
        }
      }
      userErrors {
        ...UserErrorFields
      }
    }
  }
`);

export const ActionRowChanged = graphql(`
  subscription ActionRowChanged {
    improvementActionChanged {
      ...ActionRow
    }
  }
`);
