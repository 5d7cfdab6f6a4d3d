import { skipToken, useQuery, useSubscription } from "@apollo/client/react";
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import type { ImprovementActionFilter, ImprovementActionOrderField } from "../../gql/graphql";
import { ActionFilters } from "./ActionFilters";
import { ActionTables } from "./ActionTable";
import { isOwner, mayContributeSomewhere } from "../../permissions";
import { AssignDialog, type AssignOutcome } from "./AssignDialog";
import { BulkUpdateDialog } from "./BulkUpdateDialog";
import { ActionListQuery, ActionListViewerQuery, ActionRowChanged } from "./documents";
import { ExportButton } from "./ExportButton";
import { groupActions } from "./grouping";
import { ViewControls } from "./ListToolbar";
import { actionListFilter, actionListOrder, hasActionFilters, hidesPassed } from "./listParams";
import { Pager } from "./Pager";
import { SelectAll } from "./SelectAll";
import { useActionListUrl } from "./useActionListUrl";
import "./actions.css";

const PAGE_SIZE = 50;
const REFETCH_PAUSE_MS = 400;

/**
 * The improvement actions list: filters, group by, sort, pages, selection with assign,
 * export and bulk update. `mine` fixes the assignee to the signed-in person (My action items).
 */
export function ActionList({ title, mine = false }: { title: string; mine?: boolean }) {
  // Not cached: the layout's own viewer query selects other fields of the same id-less object.
  const viewerQuery = useQuery(ActionListViewerQuery);
  const viewer = viewerQuery.data?.viewer;
  const url = useActionListUrl(mine ? "assessment" : "none");
  const { params, cursor } = url;
  const myId = viewer?.user.id;

  const filter = useMemo((): ImprovementActionFilter => {
    const base = actionListFilter(params);
    if (!mine) return base;
    const mineOnly: ImprovementActionFilter = {
      ...base,
      assigneeIds: myId ? [myId] : [],
    };
    delete mineOnly.unassigned;
    return mineOnly;
  }, [params, mine, myId]);
  const orderBy = useMemo(() => actionListOrder(params), [params]);
  const variables = useMemo(
    () => ({
      filter,
      orderBy,
      ...(cursor && "before" in cursor
        ? { last: PAGE_SIZE, before: cursor.before }
        : { first: PAGE_SIZE, after: cursor?.after ?? null }),
    }),
    [filter, orderBy, cursor],
  );
  const list = useQuery(ActionListQuery, mine && !myId ? skipToken : { variables });
  const connection = (list.data ?? list.previousData)?.improvementActions;

  // Live: rows update through the cache; totals and membership need the page read again.
  const refetchTimer = useRef<number | undefined>(undefined);
  const { refetch } = list;
  useSubscription(ActionRowChanged, {
    onData: () => {
      window.clearTimeout(refetchTimer.current);
      refetchTimer.current = window.setTimeout(() => {
        void refetch();
      }, REFETCH_PAUSE_MS);
    },
  });
  useEffect(
    () => () => {
      window.clearTimeout(refetchTimer.current);
    },
    [],
  );

  const pageKey = JSON.stringify(variables);
  const [selection, setSelection] = useState<{
    key: string;
    ids: ReadonlySet<string>;
  }>({
    key: pageKey,
    ids: new Set(),
  });
  const selected = selection.key === pageKey ? selection.ids : new Set<string>();
  const nodes = connection?.nodes;
  // My action items: overdue first, then due soon (within the page, in the server's order).
  const rows = useMemo(() => (mine ? overdueFirst(nodes ?? []) : (nodes ?? [])), [mine, nodes]);
  const toggle = useCallback(
    (id: string, checked: boolean) => {
      const next = new Set(selection.key === pageKey ? selection.ids : []);
      if (checked) next.add(id);
      else next.delete(id);
      setSelection({ key: pageKey, ids: next });
    },
    [selection, pageKey],
  );

  const [dialog, setDialog] = useState<"assign" | "import" | null>(null);
  const [notice, setNotice] = useState("");
  const mayEdit = mayContributeSomewhere(viewer);

  // Links to an action carry the list (with My action items' fixed assignee) for next/previous.
  const detailsListSearch = useMemo(() => {
    const search = new URLSearchParams(url.search);
    if (mine && myId) {
      search.delete("assignee");
      search.delete("unassigned");
      search.append("assignee", myId);
    }
    return search;
  }, [url.search, mine, myId]);

  function sortBy(field: ImprovementActionOrderField) {
    const direction = params.sort === field && params.direction === "ASC" ? "DESC" : "ASC";
    url.update({ sort: field, direction });
  }

  function handleAssigned({ count, assignee }: AssignOutcome) {
    setDialog(null);
    setSelection({ key: pageKey, ids: new Set() });
    const what = count === 1 ? "1 action" : `${count} actions`;
    setNotice(assignee ? `Assigned ${what} to ${assignee.name}.` : `Unassigned ${what}.`);
    void refetch();
  }

  const heading = <h1>{title}</h1>;
  if (viewerQuery.error && !viewer) {
    return (
      <>
        {heading}
        <p role="alert">The list could not be loaded: {viewerQuery.error.message}</p>
      </>
    );
  }

  const sections = groupActions(rows, params.groupBy);
  const mayShowPassed = hidesPassed(params);
  const selectedIds = rows.filter((row) => selected.has(row.id)).map((row) => row.id);

  return (
    <>
      {heading}
      {mine && (
        <p className="muted">
          The actions assigned to you{viewer ? `, ${viewer.user.name}` : ""}, grouped by assessment,
          overdue first.
        </p>
      )}
      <ActionFilters
        params={params}
        onChange={url.update}
        showAssignee={!mine}
        maySearchPeople={mayEdit}
      />
      <div className="al-list-toolbar">
        <ViewControls
          groupBy={params.groupBy}
          sort={params.sort}
          direction={params.direction}
          onGroupBy={(groupBy) => {
            url.update({ groupBy });
          }}
          onSort={(sort, direction) => {
            url.update({ sort, direction });
          }}
        />
        <div className="al-list-actions">
          <ExportButton filter={filter} orderBy={orderBy} />
          {mayEdit && (
            <button
              type="button"
              onClick={() => {
                setDialog("import");
              }}
            >
              Bulk update…
            </button>
          )}
        </div>
      </div>
      {mayEdit && (
        <div className="al-selection-bar">
          <SelectAll
            rowIds={rows.map((row) => row.id)}
            selected={selected}
            onChange={(ids) => {
              setSelection({ key: pageKey, ids });
            }}
          />
          <span className="muted">
            {selectedIds.length === 0
              ? "Select actions to assign them to someone."
              : `${selectedIds.length} selected`}
          </span>
          <button
            type="button"
            className="primary"
            disabled={selectedIds.length === 0}
            onClick={() => {
              setNotice("");
              setDialog("assign");
            }}
          >
            Assign to user…
          </button>
        </div>
      )}
      <p role="status" className="al-notice">
        {notice}
      </p>

      {!connection ? (
        list.error ? (
          <p role="alert">The actions could not be loaded: {list.error.message}</p>
        ) : (
          <p aria-busy="true">Loading the improvement actions…</p>
        )
      ) : (
        <div aria-busy={list.loading}>
          {list.error && <p role="alert">Showing earlier results: {list.error.message}</p>}
          <p className="al-list-count">
            {connection.totalCount === 1 ? "1 action" : `${connection.totalCount} actions`}
            {mayShowPassed && <span className="muted"> (passed actions hidden)</span>}
          </p>
          {rows.length === 0 ? (
            <p>{emptyListText(mine, hasActionFilters(params), mayShowPassed)}</p>
          ) : (
            <>
              <ActionTables
                sections={sections}
                grouped={params.groupBy !== "none"}
                listSearch={detailsListSearch}
                sort={{ field: params.sort, direction: params.direction }}
                onSort={sortBy}
                selection={{
                  selected: mayEdit ? selected : null,
                  onToggle: toggle,
                }}
              />
              {params.groupBy !== "none" && (
                <p className="hint al-group-hint">
                  Sections and subtotals cover this page; an action used by several assessments is
                  listed under each of them.
                </p>
              )}
            </>
          )}
          <Pager
            shown={rows.length}
            total={connection.totalCount}
            hasPrevious={connection.pageInfo.hasPreviousPage}
            hasNext={connection.pageInfo.hasNextPage}
            busy={list.loading}
            onPrevious={() => {
              if (connection.pageInfo.startCursor) {
                url.setCursor({ before: connection.pageInfo.startCursor });
              }
            }}
            onNext={() => {
              if (connection.pageInfo.endCursor) {
                url.setCursor({ after: connection.pageInfo.endCursor });
              }
            }}
          />
        </div>
      )}

      <AssignDialog
        open={dialog === "assign"}
        actionIds={selectedIds}
        mayGrantAccess={isOwner(viewer)}
        onClose={() => {
          setDialog(null);
        }}
        onAssigned={handleAssigned}
      />
      <BulkUpdateDialog
        open={dialog === "import"}
        onClose={() => {
          setDialog(null);
        }}
        onApplied={(changed) => {
          setNotice(
            `Bulk update applied: ${changed === 1 ? "1 action" : `${changed} actions`} changed.`,
          );
        }}
      />
    </>
  );
}

/** Why the list is empty, with only the advice the filter pane can follow. */
function emptyListText(mine: boolean, filtered: boolean, mayShowPassed: boolean): string {
  const none = mine
    ? "Nothing is assigned to you that matches these filters."
    : "No improvement actions match these filters.";
  if (filtered && mayShowPassed) return `${none} Clear some filters, or show passed actions.`;
  if (filtered) return `${none} Clear some filters to see more.`;
  if (mayShowPassed) return `${none} Show passed actions to see those too.`;
  return mine ? "Nothing is assigned to you." : "There are no improvement actions yet.";
}

const URGENCY: Readonly<Record<string, number>> = { OVERDUE: 0, DUE_SOON: 1 };

function overdueFirst<T extends { dueState: string }>(rows: readonly T[]): readonly T[] {
  return [...rows].sort((a, b) => (URGENCY[a.dueState] ?? 2) - (URGENCY[b.dueState] ?? 2));
}
