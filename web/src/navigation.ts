import type { OrgRole } from "./gql/graphql";

/** The left navigation; `roles` limits an entry to those organisation roles. */
export interface NavItem {
  label: string;
  path: string;
  roles?: readonly OrgRole[];
}

export const NAV_ITEMS: readonly NavItem[] = [
  { label: "Overview", path: "/" },
  { label: "Improvement actions", path: "/actions" },
  { label: "My action items", path: "/my-items" },
  { label: "Assessments", path: "/assessments" },
  { label: "Alerts", path: "/alerts" },
  {
    label: "Alert policies",
    path: "/alert-policies",
    roles: ["CONTRIBUTOR", "ASSESSOR", "ADMINISTRATOR", "OWNER"],
  },
  { label: "People", path: "/people", roles: ["OWNER"] },
  { label: "Settings", path: "/settings", roles: ["ADMINISTRATOR", "OWNER"] },
];

export function navItemsFor(role: OrgRole | null | undefined): NavItem[] {
  return NAV_ITEMS.filter((item) => !item.roles || (role != null && item.roles.includes(role)));
}
