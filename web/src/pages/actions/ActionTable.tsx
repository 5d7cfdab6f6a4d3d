import { Link } from "react-router";
import { DueBadges } from "../../components/DueBadges";
import {
  formatDate,
  formatPoints,
  implementationLabel,
  testingSourceLabel,
  testLabel,
} from "../../format";
import type {
  ActionRowFragment,
  ImprovementActionOrderField,
  OrderDirection,
} from "../../gql/graphql";
import { remainingPoints, type ActionSection } from "./grouping";
import { actionDetailsPath } from "./listParams";

export interface SortState {
  field: ImprovementActionOrderField;
  direction: OrderDirection;
}

interface Selection {
  /** Null when the viewer may not select (nothing to do with a selection). */
  selected: ReadonlySet<string> | null;
  onToggle: (id: string, checked: boolean) => void;
}

function distinctNames(items: readonly { id: string; name: string }[]): string[] {
  return [...new Map(items.map((item) => [item.id, item.name])).values()];
}

/** The page's actions, one table per section (one section when not grouped). */
export function ActionTables({
  sections,
  grouped,
  listSearch,
  sort,
  onSort,
  selection,
}: {
  sections: readonly ActionSection[];
  grouped: boolean;
  listSearch: URLSearchParams;
  sort: SortState;
  onSort: (field: ImprovementActionOrderField) => void;
  selection: Selection;
}) {
  return (
    <>
      {sections.map((section) => (
        <section
          key={section.key}
          className="al-action-section"
          aria-label={grouped ? section.label : undefined}
        >
          <div className="table-scroll">
            <table className="data al-actions-table">
              <caption className={grouped ? undefined : "visually-hidden"}>
                {grouped ? (
                  <>
                    {section.label}{" "}
                    <span className="muted al-subtotal">
                      {section.rows.length} {section.rows.length === 1 ? "action" : "actions"} · +
                      {formatPoints(section.remaining)} points to earn ·{" "}
                      {formatPoints(section.earned)} / {formatPoints(section.possible)} achieved
                    </span>
                  </>
                ) : (
                  "Improvement actions on this page"
                )}
              </caption>
              <thead>
                <tr>
                  {selection.selected && (
                    <th scope="col">
                      <span className="visually-hidden">Selected</span>
                    </th>
                  )}
                  <SortHeader
                    label="Improvement action"
                    field="TITLE"
                    sort={sort}
                    onSort={onSort}
                  />
                  <th scope="col" className="num">
                    Score impact
                  </th>
                  <SortHeader
                    label="Points achieved"
                    field="POINTS"
                    sort={sort}
                    onSort={onSort}
                    num
                  />
                  <SortHeader
                    label="Implementation"
                    field="IMPLEMENTATION_STATUS"
                    sort={sort}
                    onSort={onSort}
                  />
                  <SortHeader label="Test status" field="TEST_STATUS" sort={sort} onSort={onSort} />
                  <th scope="col">Assigned to</th>
                  <th scope="col">Due</th>
                </tr>
              </thead>
              <tbody>
                {section.rows.map((row) => (
                  <ActionRow key={row.id} row={row} listSearch={listSearch} selection={selection} />
                ))}
              </tbody>
              {grouped && (
                <tfoot>
                  <tr>
                    {selection.selected && <td />}
                    <th scope="row">Subtotal</th>
                    <td className="num">+{formatPoints(section.remaining)}</td>
                    <td className="num">
                      {formatPoints(section.earned)} / {formatPoints(section.possible)}
                    </td>
                    <td colSpan={4} />
                  </tr>
                </tfoot>
              )}
            </table>
          </div>
        </section>
      ))}
    </>
  );
}

function SortHeader({
  label,
  field,
  sort,
  onSort,
  num = false,
}: {
  label: string;
  field: ImprovementActionOrderField;
  sort: SortState;
  onSort: (field: ImprovementActionOrderField) => void;
  num?: boolean;
}) {
  const active = sort.field === field;
  const ariaSort = active ? (sort.direction === "ASC" ? "ascending" : "descending") : undefined;
  return (
    <th scope="col" className={num ? "num" : undefined} aria-sort={ariaSort}>
      <button
        type="button"
        className="al-sort-button"
        onClick={() => {
          onSort(field);
        }}
      >
        {label}
        <span aria-hidden="true">{active ? (sort.direction === "ASC" ? " ▲" : " ▼") : ""}</span>
        <span className="visually-hidden">
          {active ? `, sorted ${ariaSort ?? ""}; sort the other way` : ", sort by this column"}
        </span>
      </button>
    </th>
  );
}

function ActionRow({
  row,
  listSearch,
  selection,
}: {
  row: ActionRowFragment;
  listSearch: URLSearchParams;
  selection: Selection;
}) {
  const checkboxId = `select-${row.id}`;
  const regulations = distinctNames(row.assessments.map((a) => a.regulation));
  return (
    <tr className={selection.selected?.has(row.id) ? "al-selected" : undefined}>
      {selection.selected && (
        <td>
          <input
            id={checkboxId}
            type="checkbox"
            className="al-row-check"
            aria-label={`Select ${row.title}`}
            checked={selection.selected.has(row.id)}
            onChange={(event) => {
              selection.onToggle(row.id, event.target.checked);
            }}
          />
        </td>
      )}
      <th scope="row">
        <Link to={actionDetailsPath(row.id, listSearch)}>{row.title}</Link>
        <span className="al-action-key muted">{row.key}</span>
        {/* Where the action stands, in one line under its title: the table stays narrow. */}
        <span className="al-action-meta muted">
          {[
            row.solution,
            row.category,
            row.group ? row.group.name : "Organisation-wide",
            distinctNames(row.assessments).join(", "),
            regulations.join(", "),
            `${testingSourceLabel(row.testingSource)} testing`,
          ]
            .filter((part) => part !== "")
            .join(" · ")}
        </span>
        {row.pendingUpdate && <span className="al-badge">Pending update</span>}
      </th>
      <td className="num">+{formatPoints(remainingPoints(row))}</td>
      <td className="num">
        {formatPoints(row.score.earned)} / {formatPoints(row.score.possible)}
      </td>
      <td>{implementationLabel(row.implementationStatus)}</td>
      <td>{testLabel(row.testStatus)}</td>
      <td>{row.assignee?.name ?? <span className="muted">Unassigned</span>}</td>
      <td>
        {row.dueDate ? (
          <span className="al-due-date">{formatDate(row.dueDate)}</span>
        ) : (
          <span className="muted">No due date</span>
        )}
        <DueBadges
          dueState={row.dueState}
          isRetestDue={row.isRetestDue}
          hasExpiredEvidence={row.hasExpiredEvidence}
        />
      </td>
    </tr>
  );
}
