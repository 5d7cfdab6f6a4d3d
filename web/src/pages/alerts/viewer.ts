import { skipToken, useQuery } from "@apollo/client/react";
import type { OrgRole } from "../../gql/graphql";
import { ViewerQuery } from "../../graphql/viewer";
import { AlertViewerGrantsQuery } from "./documents";

const CONTRIBUTING: readonly OrgRole[] = ["CONTRIBUTOR", "ASSESSOR", "ADMINISTRATOR", "OWNER"];

export interface AlertViewer {
  userId: string | null;
  name: string | null;
  /** Manage policies: an organisation role of CONTRIBUTOR or above (a grant is not enough). */
  managesPolicies: boolean;
  /** Change alerts and search people to assign: by role, or by a contributing grant. */
  mayTriage: boolean;
}

export function useAlertViewer(): AlertViewer {
  const { data } = useQuery(ViewerQuery);
  const viewer = data?.viewer;
  const byRole = viewer?.role != null && CONTRIBUTING.includes(viewer.role);
  // Grants are read only for people without a contributing role.
  const grants = useQuery(AlertViewerGrantsQuery, viewer && !byRole ? {} : skipToken);
  const byGrant =
    grants.data?.viewer.grants.some((grant) => CONTRIBUTING.includes(grant.role)) ?? false;
  return {
    userId: viewer?.user.id ?? null,
    name: viewer?.user.name ?? null,
    managesPolicies: byRole,
    mayTriage: byRole || byGrant,
  };
}
