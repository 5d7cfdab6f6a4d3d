import { formatDateTime } from "../../format";
import { useQuery, useSubscription } from "@apollo/client/react";
import { useCallback, useState } from "react";
import { Link, useParams, useSearchParams } from "react-router";
import { AssignDialog } from "../actions/AssignDialog";
import { ActionHeader } from "./ActionHeader";
import { ActionTabs, type TabItem } from "./ActionTabs";
import { ControlsTab } from "./ControlsTab";
import { ActionChangedSubscription, ActionDetailsQuery, ViewerAccessQuery } from "./documents";
import { EvidenceTab } from "./EvidenceTab";
import { HistoryTab } from "./HistoryTab";
import { ImplementationTab } from "./ImplementationTab";
import { ListNavigation } from "./ListNavigation";
import { OverviewTab } from "./OverviewTab";
import { PendingUpdate } from "./PendingUpdate";
import { ProviderResultDialog } from "./ProviderResultDialog";
import { isOwner } from "../../permissions";
import { actionAccess } from "./permissions";
import { TestingTab } from "./TestingTab";
import "./action.css";

type Tab = "overview" | "implementation" | "testing" | "controls" | "evidence" | "history";

const TABS: readonly TabItem<Tab>[] = [
  { id: "overview", label: "Overview" },
  { id: "implementation", label: "Implementation" },
  { id: "testing", label: "Testing" },
  { id: "controls", label: "Related controls" },
  { id: "evidence", label: "Evidence" },
  { id: "history", label: "History" },
];

function tabOf(value: string | null): Tab {
  return TABS.find((tab) => tab.id === value)?.id ?? "overview";
}

export function ActionDetailsPage() {
  const { id = "" } = useParams();
  // A fresh page per action: open forms, notices and messages belong to the one they were for.
  return <ActionDetails key={id} id={id} />;
}

function ActionDetails({ id }: { id: string }) {
  const [search, setSearch] = useSearchParams();
  const tab = tabOf(search.get("tab"));
  const list = search.get("list");
  const { data, error, loading, refetch } = useQuery(ActionDetailsQuery, { variables: { id } });
  const viewer = useQuery(ViewerAccessQuery);
  const [live, setLive] = useState<string | null>(null);
  const [reviewing, setReviewing] = useState(false);
  const [updateMessage, setUpdateMessage] = useState<string | null>(null);
  const [assigning, setAssigning] = useState(false);
  const [assigned, setAssigned] = useState<string | null>(null);
  const [recording, setRecording] = useState(false);
  const [recorded, setRecorded] = useState<string | null>(null);
  // The subscription's messages land in the cache by id, so the page follows them.
  const { error: liveError } = useSubscription(ActionChangedSubscription, {
    variables: { actionIds: [id] },
    onData: ({ data: message }) => {
      const changed = message.data?.improvementActionChanged;
      const latest = changed?.history[0];
      // The echo of this person's own saves needs no announcement.
      if (changed && (!latest?.actor || latest.actor.id !== viewer.data?.viewer.user.id)) {
        setLive(
          `Updated live at ${formatDateTime(new Date().toISOString())}${
            latest?.actor ? `: latest change by ${latest.actor.name}` : ""
          }.`,
        );
      }
    },
  });

  const reload = useCallback(() => refetch(), [refetch]);
  const node = data?.node;
  const action = node?.__typename === "ImprovementAction" ? node : null;

  if (!action) {
    return (
      <>
        <h1>Improvement action</h1>
        {error ? (
          <p role="alert">The action could not be loaded: {error.message}</p>
        ) : data ? (
          <p>
            No improvement action with this address, or you may not read it. Open it from the{" "}
            <Link to="/actions">improvement actions list</Link>.
          </p>
        ) : (
          <p aria-busy={loading}>Loading the improvement action…</p>
        )}
      </>
    );
  }

  const viewerData = viewer.data?.viewer;
  const access = viewerData ? actionAccess(viewerData, action) : null;

  function select(next: Tab) {
    setSearch(
      (previous) => {
        const params = new URLSearchParams(previous);
        if (next === "overview") params.delete("tab");
        else params.set("tab", next);
        return params;
      },
      { replace: true },
    );
  }

  return (
    <div className="action-page">
      {list !== null && (
        <ListNavigation actionId={action.id} list={list} tab={tab === "overview" ? null : tab} />
      )}
      <ActionHeader action={action} />
      {error && <p role="alert">Showing earlier details: {error.message}</p>}
      {liveError && (
        <p role="alert">
          Live updates stopped ({liveError.message}); reload the page to see others&apos; changes.
        </p>
      )}
      <p role="status" className="muted live-status">
        {live}
      </p>
      {access && !access.readOnly && (
        <p className="button-row">
          <button
            type="button"
            onClick={() => {
              setAssigned(null);
              setAssigning(true);
            }}
          >
            Assign action
          </button>
        </p>
      )}
      <p role="status">{assigned}</p>
      {action.owner === "PROVIDER" && (
        <div className="provider-note">
          <p>
            The service provider implements and tests this action and attests its result; it counts
            in your score as the provider reports it.
            {access?.providerResult === null
              ? " As an administrator, record the provider's result when they report it."
              : " Administrators record the provider's result."}
          </p>
          {access?.providerResult === null && (
            <p className="button-row">
              <button
                type="button"
                onClick={() => {
                  setRecorded(null);
                  setRecording(true);
                }}
              >
                Record provider result
              </button>
            </p>
          )}
          <p role="status">{recorded}</p>
        </div>
      )}
      {recording && (
        <ProviderResultDialog
          action={action}
          onClose={() => {
            setRecording(false);
          }}
          onRecorded={(message) => {
            setRecording(false);
            setRecorded(message);
          }}
        />
      )}
      <AssignDialog
        open={assigning}
        actionIds={[action.id]}
        mayGrantAccess={isOwner(viewerData)}
        onClose={() => {
          setAssigning(false);
        }}
        onAssigned={(outcome) => {
          setAssigning(false);
          setAssigned(
            outcome.assignee
              ? `Assigned to ${outcome.assignee.name}.`
              : "The action is unassigned.",
          );
        }}
      />
      {action.pendingUpdate && access && (
        <>
          {reviewing ? (
            <PendingUpdate
              action={action}
              access={access}
              onClose={(message) => {
                setReviewing(false);
                setUpdateMessage(message);
              }}
            />
          ) : (
            <p className="pending-banner">
              A newer version of this action&apos;s definition is waiting.{" "}
              <button
                type="button"
                onClick={() => {
                  setUpdateMessage(null);
                  setReviewing(true);
                }}
              >
                Review update
              </button>
            </p>
          )}
        </>
      )}
      <p role="status">{updateMessage}</p>

      {viewer.error && (
        <p role="alert">
          Your permissions could not be read ({viewer.error.message}); editing is unavailable.
        </p>
      )}
      <ActionTabs label="Action details" tabs={TABS} selected={tab} onSelect={select}>
        {!access ? (
          <p aria-busy={viewer.loading}>Loading your permissions…</p>
        ) : tab === "overview" ? (
          <OverviewTab action={action} access={access} reload={reload} />
        ) : tab === "implementation" ? (
          <ImplementationTab action={action} access={access} reload={reload} />
        ) : tab === "testing" ? (
          <TestingTab action={action} access={access} reload={reload} />
        ) : tab === "controls" ? (
          <ControlsTab action={action} />
        ) : tab === "evidence" ? (
          <EvidenceTab action={action} access={access} reload={reload} />
        ) : (
          <HistoryTab action={action} />
        )}
      </ActionTabs>
    </div>
  );
}
