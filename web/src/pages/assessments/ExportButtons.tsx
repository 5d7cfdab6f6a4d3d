import { useApolloClient } from "@apollo/client/react";
import { useState } from "react";
import { AssessmentOscalExportQuery, AssessmentReportExportQuery } from "./documents";
import { requestErrorMessage } from "../../mutationErrors";

type ExportKind = "report" | "oscal";

const KIND_NAMES: Record<ExportKind, string> = {
  report: "report (Excel)",
  oscal: "OSCAL assessment results (JSON)",
};

/** Export report and OSCAL results: each asks for a fresh short-lived link, then follows it. */
export function ExportButtons({ assessmentId }: { assessmentId: string }) {
  const client = useApolloClient();
  const [busy, setBusy] = useState<ExportKind | null>(null);
  const [status, setStatus] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);

  async function linkFor(kind: ExportKind): Promise<string | null> {
    const variables = { id: assessmentId };
    if (kind === "report") {
      const { data } = await client.query({
        query: AssessmentReportExportQuery,
        variables,
        fetchPolicy: "no-cache",
      });
      return data?.node?.__typename === "Assessment" ? data.node.reportExport.url : null;
    }
    const { data } = await client.query({
      query: AssessmentOscalExportQuery,
      variables,
      fetchPolicy: "no-cache",
    });
    return data?.node?.__typename === "Assessment" ? data.node.oscalResultsExport.url : null;
  }

  async function download(kind: ExportKind) {
    setBusy(kind);
    setStatus(null);
    setError(null);
    try {
      const url = await linkFor(kind);
      if (url === null) {
        setError("This assessment is no longer available to you.");
      } else {
        // The file is sent as an attachment: the browser downloads it and stays on this page.
        window.location.assign(url);
        setStatus(`The ${KIND_NAMES[kind]} is downloading.`);
      }
    } catch (failure) {
      setError(`The ${KIND_NAMES[kind]} could not be exported. ${requestErrorMessage(failure)}`);
    } finally {
      setBusy(null);
    }
  }

  return (
    <>
      <button type="button" disabled={busy !== null} onClick={() => void download("report")}>
        {busy === "report" ? "Exporting report…" : "Export report"}
      </button>
      <button type="button" disabled={busy !== null} onClick={() => void download("oscal")}>
        {busy === "oscal" ? "Exporting OSCAL results…" : "Export OSCAL results"}
      </button>
      <span role="status" className="muted">
        {status}
      </span>
      {error && (
        <span role="alert" className="form-error">
          {error}
        </span>
      )}
    </>
  );
}
