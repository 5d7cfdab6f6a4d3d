import { useApolloClient } from "@apollo/client/react";
import { useState } from "react";
import type { ImprovementActionFilter, ImprovementActionOrder } from "../../gql/graphql";
import { requestErrorMessage } from "../../mutationErrors";
import { ActionsExportQuery } from "./documents";

/** Downloads the list, every page, with its filter and order, as an Excel workbook. */
export function ExportButton({
  filter,
  orderBy,
}: {
  filter: ImprovementActionFilter;
  orderBy: ImprovementActionOrder;
}) {
  const client = useApolloClient();
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<{
    text: string;
    failed: boolean;
  } | null>(null);

  async function handleExport() {
    setBusy(true);
    setMessage(null);
    try {
      const { data, error } = await client.query({
        query: ActionsExportQuery,
        variables: { filter, orderBy },
        fetchPolicy: "network-only",
      });
      if (!data)
        throw error instanceof Error ? error : new Error("The server sent no download link.");
      // The link makes the file and answers as an attachment: the page stays.
      window.location.assign(data.improvementActionsExport.url);
      setMessage({ text: "The Excel download has started.", failed: false });
    } catch (error) {
      setMessage({
        text: `The export failed: ${requestErrorMessage(error)}`,
        failed: true,
      });
    } finally {
      setBusy(false);
    }
  }

  return (
    <>
      <button type="button" disabled={busy} onClick={() => void handleExport()}>
        {busy ? "Preparing export…" : "Export to Excel"}
      </button>
      <span role="status" className="muted">
        {message && !message.failed ? message.text : ""}
      </span>
      {message?.failed && (
        <span role="alert" className="form-error">
          {message.text}
        </span>
      )}
    </>
  );
}
