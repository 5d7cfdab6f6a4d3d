/**
 * `next` after signing in: a path on this origin only. Anything else (another origin,
 * `//host`, backslashes, a missing value) becomes "/", as the server does for single sign-on.
 */
export function safeNextPath(raw: string | null | undefined): string {
  if (!raw?.startsWith("/") || raw.startsWith("//") || raw.includes("\\")) {
    return "/";
  }
  // Control characters (tabs, newlines) can turn a path into something else in some parsers.
  for (const char of raw) {
    const code = char.charCodeAt(0);
    if (code < 0x20 || code === 0x7f) return "/";
  }
  return raw;
}

/**
 * Whether `path` is served by the server rather than the app (a file download, such as an
 * evidence link from an exported report): the browser must load it, not the router.
 */
export function isServerPath(path: string): boolean {
  return /^\/(evidence|exports|auth|graphql)(\/|\?|$)/.test(path);
}

/** The sign-in page's URL that comes back to `next` afterwards. */
export function signInPath(next: string): string {
  const target = safeNextPath(next);
  return target === "/" ? "/sign-in" : `/sign-in?${new URLSearchParams({ next: target }).toString()}`;
}

/** The current location as a `next` value. */
export function currentPath(location: Pick<Location, "pathname" | "search" | "hash">): string {
  return `${location.pathname}${location.search}${location.hash}`;
}
