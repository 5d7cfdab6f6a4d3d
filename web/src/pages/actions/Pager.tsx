/** Previous / next page by cursor, with where the reader is. */
export function Pager({
  shown,
  total,
  hasPrevious,
  hasNext,
  onPrevious,
  onNext,
  busy,
}: {
  shown: number;
  total: number;
  hasPrevious: boolean;
  hasNext: boolean;
  onPrevious: () => void;
  onNext: () => void;
  busy: boolean;
}) {
  return (
    <nav className="al-pager" aria-label="Pages of the list">
      <button type="button" disabled={!hasPrevious || busy} onClick={onPrevious}>
        Previous page
      </button>
      <span className="muted">
        {shown} shown of {total}
      </span>
      <button type="button" disabled={!hasNext || busy} onClick={onNext}>
        Next page
      </button>
    </nav>
  );
}
