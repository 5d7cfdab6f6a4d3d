import type { TypedDocumentNode } from "@apollo/client";
import type { GraphQLFormattedError } from "graphql";
import { CSRF_HEADER } from "./auth";
import { documentText } from "./documents";

/**
 * A GraphQL request carrying files, as the GraphQL multipart request spec has it
 * (https://github.com/jaydenseric/graphql-multipart-request-spec): an `operations` field with
 * the query and the variables (files replaced by null), a `map` field naming, for each file
 * part, the variable paths it fills, then the files themselves.
 */
export interface UploadResult<TData> {
  data?: TData | null;
  errors?: readonly GraphQLFormattedError[];
}

/** The server could not be reached, or answered with something other than a GraphQL result. */
export class UploadError extends Error {
  readonly status: number | undefined;

  constructor(message: string, status?: number) {
    super(message);
    this.name = "UploadError";
    this.status = status;
  }
}

type FilePaths = Map<File, string[]>;

/** Replaces each File in `value` by null, noting where it was. */
function extractFiles(value: unknown, path: string, found: FilePaths): unknown {
  if (value instanceof File) {
    found.set(value, [...(found.get(value) ?? []), path]);
    return null;
  }
  if (Array.isArray(value)) {
    return value.map((item: unknown, index) => extractFiles(item, `${path}.${index}`, found));
  }
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [
        key,
        extractFiles(item, `${path}.${key}`, found),
      ]),
    );
  }
  return value;
}

function isResult<TData>(body: unknown): body is UploadResult<TData> {
  return body !== null && typeof body === "object" && ("data" in body || "errors" in body);
}

export async function uploadRequest<TData, TVariables extends Record<string, unknown>>(
  document: TypedDocumentNode<TData, TVariables>,
  variables: TVariables,
  { url = "/graphql", signal }: { url?: string; signal?: AbortSignal } = {},
): Promise<UploadResult<TData>> {
  const files: FilePaths = new Map();
  const operations = {
    query: documentText(document),
    variables: extractFiles(variables, "variables", files),
  };
  const form = new FormData();
  form.append("operations", JSON.stringify(operations));
  const map: Record<string, string[]> = {};
  const parts: [string, File][] = [];
  let index = 0;
  for (const [file, paths] of files) {
    const name = String(index++);
    map[name] = paths;
    parts.push([name, file]);
  }
  form.append("map", JSON.stringify(map));
  for (const [name, file] of parts) form.append(name, file, file.name);

  let response: Response;
  try {
    response = await fetch(url, {
      method: "POST",
      credentials: "include",
      headers: { [CSRF_HEADER]: "1" },
      body: form,
      ...(signal ? { signal } : {}),
    });
  } catch (error) {
    throw new UploadError(
      error instanceof Error ? `The upload failed: ${error.message}` : "The upload failed.",
    );
  }

  let body: unknown;
  try {
    body = await response.json();
  } catch {
    throw new UploadError(
      `The server answered ${response.status} ${response.statusText}.`,
      response.status,
    );
  }
  if (!isResult<TData>(body)) {
    throw new UploadError(
      `The server answered ${response.status} ${response.statusText}.`,
      response.status,
    );
  }
  return body;
}
