import { formatDateTime } from "../../format";
import { useMutation } from "@apollo/client/react";
import { useId, useRef, useState } from "react";
import { ConfirmDialog } from "../../components/ConfirmDialog";
import { EndSessionMutation, EndSessionsMutation } from "./documents";
import { attempt } from "../../mutationErrors";
import { REFRESH_PERSON } from "./refresh";

interface Session {
  id: string;
  createdAt: string;
  lastSeenAt: string;
  expiresAt: string;
  endedAt?: string | null;
  address: string;
  userAgent: string;
  active: boolean;
}

interface SessionsSectionProps {
  user: { id: string; name: string; sessions?: readonly Session[] | null };
  isViewer: boolean;
}

type Ending = { kind: "one"; session: Session } | { kind: "all" };

function sessionState(session: Session): string {
  if (session.endedAt) return `Ended ${formatDateTime(session.endedAt)}`;
  return session.active ? "Open" : "Timed out";
}

/** Browser sessions: the open ones, and on demand the ended ones; end one or all. */
export function SessionsSection({ user, isViewer }: SessionsSectionProps) {
  const id = useId();
  const headingRef = useRef<HTMLHeadingElement>(null);
  const all = user.sessions ?? [];
  const open = all.filter((session) => session.active);
  const [showEnded, setShowEnded] = useState(false);
  const [ending, setEnding] = useState<Ending | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const [endOne] = useMutation(EndSessionMutation, { refetchQueries: REFRESH_PERSON });
  const [endAll] = useMutation(EndSessionsMutation, { refetchQueries: REFRESH_PERSON });
  const shown = showEnded ? all : open;

  async function confirmEnd(what: Ending): Promise<string | null> {
    setDone(null);
    if (what.kind === "one") {
      const outcome = await attempt(async () => {
        const result = await endOne({ variables: { input: { sessionId: what.session.id } } });
        return result.data?.endSession;
      });
      if (!outcome.ok) return outcome.message;
      setDone("The session has ended.");
      return null;
    }
    const outcome = await attempt(async () => {
      const result = await endAll({ variables: { input: { userId: user.id } } });
      return result.data?.endSessions;
    });
    if (!outcome.ok) return outcome.message;
    const count = outcome.payload.endedCount ?? 0;
    setDone(count === 1 ? "1 session has ended." : `${count} sessions have ended.`);
    return null;
  }

  return (
    <section aria-labelledby={`${id}-heading`} className="card wide">
      <h3 id={`${id}-heading`} ref={headingRef} tabIndex={-1}>
        Browser sessions
      </h3>
      <div className="section-tools">
        <label className="inline">
          <input
            type="checkbox"
            checked={showEnded}
            onChange={(event) => {
              setShowEnded(event.target.checked);
            }}
          />
          Show ended sessions
        </label>
        {open.length > 0 && (
          <button
            type="button"
            className="danger"
            onClick={() => {
              setEnding({ kind: "all" });
            }}
          >
            End all open sessions
          </button>
        )}
      </div>
      {shown.length === 0 ? (
        <p>{showEnded ? "No browser sessions yet." : "No open browser sessions."}</p>
      ) : (
        <div className="table-scroll">
          <table className="data">
            <caption className="visually-hidden">Browser sessions of {user.name}</caption>
            <thead>
              <tr>
                <th scope="col">Signed in</th>
                <th scope="col">Last request</th>
                <th scope="col">Ends at the latest</th>
                <th scope="col">Address</th>
                <th scope="col">Browser</th>
                <th scope="col">State</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {shown.map((session) => (
                <tr key={session.id}>
                  <th scope="row">{formatDateTime(session.createdAt)}</th>
                  <td>{formatDateTime(session.lastSeenAt)}</td>
                  <td>{formatDateTime(session.expiresAt)}</td>
                  <td>{session.address || <span className="muted">Unknown</span>}</td>
                  <td className="user-agent">
                    {session.userAgent || <span className="muted">Unknown</span>}
                  </td>
                  <td>{sessionState(session)}</td>
                  <td>
                    {session.active && (
                      <button
                        type="button"
                        className="danger"
                        aria-label={`End the session signed in ${formatDateTime(session.createdAt)}`}
                        onClick={() => {
                          setEnding({ kind: "one", session });
                        }}
                      >
                        End
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {done && <p role="status">{done}</p>}
      {ending && (
        <ConfirmDialog
          className="people-dialog"
          focusAfterConfirm={headingRef}
          title={
            ending.kind === "all" ? `End every open session of ${user.name}?` : "End this session?"
          }
          confirmLabel={ending.kind === "all" ? "End all sessions" : "End session"}
          onConfirm={() => confirmEnd(ending)}
          onClose={() => {
            setEnding(null);
          }}
        >
          <p>
            {ending.kind === "all"
              ? "Every browser signed in as this person is signed out now; they sign in again to continue."
              : "That browser is signed out now; its person signs in again to continue."}{" "}
            API tokens keep working.
          </p>
          {isViewer && (
            <p className="warning">
              These are your own sessions: if this browser&apos;s session ends, you are signed out
              too.
            </p>
          )}
        </ConfirmDialog>
      )}
    </section>
  );
}
