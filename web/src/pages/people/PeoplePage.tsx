import { useQuery } from "@apollo/client/react";
import { useCallback } from "react";
import { useLocation, useNavigate, useSearchParams } from "react-router";
import { roleLabel } from "../../format";
import { ViewerQuery } from "../../graphql/viewer";
import { isOwner } from "../../permissions";
import { PeopleDirectory } from "./PeopleDirectory";
import { PersonPanel } from "./PersonPanel";
import "./people.css";

export function PeoplePage() {
  const { data, error, loading } = useQuery(ViewerQuery);

  if (!data) {
    return (
      <>
        <h1>People</h1>
        {error ? (
          <p role="alert">This page could not be loaded: {error.message}</p>
        ) : (
          <p aria-busy={loading}>Loading…</p>
        )}
      </>
    );
  }

  if (!isOwner(data.viewer)) {
    return (
      <>
        <h1>People</h1>
        <p className="card">
          Only owners can manage people: inviting them, changing roles and grants, tokens and
          sessions. Your role:{" "}
          {data.viewer.role ? roleLabel(data.viewer.role) : "scoped access only"}. Ask an owner for
          any change.
        </p>
      </>
    );
  }

  return <PeopleAdministration viewerId={data.viewer.user.id} />;
}

/** The list, or one person's details when the URL names them (`?person=<id>`). */
function PeopleAdministration({ viewerId }: { viewerId: string }) {
  const [params, setParams] = useSearchParams();
  const search = params.get("q") ?? "";
  const personId = params.get("person");
  const navigate = useNavigate();
  // Set by the invitation, for this history entry only.
  const invited = (useLocation().state as { invited?: unknown } | null)?.invited;
  const invitedMessage = typeof invited === "string" ? `Invitation sent to ${invited}.` : null;

  const personHref = useCallback(
    (id: string) =>
      `?${new URLSearchParams({ ...(search ? { q: search } : {}), person: id }).toString()}`,
    [search],
  );
  const listHref = search ? `?${new URLSearchParams({ q: search }).toString()}` : "?";

  const onSearch = useCallback(
    (next: string) => {
      setParams(next ? { q: next } : {}, { replace: true });
    },
    [setParams],
  );

  return (
    <div className="people-page">
      <h1>People</h1>
      {invitedMessage && (
        <p role="status" className="notice">
          {invitedMessage}
        </p>
      )}
      {personId ? (
        <PersonPanel key={personId} personId={personId} viewerId={viewerId} listHref={listHref} />
      ) : (
        <PeopleDirectory
          search={search}
          onSearch={onSearch}
          personHref={personHref}
          onInvited={(id, email) => {
            void navigate(`?${new URLSearchParams({ person: id }).toString()}`, {
              state: { invited: email },
            });
          }}
        />
      )}
    </div>
  );
}
