import type { OrgRole } from "./gql/graphql";
import { isOwner, mayAdminister, mayContribute, type RoleHolder } from "./permissions";

/** The left navigation; `shownTo` limits an entry to the viewers it is for. */
export interface NavItem {
  label: string;
  path: string;
  shownTo?: (viewer: RoleHolder) => boolean;
}

export const NAV_ITEMS: readonly NavItem[] = [
  { label: "Overview", path: "/" },
  { label: "Improvement actions", path: "/actions" },
  { label: "My action items", path: "/my-items" },
  { label: "Assessments", path: "/assessments" },
  { label: "Alerts", path: "/alerts" },
  { label: "Alert policies", path: "/alert-policies", shownTo: mayContribute },
  { label: "People", path: "/people", shownTo: isOwner },
  { label: "Settings", path: "/settings", shownTo: mayAdminister },
];

export function navItemsFor(role: OrgRole | null | undefined): NavItem[] {
  return NAV_ITEMS.filter((item) => !item.shownTo || item.shownTo({ role }));
}
