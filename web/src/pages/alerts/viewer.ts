import { skipToken, useQuery } from "@apollo/client/react";
import { ViewerQuery } from "../../graphql/viewer";
import { isOwner, mayContribute, mayContributeSomewhere } from "../../permissions";
import { AlertViewerGrantsQuery } from "./documents";

export interface AlertViewer {
  userId: string | null;
  name: string | null;
  /** Manage policies: an organisation role of CONTRIBUTOR or above (a grant is not enough). */
  managesPolicies: boolean;
  /** Owners alone change the built-in policy (its switch, recipients and digest). */
  isOwner: boolean;
  /** Change alerts and search people to assign: by role, or by a contributing grant. */
  mayTriage: boolean;
}

export function useAlertViewer(): AlertViewer {
  const { data } = useQuery(ViewerQuery);
  const viewer = data?.viewer;
  const byRole = mayContribute(viewer);
  // Grants are read only for people without a contributing role.
  const grants = useQuery(AlertViewerGrantsQuery, viewer && !byRole ? {} : skipToken);
  const byGrant = mayContributeSomewhere(grants.data?.viewer);
  return {
    userId: viewer?.user.id ?? null,
    name: viewer?.user.name ?? null,
    managesPolicies: byRole,
    isOwner: isOwner(viewer),
    mayTriage: byRole || byGrant,
  };
}
