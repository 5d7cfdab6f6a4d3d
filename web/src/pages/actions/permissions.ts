import type { OrgRole } from "../../gql/graphql";

const EDITING_ROLES: readonly OrgRole[] = ["CONTRIBUTOR", "ASSESSOR", "ADMINISTRATOR", "OWNER"];

export interface ViewerAccess {
  role: OrgRole | null | undefined;
  grants: readonly { role: OrgRole }[];
}

/**
 * Contributors and up, by organisation role or by a scoped grant, may assign work, search
 * people and bulk-update by import; the server still refuses rows outside their grants.
 */
export function mayEditActions({ role, grants }: ViewerAccess): boolean {
  return (
    (role != null && EDITING_ROLES.includes(role)) ||
    grants.some((grant) => EDITING_ROLES.includes(grant.role))
  );
}

/** Owners may give an assignee the access they lack (`grantAccess`). */
export function mayGrantAccess({ role }: ViewerAccess): boolean {
  return role === "OWNER";
}
