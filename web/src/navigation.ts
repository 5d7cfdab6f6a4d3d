/** The left navigation. Pages not built yet stay out of it (and out of the routes). */
export interface NavItem {
  label: string;
  path: string;
  built: boolean;
}

export const NAV_ITEMS: readonly NavItem[] = [
  { label: "Overview", path: "/", built: true },
  { label: "Improvement actions", path: "/actions", built: false },
  { label: "Assessments", path: "/assessments", built: false },
  { label: "Alerts", path: "/alerts", built: false },
];
