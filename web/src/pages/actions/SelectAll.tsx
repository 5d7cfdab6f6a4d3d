/** Select or clear every row of the page; shows "mixed" when only some are selected. */
export function SelectAll({
  rowIds,
  selected,
  onChange,
}: {
  rowIds: readonly string[];
  selected: ReadonlySet<string>;
  onChange: (ids: ReadonlySet<string>) => void;
}) {
  const count = rowIds.filter((id) => selected.has(id)).length;
  const all = rowIds.length > 0 && count === rowIds.length;
  return (
    <label className="al-check">
      <input
        type="checkbox"
        disabled={rowIds.length === 0}
        checked={all}
        ref={(input) => {
          if (input) input.indeterminate = count > 0 && !all;
        }}
        onChange={(event) => {
          onChange(event.target.checked ? new Set(rowIds) : new Set());
        }}
      />
      Select all on this page
    </label>
  );
}
