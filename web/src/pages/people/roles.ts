import type { OrgRole } from "../../gql/graphql";
import { ORG_ROLES } from "../../permissions";

/** Scoped grants stop at ASSESSOR. */
export const GRANT_ROLES: readonly OrgRole[] = ["READER", "CONTRIBUTOR", "ASSESSOR"];

/** A <select>'s value for "no organisation role": grants only. */
export const NO_ROLE = "";

export function parseRole(value: string): OrgRole | null {
  return ORG_ROLES.find((role) => role === value) ?? null;
}
