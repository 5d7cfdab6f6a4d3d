import { ApolloProvider } from "@apollo/client/react";
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { createBrowserRouter, RouterProvider } from "react-router";
import { createApolloClient } from "./api/client";
import { currentPath, signInPath } from "./auth/next";
import { routes } from "./routes";
import "./styles.css";

const router = createBrowserRouter(routes);

const client = createApolloClient({
  onUnauthenticated: () => {
    const { location } = router.state;
    if (location.pathname === "/sign-in" || location.pathname === "/set-password") return;
    void router.navigate(signInPath(currentPath(location)), { replace: true });
  },
});

const root = document.getElementById("root");
if (!root) throw new Error("index.html has no #root element");

createRoot(root).render(
  <StrictMode>
    <ApolloProvider client={client}>
      <RouterProvider router={router} />
    </ApolloProvider>
  </StrictMode>,
);
