import type { RouteObject } from "react-router";
import { Layout } from "./components/Layout";
import { Dashboard } from "./pages/Dashboard";
import { NotFound } from "./pages/NotFound";
import { SetPassword } from "./pages/SetPassword";
import { SignIn } from "./pages/SignIn";

export const routes: RouteObject[] = [
  { path: "/sign-in", element: <SignIn /> },
  { path: "/set-password", element: <SetPassword /> },
  {
    element: <Layout />,
    children: [
      { index: true, element: <Dashboard /> },
      { path: "*", element: <NotFound /> },
    ],
  },
];
