// The word-count task's limit key: the URL's host, lower-cased (a crawler is polite per host:
// `queue limit NAME --key-concurrency 2 --key-rate 5/s`). Ports count: `a:8080` and `a:8081`
// are separate servers as far as a limit knows.

/** The host of a word-count payload's URL, lower-cased; undefined when it has none. */
export function wordCountLimitKey(payload: unknown): string | undefined {
  const url = (payload as { url?: unknown } | null | undefined)?.url;
  if (typeof url !== "string") return undefined;
  try {
    return new URL(url).host.toLowerCase() || undefined;
  } catch {
    return undefined;
  }
}
