import type { UserErrorItem } from "./types";

export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : "Unknown error.";
}

export function hasConflict(errors: readonly UserErrorItem[]): boolean {
  return errors.some((error) => error.code === "CONFLICT");
}
