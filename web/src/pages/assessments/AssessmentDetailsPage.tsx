import { useMutation, useQuery, useSubscription } from "@apollo/client/react";
import { useCallback, useEffect, useState } from "react";
import { Link, useLocation, useNavigate, useParams } from "react-router";
import { ViewerQuery } from "../../graphql/viewer";
import { ArchiveDialog } from "./ArchiveDialog";
import { AssessmentSummary } from "./AssessmentSummary";
import { ControlsSection } from "./ControlsSection";
import {
  AssessmentActionChangedSubscription,
  AssessmentDetailsQuery,
  AssessmentScoreChangedSubscription,
  RenameAssessmentMutation,
  RenameGroupMutation,
} from "./documents";
import { ExportButtons } from "./ExportButtons";
import { NameDialog } from "./NameDialog";
import { PendingUpdate } from "./PendingUpdate";
import type { UserErrorItem } from "../../mutationErrors";
import { mayAdminister } from "../../permissions";
import { useSerialRefetch } from "./useSerialRefetch";
import "./assessments.css";

type OpenDialog = "rename" | "renameGroup" | "archive" | null;

/** A message the previous page left in the location state (e.g. after creating). */
function arrivalNotice(state: unknown): string | null {
  if (typeof state !== "object" || state === null || !("notice" in state)) return null;
  return typeof state.notice === "string" ? state.notice : null;
}

export function AssessmentDetailsPage() {
  const { id = "" } = useParams();
  const location = useLocation();
  const { data, error, loading, refetch } = useQuery(AssessmentDetailsQuery, {
    variables: { id },
  });
  const viewer = useQuery(ViewerQuery);
  const [renameAssessment] = useMutation(RenameAssessmentMutation);
  const [renameGroup] = useMutation(RenameGroupMutation);
  const [dialog, setDialog] = useState<OpenDialog>(null);
  const navigate = useNavigate();
  const [notice, setNotice] = useState<string | null>(() => arrivalNotice(location.state));
  const hasArrivalNotice = arrivalNotice(location.state) !== null;

  // Said once: a reload or a return to this entry should not repeat it.
  useEffect(() => {
    if (hasArrivalNotice) {
      void navigate({ pathname: location.pathname, search: location.search }, { replace: true });
    }
  }, [hasArrivalNotice, navigate, location.pathname, location.search]);
  const [liveError, setLiveError] = useState<string | null>(null);

  const node = data?.node;
  const assessment = node?.__typename === "Assessment" ? node : null;
  const live = assessment !== null && !assessment.archived;

  const onRefetchError = useCallback((failure: unknown) => {
    setLiveError(
      `The latest changes could not be loaded: ${failure instanceof Error ? failure.message : "unknown error"}. Reload the page to see them.`,
    );
  }, []);
  const reload = useSerialRefetch(refetch, onRefetchError);

  // Live: a score change or an action change elsewhere refreshes figures and control statuses.
  const onLive = {
    skip: !live,
    onData: () => {
      setLiveError(null);
      reload();
    },
    onError: (failure: Error) => {
      setLiveError(`Live updates stopped: ${failure.message}. Reload the page to see changes.`);
    },
  };
  useSubscription(AssessmentScoreChangedSubscription, {
    variables: { assessmentId: id },
    ...onLive,
  });
  useSubscription(AssessmentActionChangedSubscription, {
    variables: { assessmentIds: [id] },
    ...onLive,
  });

  if (!assessment) {
    return (
      <>
        <h1>Assessment</h1>
        {error ? (
          <p role="alert">The assessment could not be loaded: {error.message}</p>
        ) : data ? (
          <p role="alert">
            There is no assessment at this address, or you do not have access to it.{" "}
            <Link to="/assessments">See all assessments</Link>.
          </p>
        ) : (
          <p aria-busy={loading}>Loading the assessment…</p>
        )}
      </>
    );
  }

  const isAdmin = mayAdminister(viewer.data?.viewer);
  const close = () => {
    setDialog(null);
  };

  async function saveName(name: string): Promise<UserErrorItem[]> {
    const result = await renameAssessment({
      variables: { input: { assessmentId: id, name } },
    });
    const payload = result.data?.renameAssessment;
    if (!payload) return [{ message: "The server sent no answer. Try again." }];
    if (payload.userErrors.length === 0) setNotice(`Assessment renamed to “${name}”.`);
    return payload.userErrors;
  }

  async function saveGroupName(groupId: string, name: string): Promise<UserErrorItem[]> {
    const result = await renameGroup({ variables: { input: { groupId, name } } });
    const payload = result.data?.renameGroup;
    if (!payload) return [{ message: "The server sent no answer. Try again." }];
    if (payload.userErrors.length === 0) setNotice(`Group renamed to “${name}”.`);
    return payload.userErrors;
  }

  return (
    <>
      <p className="breadcrumb">
        <Link to="/assessments">Assessments</Link>
      </p>
      <div className="page-header">
        <h1>
          {assessment.name}
          {assessment.archived && <span className="tag">Archived</span>}
        </h1>
        <div className="toolbar">
          {isAdmin && !assessment.archived && (
            <button
              type="button"
              onClick={() => {
                setDialog("rename");
              }}
            >
              Rename
            </button>
          )}
          {isAdmin && (
            <button
              type="button"
              onClick={() => {
                setDialog("renameGroup");
              }}
            >
              Rename group
            </button>
          )}
          {isAdmin && !assessment.archived && (
            <button
              type="button"
              className="danger"
              onClick={() => {
                setDialog("archive");
              }}
            >
              Archive
            </button>
          )}
          <ExportButtons assessmentId={assessment.id} />
        </div>
      </div>
      {error && <p role="alert">Showing earlier data: {error.message}</p>}
      {liveError && <p role="alert">{liveError}</p>}
      <p role="status" className="notice-line">
        {notice}
      </p>
      {assessment.archived && (
        <p className="muted">
          This assessment is archived: it is read-only and no longer counts in the compliance score.
        </p>
      )}

      {assessment.pendingUpdateChanges && !assessment.archived && (
        <PendingUpdate
          assessmentId={assessment.id}
          changes={assessment.pendingUpdateChanges}
          canAccept={isAdmin}
          onAccepted={(message) => {
            setNotice(message);
            reload();
          }}
        />
      )}

      <AssessmentSummary assessment={assessment} />
      <ControlsSection assessmentId={assessment.id} controls={assessment.controls} />

      {dialog === "rename" && (
        <NameDialog
          title="Rename assessment"
          label="Assessment name"
          current={assessment.name}
          save={saveName}
          onClose={close}
        />
      )}
      {dialog === "renameGroup" && (
        <NameDialog
          title="Rename group"
          label="Group name"
          current={assessment.group.name}
          hint="Every assessment in this group shows the new name."
          save={(name) => saveGroupName(assessment.group.id, name)}
          onClose={close}
        />
      )}
      {dialog === "archive" && (
        <ArchiveDialog
          assessmentId={assessment.id}
          assessmentName={assessment.name}
          onArchived={() => {
            setNotice("Assessment archived. It is now read-only.");
            reload();
          }}
          onClose={close}
        />
      )}
    </>
  );
}
