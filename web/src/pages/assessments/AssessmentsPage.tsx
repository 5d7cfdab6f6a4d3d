import { useQuery } from "@apollo/client/react";
import { useState } from "react";
import { useSearchParams } from "react-router";
import { ViewerQuery } from "../../graphql/viewer";
import { AssessmentChoicesQuery, AssessmentListQuery } from "./documents";
import { AssessmentsTable, type AssessmentRow } from "./AssessmentsTable";
import { CreateAssessmentDialog } from "./CreateAssessmentDialog";
import { ListFilters, regulationChoices } from "./ListFilters";
import {
  GROUP_BY_LABELS,
  listFilter,
  listSearch,
  parseListParams,
  type AssessmentGroupBy,
} from "./listParams";
import { mayAdminister } from "../../permissions";
import "./assessments.css";
import { appendNodes, useShowMore } from "../../showMore";

const PAGE_SIZE = 50;

function groupLabel(row: AssessmentRow, groupBy: AssessmentGroupBy): string {
  if (groupBy === "group") return row.group.name;
  if (groupBy === "product") return row.template.product;
  return row.regulation.name;
}

function groupRows(rows: readonly AssessmentRow[], groupBy: AssessmentGroupBy) {
  const groups = new Map<string, AssessmentRow[]>();
  for (const row of rows) {
    const label = groupLabel(row, groupBy);
    groups.set(label, [...(groups.get(label) ?? []), row]);
  }
  return [...groups.entries()].sort(([a], [b]) => a.localeCompare(b));
}

export function AssessmentsPage() {
  const [search, setSearch] = useSearchParams();
  const params = parseListParams(search);
  const { data, error, loading, fetchMore } = useQuery(AssessmentListQuery, {
    variables: { filter: listFilter(params), first: PAGE_SIZE },
  });
  const choices = useQuery(AssessmentChoicesQuery);
  const viewer = useQuery(ViewerQuery);
  const [creating, setCreating] = useState(false);
  const { loadingMore, moreError, showMore: loadMore } = useShowMore();

  const isAdmin = mayAdminister(viewer.data?.viewer);
  const templates = choices.data?.templates.nodes ?? [];
  const groups = choices.data?.groups.nodes ?? [];
  const filtered = params.regulationIds.length > 0 || params.groupIds.length > 0;

  function showMore(after: string) {
    void loadMore(() =>
      fetchMore({ variables: { after }, updateQuery: appendNodes("assessments") }),
    );
  }

  const header = (
    <div className="page-header">
      <h1>Assessments</h1>
      {isAdmin && (
        <button
          type="button"
          className="primary"
          disabled={!choices.data}
          onClick={() => {
            setCreating(true);
          }}
        >
          Create assessment
        </button>
      )}
    </div>
  );

  const filters = (
    <ListFilters
      params={params}
      regulations={regulationChoices(templates)}
      groups={groups}
      onChange={(next) => {
        setSearch(listSearch(next), { replace: true });
      }}
    />
  );

  const dialog = creating && choices.data && (
    <CreateAssessmentDialog
      templates={templates}
      groups={groups}
      onClose={() => {
        setCreating(false);
      }}
    />
  );

  if (!data) {
    return (
      <>
        {header}
        {filters}
        {error ? (
          <p role="alert">The assessments could not be loaded: {error.message}</p>
        ) : (
          <p aria-busy={loading}>Loading assessments…</p>
        )}
        {dialog}
      </>
    );
  }

  const { nodes, totalCount, pageInfo } = data.assessments;
  return (
    <>
      {header}
      {choices.error && (
        <p role="alert">
          Templates and groups could not be loaded, so filters and creating are limited:{" "}
          {choices.error.message}
        </p>
      )}
      {filters}
      {error && <p role="alert">Showing earlier results: {error.message}</p>}
      <p role="status" className="muted">
        {totalCount === 1 ? "1 assessment" : `${totalCount} assessments`}
        {params.showArchived ? ", archived ones included" : ""}
      </p>

      {nodes.length === 0 ? (
        <p>
          {filtered
            ? "No assessments match these filters. Choose other filters to see more."
            : isAdmin
              ? "No assessments yet: create one from a template."
              : "No assessments yet: an administrator creates them from templates."}
        </p>
      ) : params.groupBy === "none" ? (
        <AssessmentsTable caption="Assessments" captionHidden groupedBy="none" rows={nodes} />
      ) : (
        groupRows(nodes, params.groupBy).map(([label, rows]) => (
          <AssessmentsTable
            key={label}
            caption={`${GROUP_BY_LABELS[params.groupBy]}: ${label} (${rows.length})`}
            captionHidden={false}
            groupedBy={params.groupBy}
            rows={rows}
          />
        ))
      )}

      {pageInfo.hasNextPage && pageInfo.endCursor && (
        <p>
          <button
            type="button"
            disabled={loadingMore}
            onClick={() => {
              if (pageInfo.endCursor) showMore(pageInfo.endCursor);
            }}
          >
            {loadingMore ? "Loading more…" : `Show more (${nodes.length} of ${totalCount} shown)`}
          </button>
        </p>
      )}
      {moreError && <p role="alert">More assessments could not be loaded: {moreError}</p>}
      {dialog}
    </>
  );
}
