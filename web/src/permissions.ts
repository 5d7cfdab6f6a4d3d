import type { OrgRole } from "./gql/graphql";

/**
 * Who may do what, mirroring the server (src/cmgraph/domain/permissions.py and the domain
 * modules' require_org_role calls). The server still decides; these only keep the page from
 * offering what it would refuse.
 */

/** Organisation roles, lowest first: each includes the ones before it. */
export const ORG_ROLES: readonly OrgRole[] = [
  "READER",
  "CONTRIBUTOR",
  "ASSESSOR",
  "ADMINISTRATOR",
  "OWNER",
];

/** What these rules read of the viewer: the organisation role and, where it counts, grants. */
export interface RoleHolder {
  role?: OrgRole | null | undefined;
}

export interface GrantHolder extends RoleHolder {
  grants?: readonly { role: OrgRole }[] | undefined;
}

function rank(role: OrgRole | null | undefined): number {
  return role ? ORG_ROLES.indexOf(role) : -1;
}

/** `role` includes `needed` (Principal.has_org_role for one role). */
export function roleIncludes(role: OrgRole | null | undefined, needed: OrgRole): boolean {
  return rank(role) >= rank(needed);
}

/** The higher of two roles (a grant raises the organisation role on what it covers). */
export function higherRole(a: OrgRole | null, b: OrgRole | null): OrgRole | null {
  return rank(b) > rank(a) ? b : a;
}

/** Contributor or above by organisation role: manage alert policies (a grant is not enough). */
export function mayContribute(viewer: RoleHolder | null | undefined): boolean {
  return roleIncludes(viewer?.role, "CONTRIBUTOR");
}

/**
 * Contributor or above by organisation role or by any grant (may_find_people): assign work,
 * search people, bulk-update by import, triage alerts; the server refuses what the grants
 * do not cover.
 */
export function mayContributeSomewhere(viewer: GrantHolder | null | undefined): boolean {
  return (
    mayContribute(viewer) ||
    (viewer?.grants ?? []).some((grant) => roleIncludes(grant.role, "CONTRIBUTOR"))
  );
}

/** Assessor or above (in the role that applies): test status, test date, testing source. */
export function mayAssess(role: OrgRole | null | undefined): boolean {
  return roleIncludes(role, "ASSESSOR");
}

/**
 * Administrator or above by organisation role: create, rename and archive assessments,
 * accept updates, switch one action's automatic testing, read the settings.
 */
export function mayAdminister(viewer: RoleHolder | null | undefined): boolean {
  return roleIncludes(viewer?.role, "ADMINISTRATOR");
}

/**
 * Owners (may_manage_people): people, roles, grants, tokens, sessions, organisation
 * settings, and giving an assignee the access they lack.
 */
export function isOwner(viewer: RoleHolder | null | undefined): boolean {
  return viewer?.role === "OWNER";
}
