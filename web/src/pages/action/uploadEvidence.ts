import { CSRF_HEADER } from "../../api/auth";

export const UPLOAD_URL = "/evidence/upload";

/** The file types the server accepts (DOMAIN.md section 6); it also checks the content. */
export const ACCEPTED_EXTENSIONS = [
  "doc",
  "docx",
  "xls",
  "xlsx",
  "ppt",
  "pptx",
  "txt",
  "csv",
  "pdf",
  "jpg",
  "jpeg",
  "png",
  "mkv",
  "zip",
  "rar",
] as const;

export interface UploadedEvidence {
  id: string;
  name: string;
}

export interface UploadProgress {
  loaded: number;
  total: number;
}

/** A refusal with the server's words (from its JSON error body). */
export class UploadError extends Error {
  readonly status: number;
  readonly code: string;

  constructor(status: number, code: string, message: string) {
    super(message);
    this.name = "UploadError";
    this.status = status;
    this.code = code;
  }
}

interface ErrorBody {
  errors?: { message?: unknown; extensions?: { code?: unknown } }[];
}

interface SuccessBody {
  evidence?: { id?: unknown; name?: unknown };
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return null;
  }
}

function refusal(xhr: XMLHttpRequest): UploadError {
  const body = parse(xhr.responseText) as ErrorBody | null;
  const first = body?.errors?.[0];
  const message =
    typeof first?.message === "string"
      ? first.message
      : `The server answered ${xhr.status} ${xhr.statusText}.`;
  const code = typeof first?.extensions?.code === "string" ? first.extensions.code : "";
  return new UploadError(xhr.status, code, message);
}

/**
 * POST the file as multipart (`actionId` first, then `reviewBy` if given, then `file`) with
 * XMLHttpRequest, whose
 * upload events report progress (fetch has none). The session cookie signs it in.
 */
export function uploadEvidence(
  actionId: string,
  file: File,
  onProgress: (progress: UploadProgress) => void,
  signal: AbortSignal,
  reviewBy = "",
): Promise<UploadedEvidence> {
  return new Promise((resolve, reject) => {
    const form = new FormData();
    form.append("actionId", actionId);
    if (reviewBy) form.append("reviewBy", reviewBy);
    form.append("file", file, file.name);
    const xhr = new XMLHttpRequest();
    xhr.open("POST", UPLOAD_URL);
    xhr.withCredentials = true;
    xhr.setRequestHeader(CSRF_HEADER, "1");
    xhr.upload.addEventListener("progress", (event) => {
      onProgress({ loaded: event.loaded, total: event.lengthComputable ? event.total : file.size });
    });
    xhr.addEventListener("load", () => {
      if (xhr.status !== 201) {
        reject(refusal(xhr));
        return;
      }
      const body = parse(xhr.responseText) as SuccessBody | null;
      const evidence = body?.evidence;
      resolve({
        id: typeof evidence?.id === "string" ? evidence.id : "",
        name: typeof evidence?.name === "string" ? evidence.name : file.name,
      });
    });
    xhr.addEventListener("error", () => {
      reject(new UploadError(0, "NETWORK", "The server could not be reached."));
    });
    xhr.addEventListener("abort", () => {
      reject(new UploadError(0, "ABORTED", "The upload was cancelled."));
    });
    signal.addEventListener("abort", () => {
      xhr.abort();
    });
    xhr.send(form);
  });
}
