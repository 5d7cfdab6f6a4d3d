import { formatDate, formatDateTime } from "../../format";
import { formatBytes } from "./labels";
import type { EvidenceItem } from "./types";

/**
 * Files and links with who added them, when, and their review-by day; `onReview` adds a
 * button per row to change that day, `onDelete` a delete button.
 */
export function EvidenceTable({
  caption,
  items,
  onReview,
  onDelete,
}: {
  caption: string;
  items: readonly EvidenceItem[];
  onReview?: (item: EvidenceItem) => void;
  onDelete?: (item: EvidenceItem) => void;
}) {
  const buttons = onReview !== undefined || onDelete !== undefined;
  return (
    <div className="table-scroll">
      <table className="data">
        <caption>{caption}</caption>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Kind</th>
            <th scope="col">Added by</th>
            <th scope="col">Added</th>
            <th scope="col">Review by</th>
            {buttons && (
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            )}
          </tr>
        </thead>
        <tbody>
          {items.map((item) => (
            <tr key={item.id}>
              <th scope="row">
                <EvidenceName item={item} />
              </th>
              <td>{item.kind === "LINK" ? "Link" : `Document, ${formatBytes(item.size)}`}</td>
              <td>{item.uploadedBy?.name ?? <span className="muted">Removed user</span>}</td>
              <td>{formatDateTime(item.uploadedAt)}</td>
              <td>
                {item.reviewBy ? (
                  formatDate(item.reviewBy)
                ) : (
                  <span className="muted">No review date</span>
                )}
                {item.isExpired && (
                  <>
                    {" "}
                    <span className="status-badge status-danger">Expired</span>
                  </>
                )}
              </td>
              {buttons && (
                <td className="evidence-buttons">
                  {onReview && (
                    <button
                      type="button"
                      onClick={() => {
                        onReview(item);
                      }}
                    >
                      Change review date<span className="visually-hidden"> of {item.name}</span>
                    </button>
                  )}
                  {onDelete && (
                    <button
                      type="button"
                      onClick={() => {
                        onDelete(item);
                      }}
                    >
                      Delete<span className="visually-hidden"> {item.name}</span>
                    </button>
                  )}
                </td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function EvidenceName({ item }: { item: EvidenceItem }) {
  if (item.kind === "LINK" && item.url) {
    return (
      <a href={item.url} target="_blank" rel="noopener noreferrer">
        {item.name}
      </a>
    );
  }
  if (item.downloadUrl) {
    return (
      <a href={item.downloadUrl} download>
        {item.name}
      </a>
    );
  }
  return <>{item.name}</>;
}
