import { graphql } from "../../gql";

export const SettingsQuery = graphql(`
  query Settings {
    organisation {
      name
      automaticTesting
      dueSoonDays
      retestLosesPoints
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
        dueSoonDays
        retestLosesPoints
      }
      userErrors {
        ...UserErrorFields
      }
    }
  }
`);
