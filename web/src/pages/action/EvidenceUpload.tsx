import { useEffect, useId, useRef, useState, type SubmitEvent } from "react";
import { formatPercent } from "../../format";
import { formatBytes } from "./labels";
import { requestErrorMessage } from "../../mutationErrors";
import { ReviewByField } from "./ReviewByField";
import { ACCEPTED_EXTENSIONS, uploadEvidence, type UploadProgress } from "./uploadEvidence";

const ACCEPT = ACCEPTED_EXTENSIONS.map((extension) => `.${extension}`).join(",");

/**
 * "Add evidence" as a document: pick a file, watch it upload, see the result. `permanent` says,
 * before the upload, why the file cannot be deleted afterwards.
 */
export function EvidenceUpload({
  actionId,
  onUploaded,
  permanent = null,
}: {
  actionId: string;
  onUploaded: () => Promise<unknown>;
  permanent?: string | null;
}) {
  const id = useId();
  const input = useRef<HTMLInputElement>(null);
  const abort = useRef<AbortController | null>(null);
  const [file, setFile] = useState<File | null>(null);
  const [reviewBy, setReviewBy] = useState("");
  const [progress, setProgress] = useState<UploadProgress | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const busy = progress !== null;

  useEffect(
    () => () => {
      abort.current?.abort();
    },
    [],
  );

  async function submit(event: SubmitEvent<HTMLFormElement>) {
    event.preventDefault();
    if (!file) {
      setError("Choose a file to upload.");
      return;
    }
    setError(null);
    setDone(null);
    setProgress({ loaded: 0, total: file.size });
    const controller = new AbortController();
    abort.current = controller;
    let uploadedName: string;
    try {
      uploadedName = (
        await uploadEvidence(actionId, file, setProgress, controller.signal, reviewBy)
      ).name;
    } catch (failure) {
      setError(requestErrorMessage(failure));
      return;
    } finally {
      abort.current = null;
      setProgress(null);
    }
    setDone(`Uploaded “${uploadedName}”.`);
    setFile(null);
    setReviewBy("");
    if (input.current) input.current.value = "";
    try {
      await onUploaded();
    } catch (failure) {
      // The file is stored: say so, so that nobody uploads it twice.
      setError(`The list of evidence could not be refreshed: ${requestErrorMessage(failure)}`);
    }
  }

  const percent = progress && progress.total > 0 ? (progress.loaded / progress.total) * 100 : 0;
  return (
    <form className="stack evidence-form" onSubmit={(event) => void submit(event)}>
      <h3>Upload a document</h3>
      <label>
        File
        <input
          ref={input}
          type="file"
          accept={ACCEPT}
          aria-describedby={permanent ? `${id}-types ${id}-permanent` : `${id}-types`}
          disabled={busy}
          onChange={(event) => {
            setFile(event.target.files?.[0] ?? null);
            setDone(null);
            setError(null);
          }}
        />
      </label>
      <p id={`${id}-types`} className="hint">
        Accepted: {ACCEPTED_EXTENSIONS.join(", ")}. The content must match the file type; the server
        refuses files over its size limit (25 MB unless set otherwise).
      </p>
      <ReviewByField value={reviewBy} onChange={setReviewBy} disabled={busy} />
      {permanent && (
        <p id={`${id}-permanent`} className="hint evidence-permanent">
          {permanent}
        </p>
      )}
      {progress && (
        <div className="upload-progress">
          <label htmlFor={`${id}-progress`}>Uploading {file?.name}</label>
          <progress id={`${id}-progress`} max={100} value={percent}>
            {formatPercent(Math.round(percent))}
          </progress>
          <span>
            {progress.total > 0 && progress.loaded >= progress.total
              ? "Sent; the server is checking and storing the file…"
              : `${formatBytes(progress.loaded)} of ${formatBytes(progress.total)} (${formatPercent(Math.round(percent))})`}
          </span>
        </div>
      )}
      <p role="alert" className="form-error">
        {error && `The file was not added: ${error}`}
      </p>
      <p role="status" className="success">
        {done}
      </p>
      <div className="button-row">
        <button type="submit" className="primary" disabled={busy}>
          {busy ? "Uploading…" : "Upload"}
        </button>
        {busy && (
          <button
            type="button"
            onClick={() => {
              abort.current?.abort();
            }}
          >
            Cancel upload
          </button>
        )}
      </div>
    </form>
  );
}
