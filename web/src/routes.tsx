import type { RouteObject } from "react-router";
import { Layout } from "./components/Layout";
import { Dashboard } from "./pages/Dashboard";
import { NotFound } from "./pages/NotFound";
import { SetPassword } from "./pages/SetPassword";
import { SignIn } from "./pages/SignIn";

// Sign-in and the dashboard are in the first chunk (every visit needs one of them); every
// other page is its own chunk, loaded on first visit.
const pages: RouteObject[] = [
  { path: "/sign-in", element: <SignIn /> },
  { path: "/set-password", element: <SetPassword /> },
  {
    path: "/forgot-password",
    lazy: async () => ({ Component: (await import("./pages/ForgotPassword")).ForgotPassword }),
  },
  {
    element: <Layout />,
    children: [
      { index: true, element: <Dashboard /> },
      {
        path: "actions",
        lazy: async () => ({
          Component: (await import("./pages/actions/ActionsPage")).ActionsPage,
        }),
      },
      {
        path: "actions/:id",
        lazy: async () => ({
          Component: (await import("./pages/action/ActionDetailsPage")).ActionDetailsPage,
        }),
      },
      {
        path: "my-items",
        lazy: async () => ({
          Component: (await import("./pages/actions/MyActionItemsPage")).MyActionItemsPage,
        }),
      },
      {
        path: "assessments",
        lazy: async () => ({
          Component: (await import("./pages/assessments/AssessmentsPage")).AssessmentsPage,
        }),
      },
      {
        path: "assessments/:id",
        lazy: async () => ({
          Component: (await import("./pages/assessments/AssessmentDetailsPage"))
            .AssessmentDetailsPage,
        }),
      },
      {
        path: "alerts",
        lazy: async () => ({
          Component: (await import("./pages/alerts/AlertsPage")).AlertsPage,
        }),
      },
      {
        path: "alert-policies",
        lazy: async () => ({
          Component: (await import("./pages/alerts/AlertPoliciesPage")).AlertPoliciesPage,
        }),
      },
      {
        path: "alerts/:id",
        lazy: async () => ({
          Component: (await import("./pages/alerts/AlertDetailsPage")).AlertDetailsPage,
        }),
      },
      {
        path: "people",
        lazy: async () => ({
          Component: (await import("./pages/people/PeoplePage")).PeoplePage,
        }),
      },
      {
        path: "settings",
        lazy: async () => ({
          Component: (await import("./pages/settings/SettingsPage")).SettingsPage,
        }),
      },
      { path: "*", element: <NotFound /> },
    ],
  },
];

export const routes: RouteObject[] = [
  // Shown while a lazily loaded page's code arrives on the first visit.
  { hydrateFallbackElement: <p aria-busy="true">Loading…</p>, children: pages },
];
