import { graphql } from "../../gql";

export const AssessmentListQuery = graphql(`
  query AssessmentList($filter: AssessmentFilter, $first: Int!, $after: String) {
    assessments(
      filter: $filter
      orderBy: { field: NAME, direction: ASC }
      first: $first
      after: $after
    ) {
      totalCount
      pageInfo {
        hasNextPage
        endCursor
      }
      nodes {
        id
        name
        createdAt
        archived
        archivedAt
        status
        progress
        pendingUpdate
        templateVersion
        lastModifiedAt
        customerActionCounts {
          completed
          total
        }
        providerActionCounts {
          completed
          total
        }
        score {
          earned
          possible
          percent
        }
        group {
          id
          name
        }
        regulation {
          id
          name
        }
        template {
          id
          title
          product
        }
      }
    }
  }
`);

/** Templates (with their regulations) and groups: the list's filters and the create form. */
export const AssessmentChoicesQuery = graphql(`
  query AssessmentChoices {
    templates(first: 100) {
      nodes {
        id
        title
        product
        version
        regulation {
          id
          name
        }
      }
    }
    groups(first: 100) {
      totalCount
      nodes {
        id
        name
      }
    }
  }
`);

export const AssessmentDetailsQuery = graphql(`
  query AssessmentDetails($id: ID!) {
    node(id: $id) {
      id
      ... on Assessment {
        name
        createdAt
        archived
        archivedAt
        templateVersion
        pendingUpdate
        status
        progress
        score {
          earned
          possible
          percent
        }
        group {
          id
          name
        }
        regulation {
          id
          name
        }
        template {
          id
          title
          product
          version
        }
        pendingUpdateChanges {
          fromVersion
          toVersion
          controlsAdded
          controlsRemoved
          controlsChanged
          mappingsAdded {
            controlKey
            actionKey
          }
          mappingsRemoved {
            controlKey
            actionKey
          }
          controlsAddedCount
          controlsRemovedCount
          controlsChangedCount
          mappingsAddedCount
          mappingsRemovedCount
        }
        controls {
          id
          key
          family
          title
          description
          status
          score {
            earned
            possible
            percent
          }
          actions {
            id
            key
            title
            owner
            points
            implementationStatus
            testStatus
            pendingUpdate
            score {
              earned
              possible
            }
            assignee {
              id
              name
            }
          }
        }
      }
    }
  }
`);

export const AssessmentReportExportQuery = graphql(`
  query AssessmentReportExport($id: ID!) {
    node(id: $id) {
      id
      ... on Assessment {
        reportExport {
          url
          expiresAt
        }
      }
    }
  }
`);

export const AssessmentOscalExportQuery = graphql(`
  query AssessmentOscalExport($id: ID!) {
    node(id: $id) {
      id
      ... on Assessment {
        oscalResultsExport {
          url
          expiresAt
        }
      }
    }
  }
`);

export const CreateAssessmentMutation = graphql(`
  mutation CreateAssessment($input: CreateAssessmentInput!) {
    createAssessment(input: $input) {
      assessment {
        id
        name
      }
      userErrors {
        ...UserErrorFields
      }
    }
  }
`);

export const RenameAssessmentMutation = graphql(`
  mutation RenameAssessment($input: RenameAssessmentInput!) {
    renameAssessment(input: $input) {
      assessment {
        id
        name
      }
      userErrors {
        ...UserErrorFields
      }
    }
  }
`);

export const RenameGroupMutation = graphql(`
  mutation RenameGroup($input: RenameGroupInput!) {
    renameGroup(input: $input) {
      group {
        id
        name
      }
      userErrors {
        ...UserErrorFields
      }
    }
  }
`);

export const ArchiveAssessmentMutation = graphql(`
  mutation ArchiveAssessment($input: ArchiveAssessmentInput!) {
    archiveAssessment(input: $input) {
      assessment {
        id
        archived
        archivedAt
      }
      userErrors {
        ...UserErrorFields
      }
    }
  }
`);

export const AcceptAssessmentUpdateMutation = graphql(`
  mutation AcceptAssessmentUpdate($input: AcceptAssessmentUpdateInput!) {
    acceptAssessmentUpdate(input: $input) {
      assessment {
        id
        templateVersion
        pendingUpdate
      }
      applied {
        fromVersion
        toVersion
        controlsAddedCount
        controlsRemovedCount
        controlsChangedCount
        mappingsAddedCount
        mappingsRemovedCount
      }
      actionsCreated
      actionsRemoved
      scoreBefore {
        earned
        possible
        percent
      }
      scoreAfter {
        earned
        possible
        percent
      }
      userErrors {
        ...UserErrorFields
      }
    }
  }
`);

export const AssessmentScoreChangedSubscription = graphql(`
  subscription AssessmentScoreChanged($assessmentId: ID!) {
    scoreChanged(assessmentId: $assessmentId) {
      delta
      score {
        earned
        possible
        percent
      }
      assessment {
        id
        status
        progress
        score {
          earned
          possible
          percent
        }
      }
    }
  }
`);

export const AssessmentActionChangedSubscription = graphql(`
  subscription AssessmentActionChanged($assessmentIds: [ID!]!) {
    improvementActionChanged(filter: { assessmentIds: $assessmentIds }) {
      id
      title
      points
      implementationStatus
      testStatus
      pendingUpdate
      score {
        earned
        possible
      }
      assignee {
        id
        name
      }
    }
  }
`);
