import { formatDateTime } from "../../format";
import { formatBytes } from "./labels";
import type { EvidenceItem } from "./types";

/** Files and links with who added them and when; `onDelete` adds a delete button per row. */
export function EvidenceTable({
  caption,
  items,
  onDelete,
}: {
  caption: string;
  items: readonly EvidenceItem[];
  onDelete?: (item: EvidenceItem) => void;
}) {
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
            {onDelete && (
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
              {onDelete && (
                <td>
                  <button
                    type="button"
                    onClick={() => {
                      onDelete(item);
                    }}
                  >
                    Delete<span className="visually-hidden"> {item.name}</span>
                  </button>
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
