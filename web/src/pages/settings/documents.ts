import { graphql } from "../../gql";

export const SettingsQuery = graphql(`
  query Settings {
    organisation {
      name
      automaticTesting
    }
  }
`);

export const UpdateOrganisationSettingsMutation = graphql(`
  mutation UpdateOrganisationSettings($input: UpdateOrganisationSettingsInput!) {
    updateOrganisationSettings(input: $input) {
      actionsSwitched
      organisation {
        name
        automaticTesting
      }
      userErrors {
        ...UserErrorFields
      }
    }
  }
`);
