// The word-count task's limit key: the URL's host, lower-cased (a crawler is polite per host:
// `queue limit NAME --key-concurrency 2 --key-rate 5/s`). Ports count: `a:8080` and `a:8081`
// are separate servers as far as a limit knows.
import { limitKeyProblem } from "../../engine/limits.ts";
import { normalisedUrl, refuse } from "./url.ts";

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

/**
 * A word-count job from a line of `trigger --file`: the normalised URL and its limit key, from
 * one parse of the line. The key is the parsed URL's host, which is what wordCountLimitKey reads
 * back from the normalised text (WHATWG URL lower-cases an http(s) host and writes IDN as
 * punycode; tests/wordcount.limit-key.test.ts compares the two). A host that cannot be a limit
 * key (over 256 bytes) refuses its line here, as a bad URL does, rather than its whole batch.
 */
export function wordCountLine(text: string): { payload: { url: string }; limitKey: string } {
  const url = normalisedUrl(text);
  const problem = limitKeyProblem(url.host);
  if (problem) throw refuse(url.href, `its host cannot be a limit key (${problem})`);
  return { payload: { url: url.href }, limitKey: url.host };
}
