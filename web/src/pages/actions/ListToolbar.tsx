import { useId } from "react";
import type { ImprovementActionOrderField, OrderDirection } from "../../gql/graphql";
import { groupByLabels } from "./labels";
import type { ActionGroupBy } from "./listParams";

const SORT_LABELS: Record<ImprovementActionOrderField, string> = {
  KEY: "Key",
  TITLE: "Title",
  CATEGORY: "Category",
  POINTS: "Points",
  IMPLEMENTATION_STATUS: "Implementation status",
  TEST_STATUS: "Test status",
  UPDATED_AT: "Last updated",
};
const GROUP_BYS = Object.keys(groupByLabels) as ActionGroupBy[];
const SORT_FIELDS = Object.keys(SORT_LABELS) as ImprovementActionOrderField[];

/** Group by and sort: how the list is laid out. */
export function ViewControls({
  groupBy,
  sort,
  direction,
  onGroupBy,
  onSort,
}: {
  groupBy: ActionGroupBy;
  sort: ImprovementActionOrderField;
  direction: OrderDirection;
  onGroupBy: (groupBy: ActionGroupBy) => void;
  onSort: (sort: ImprovementActionOrderField, direction: OrderDirection) => void;
}) {
  const id = useId();
  return (
    <div className="al-view-controls">
      <div>
        <label htmlFor={`${id}-group`}>Group by</label>
        <select
          id={`${id}-group`}
          value={groupBy}
          onChange={(event) => {
            onGroupBy(event.target.value as ActionGroupBy);
          }}
        >
          {GROUP_BYS.map((value) => (
            <option key={value} value={value}>
              {groupByLabels[value]}
            </option>
          ))}
        </select>
      </div>
      <div>
        <label htmlFor={`${id}-sort`}>Sort by</label>
        <select
          id={`${id}-sort`}
          value={sort}
          onChange={(event) => {
            onSort(event.target.value as ImprovementActionOrderField, direction);
          }}
        >
          {SORT_FIELDS.map((value) => (
            <option key={value} value={value}>
              {SORT_LABELS[value]}
            </option>
          ))}
        </select>
      </div>
      <div>
        <label htmlFor={`${id}-dir`}>Order</label>
        <select
          id={`${id}-dir`}
          value={direction}
          onChange={(event) => {
            onSort(sort, event.target.value === "DESC" ? "DESC" : "ASC");
          }}
        >
          <option value="ASC">Ascending</option>
          <option value="DESC">Descending</option>
        </select>
      </div>
    </div>
  );
}
