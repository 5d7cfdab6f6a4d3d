import { useApolloClient, useQuery } from "@apollo/client/react";
import { useEffect, useRef, useState } from "react";
import { NavLink, Outlet, useLocation, useNavigate } from "react-router";
import { signOut } from "../api/auth";
import { roleLabel } from "../format";
import { ViewerQuery } from "../graphql/viewer";
import { navItemsFor } from "../navigation";

export function Layout() {
  const { data } = useQuery(ViewerQuery);
  const client = useApolloClient();
  const navigate = useNavigate();
  const [signOutFailed, setSignOutFailed] = useState(false);
  const viewer = data?.viewer;
  const { pathname } = useLocation();
  const main = useRef<HTMLElement>(null);
  const firstPage = useRef(true);

  // A new page takes the focus, as a full page load would; a filter or tab change does not.
  useEffect(() => {
    if (firstPage.current) {
      firstPage.current = false;
      return;
    }
    main.current?.focus();
  }, [pathname]);

  async function handleSignOut() {
    setSignOutFailed(false);
    try {
      await signOut();
    } catch {
      setSignOutFailed(true);
      return;
    }
    await client.clearStore();
    await navigate("/sign-in", { replace: true });
  }

  return (
    <div className="shell">
      <a className="skip-link" href="#content">
        Skip to content
      </a>
      <header className="topbar">
        <span className="brand">cmgraph</span>
        <div className="account">
          {viewer && (
            <span>
              {viewer.user.name} <span className="muted">({roleLabel(viewer.role)})</span>
            </span>
          )}
          <button type="button" onClick={() => void handleSignOut()}>
            Sign out
          </button>
          {signOutFailed && (
            <span role="alert" className="form-error">
              Could not sign out. Try again.
            </span>
          )}
        </div>
      </header>
      <nav className="sidenav" aria-label="Main">
        <ul>
          {navItemsFor(viewer?.role).map((item) => (
            <li key={item.path}>
              <NavLink to={item.path} end={item.path === "/"}>
                {item.label}
              </NavLink>
            </li>
          ))}
        </ul>
      </nav>
      <main id="content" className="content" tabIndex={-1} ref={main}>
        <Outlet />
      </main>
    </div>
  );
}
