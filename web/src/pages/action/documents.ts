import { graphql } from "../../gql";

// Everything the details page shows about one action. Mutations and the live subscription
// select the same fields, so each answer refreshes the whole page through the cache.
export const ActionDetailsFields = graphql(`
  fragment ActionDetailsFields on ImprovementAction {
    id
    key
    title
    implementationType
    owner
    enforcement
    purpose
    points
    category
    solution
    guidance
    testingLogic
    automaticTestingAvailable
    implementationStatus
    implementationDate
    implementationNotes
    testStatus
    testDate
    testingNotes
    additionalNotes
    assignmentNotes
    testingSource
    automationFraction
    version
    updatedAt
    pendingUpdate
    dueDate
    dueState
    priority
    retestIntervalDays
    effectiveRetestIntervalDays
    retestDueOn
    isRetestDue
    pointsLapsed
    hasExpiredEvidence
    score {
      earned
      possible
      percent
    }
    group {
      id
      name
    }
    assignee {
      id
      name
    }
    parent {
      id
      key
      title
    }
    children {
      id
      key
      title
    }
    evidence {
      ...EvidenceFields
    }
    inheritedEvidence {
      ...EvidenceFields
    }
    controls {
      id
      key
      family
      title
      description
      status
      assessment {
        id
        name
        regulation {
          id
          name
        }
      }
    }
    assessments {
      id
      name
      archived
      regulation {
        id
        name
      }
      group {
        id
        name
      }
    }
    history(first: 100) {
      field
      oldValue
      newValue
      source
      createdAt
      actor {
        id
        name
      }
    }
    pendingUpdateChanges {
      field
      currentValue
      newValue
    }
  }
`);

export const EvidenceFields = graphql(`
  fragment EvidenceFields on Evidence {
    id
    kind
    name
    url
    size
    contentType
    uploadedAt
    reviewBy
    isExpired
    uploadedBy {
      id
      name
    }
    downloadUrl
  }
`);

export const ActionDetailsQuery = graphql(`
  query ActionDetails($id: ID!) {
    node(id: $id) {
      ...ActionDetailsFields
    }
  }
`);

export const ViewerAccessQuery = graphql(`
  query ViewerAccess {
    viewer {
      role
      user {
        id
      }
      grants {
        id
        role
        assessment {
          id
        }
        regulation {
          id
        }
      }
    }
  }
`);

export const ActionChangedSubscription = graphql(`
  subscription ActionChanged($actionIds: [ID!]!) {
    improvementActionChanged(filter: { actionIds: $actionIds }) {
      ...ActionDetailsFields
    }
  }
`);

export const UpdateImplementationMutation = graphql(`
  mutation UpdateImplementation($input: UpdateImplementationInput!) {
    updateImplementation(input: $input) {
      improvementAction {
        ...ActionDetailsFields
      }
      userErrors {
        ...UserErrorFields
      }
    }
  }
`);

export const UpdateTestingMutation = graphql(`
  mutation UpdateTesting($input: UpdateTestingInput!) {
    updateTesting(input: $input) {
      improvementAction {
        ...ActionDetailsFields
      }
      userErrors {
        ...UserErrorFields
      }
    }
  }
`);

export const SetTestingSourceMutation = graphql(`
  mutation SetTestingSource($input: SetTestingSourceInput!) {
    setTestingSource(input: $input) {
      improvementAction {
        ...ActionDetailsFields
      }
      userErrors {
        ...UserErrorFields
      }
    }
  }
`);

export const AcceptActionUpdateMutation = graphql(`
  mutation AcceptActionUpdate($input: AcceptActionUpdateInput!) {
    acceptActionUpdate(input: $input) {
      improvementAction {
        ...ActionDetailsFields
      }
      fromVersion
      toVersion
      scoreImpact {
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
      }
      userErrors {
        ...UserErrorFields
      }
    }
  }
`);

export const AddEvidenceLinkMutation = graphql(`
  mutation AddEvidenceLink($input: AddEvidenceLinkInput!) {
    addEvidenceLink(input: $input) {
      evidence {
        id
        name
      }
      improvementAction {
        ...ActionDetailsFields
      }
      userErrors {
        ...UserErrorFields
      }
    }
  }
`);

export const UpdateEvidenceMutation = graphql(`
  mutation UpdateEvidence($input: UpdateEvidenceInput!) {
    updateEvidence(input: $input) {
      evidence {
        ...EvidenceFields
      }
      improvementAction {
        ...ActionDetailsFields
      }
      userErrors {
        ...UserErrorFields
      }
    }
  }
`);

export const UpdatePlanningMutation = graphql(`
  mutation UpdatePlanning($input: UpdateImprovementActionInput!) {
    updateImprovementAction(input: $input) {
      improvementAction {
        ...ActionDetailsFields
      }
      userErrors {
        ...UserErrorFields
      }
    }
  }
`);

export const RecordProviderResultMutation = graphql(`
  mutation RecordProviderResult($input: RecordProviderResultInput!) {
    recordProviderResult(input: $input) {
      improvementAction {
        ...ActionDetailsFields
      }
      userErrors {
        ...UserErrorFields
      }
    }
  }
`);

export const DeleteEvidenceMutation = graphql(`
  mutation DeleteEvidence($input: DeleteEvidenceInput!) {
    deleteEvidence(input: $input) {
      deletedEvidenceId
      improvementAction {
        ...ActionDetailsFields
      }
      userErrors {
        ...UserErrorFields
      }
    }
  }
`);

export const TestingHistoryExportQuery = graphql(`
  query TestingHistoryExport($id: ID!) {
    node(id: $id) {
      ... on ImprovementAction {
        id
        testingHistoryExport {
          url
          expiresAt
        }
      }
    }
  }
`);

export const ParentCandidatesQuery = graphql(`
  query ParentCandidates($search: String!) {
    improvementActions(filter: { search: $search }, first: 10) {
      totalCount
      nodes {
        id
        key
        title
        testingSource
        implementationStatus
        testStatus
        group {
          id
          name
        }
      }
    }
  }
`);

export const ActionNeighboursQuery = graphql(`
  query ActionNeighbours(
    $filter: ImprovementActionFilter
    $orderBy: ImprovementActionOrder
    $after: String
  ) {
    improvementActions(filter: $filter, orderBy: $orderBy, first: 100, after: $after) {
      totalCount
      nodes {
        id
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`);
