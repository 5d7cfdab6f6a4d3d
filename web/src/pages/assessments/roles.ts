import type { OrgRole } from "../../gql/graphql";

/** Creating, renaming, archiving and accepting updates need an administrator (or owner). */
export function canAdminister(role: OrgRole | null | undefined): boolean {
  return role === "ADMINISTRATOR" || role === "OWNER";
}
