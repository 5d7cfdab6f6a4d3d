import { useQuery } from "@apollo/client/react";
import { useEffect, useRef } from "react";
import { Link } from "react-router";
import { formatDateTime, roleLabel } from "../../format";
import { AccountSection } from "./AccountSection";
import { AuditTrail } from "./AuditTrail";
import { PersonQuery } from "./documents";
import { GrantsSection } from "./GrantsSection";
import { lastSeen, personStatus, STATUS_LABELS } from "./personStatus";
import { ProfileForm } from "./ProfileForm";
import { SessionsSection } from "./SessionsSection";
import { TokensSection } from "./TokensSection";

interface PersonPanelProps {
  personId: string;
  viewerId: string;
  listHref: string;
}

/** One person: who they are, their role and account, grants, tokens, sessions and history. */
export function PersonPanel({ personId, viewerId, listHref }: PersonPanelProps) {
  const { data, error, loading } = useQuery(PersonQuery, { variables: { id: personId } });
  const headingRef = useRef<HTMLHeadingElement>(null);
  const user = data?.node?.__typename === "User" ? data.node : null;
  const hasUser = user !== null;

  // Opening a person moves focus to their name, as a new page would.
  useEffect(() => {
    if (hasUser) headingRef.current?.focus();
  }, [hasUser]);

  const back = (
    <p>
      <Link to={listHref}>← All people</Link>
    </p>
  );

  if (!data) {
    return (
      <>
        {back}
        {error ? (
          <p role="alert">This person could not be loaded: {error.message}</p>
        ) : (
          <p aria-busy={loading}>Loading…</p>
        )}
      </>
    );
  }
  if (!user) {
    return (
      <>
        {back}
        <p role="alert">Nobody with this id has access: the link may be out of date.</p>
      </>
    );
  }

  const isViewer = user.id === viewerId;
  const status = personStatus(user);
  const seen = lastSeen(user);
  return (
    <>
      {back}
      {error && <p role="alert">Showing earlier details: {error.message}</p>}
      <h2 ref={headingRef} tabIndex={-1} className="person-heading">
        {user.name}
        {isViewer && <span className="tag">You</span>}
        {user.isAutomation && <span className="tag">Automation account</span>}
      </h2>
      <dl className="person-facts">
        <div>
          <dt>Email</dt>
          <dd>{user.email}</dd>
        </div>
        <div>
          <dt>Organisation role</dt>
          <dd>{roleLabel(user.role)}</dd>
        </div>
        <div>
          <dt>Status</dt>
          <dd>
            <span className={`status status-${status.toLowerCase()}`}>{STATUS_LABELS[status]}</span>
          </dd>
        </div>
        <div>
          <dt>Added</dt>
          <dd>{formatDateTime(user.createdAt)}</dd>
        </div>
        <div>
          <dt>Last seen</dt>
          <dd>{seen ? formatDateTime(seen) : "Never"}</dd>
        </div>
      </dl>
      <div className="person-grid">
        <ProfileForm user={user} isViewer={isViewer} />
        <AccountSection user={user} isViewer={isViewer} />
        <GrantsSection user={user} />
        <TokensSection user={user} isViewer={isViewer} />
        <SessionsSection user={user} isViewer={isViewer} />
        <AuditTrail userId={user.id} userName={user.name} />
      </div>
    </>
  );
}
