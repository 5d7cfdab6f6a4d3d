import { formatDateTime } from "../../format";
import { useApolloClient } from "@apollo/client/react";
import { useState } from "react";
import { TestingHistoryExportQuery } from "./documents";
import { requestErrorMessage } from "../../mutationErrors";

interface Link {
  url: string;
  expiresAt: string;
}

/** "Export testing history": asks for a fresh short-lived link, then downloads it. */
export function TestingHistoryExport({ actionId }: { actionId: string }) {
  const client = useApolloClient();
  const [busy, setBusy] = useState(false);
  const [link, setLink] = useState<Link | null>(null);
  const [error, setError] = useState<string | null>(null);

  async function prepare() {
    setBusy(true);
    setError(null);
    try {
      const { data } = await client.query({
        query: TestingHistoryExportQuery,
        variables: { id: actionId },
        fetchPolicy: "no-cache",
      });
      const node = data?.node;
      if (node?.__typename !== "ImprovementAction") {
        setError("The action could not be found any more.");
        return;
      }
      setLink(node.testingHistoryExport);
      window.location.assign(node.testingHistoryExport.url);
    } catch (failure) {
      setError(requestErrorMessage(failure));
    } finally {
      setBusy(false);
    }
  }

  return (
    <div className="export">
      <button type="button" disabled={busy} onClick={() => void prepare()}>
        {busy ? "Preparing the export…" : "Export testing history"}
      </button>
      <p role="status">
        {link && (
          <>
            The download has started. If it did not,{" "}
            <a href={link.url} download>
              download the testing history (Excel)
            </a>{" "}
            before {formatDateTime(link.expiresAt)}.
          </>
        )}
      </p>
      {error && (
        <p role="alert" className="form-error">
          The export could not be prepared: {error}
        </p>
      )}
    </div>
  );
}
