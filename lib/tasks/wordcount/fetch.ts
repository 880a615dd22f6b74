// Fetches one page, bounded in everything: total time, redirects (each hop re-checked against
// the address guard), body size after decompression, and content type. Failures are sorted
// into RetryableError (worth another attempt), PermanentError (will fail the same way again) and
// HeldError (the host asks for fewer requests: hold it): fetch-errors.ts. The body's bound is
// read-body.ts; the address guard, pinned.ts and guard.ts.

import { InvalidUrlError, PermanentError } from "../../errors.ts";
import { charsetFromContentType, sniffType } from "./decode.ts";
import { checkStatus, classifyFailure } from "./fetch-errors.ts";
import { type ResolvedOptions, resolveOptions, type WordCountOptions } from "./options.ts";
import { fetchPinned } from "./pinned.ts";
import { checkContentLength, readBody } from "./read-body.ts";
import { normaliseUrl } from "./url.ts";

export { MAX_RETRY_AFTER_MS, parseRetryAfter } from "./retry-after.ts";

/** A page as fetched: the body is raw bytes (decompressed, not yet decoded). */
export interface FetchedPage {
  url: string;
  /** The URL after redirects. */
  finalUrl: string;
  status: number;
  /** The MIME type without parameters: text/html, application/xhtml+xml or text/plain. */
  contentType: string;
  /** The charset parameter of Content-Type, or null. */
  charset: string | null;
  body: Uint8Array;
  bytes: number;
  /** Time from the first DNS check to the last body byte, in milliseconds (monotonic clock). */
  fetchMs: number;
}

export const ALLOWED_TYPES: ReadonlySet<string> = new Set([
  "text/html",
  "application/xhtml+xml",
  "text/plain",
]);

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

const REQUEST_HEADERS = {
  accept: "text/html,application/xhtml+xml,text/plain;q=0.9,*/*;q=0.1",
  "user-agent": "Courier-wordcount/0.1",
};

/** Fetches `url` (already normalised), following redirects itself so each hop is checked. */
export async function fetchPage(
  url: string,
  options: WordCountOptions = {},
  signal?: AbortSignal,
): Promise<FetchedPage> {
  const limits = resolveOptions(options);
  const started = performance.now();
  const timeout = AbortSignal.timeout(limits.timeoutMs);
  const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
  try {
    const { response, finalUrl } = await followRedirects(url, limits, combined);
    await checkStatus(response, finalUrl);
    const header = response.headers.get("content-type");
    const declared = mimeEssence(header);
    if (declared !== null && !ALLOWED_TYPES.has(declared)) {
      await response.body?.cancel();
      throw new PermanentError(`unsupported content type ${declared} from ${finalUrl}`);
    }
    checkContentLength(response, limits.maxBytes, finalUrl);
    const body = await readBody(response, limits.maxBytes, finalUrl);
    const contentType = declared ?? sniffType(body);
    if (contentType === null) {
      throw new PermanentError(
        `unsupported content type (none sent, and the body is not text) from ${finalUrl}`,
      );
    }
    const charset = charsetFromContentType(header);
    const fetchMs = Math.round(performance.now() - started);
    return {
      url,
      finalUrl,
      status: response.status,
      contentType,
      charset,
      body,
      bytes: body.byteLength,
      fetchMs,
    };
  } catch (err) {
    throw classifyFailure(err, url, signal, timeout, limits.timeoutMs);
  }
}

async function followRedirects(
  start: string,
  limits: ResolvedOptions,
  signal: AbortSignal,
): Promise<{ response: Response; finalUrl: string }> {
  let current = start;
  for (let hop = 0; ; hop += 1) {
    const init = { redirect: "manual" as const, signal, headers: REQUEST_HEADERS };
    // With allowPrivate nothing is refused, so nothing needs pinning to a checked address.
    const response = limits.allowPrivate
      ? await fetch(current, init)
      : await fetchPinned(current, limits, init);
    if (!REDIRECT_STATUSES.has(response.status)) return { response, finalUrl: current };
    await response.body?.cancel();
    if (hop >= limits.maxRedirects) {
      throw new PermanentError(
        `too many redirects (more than ${limits.maxRedirects}) from ${start}`,
      );
    }
    current = redirectTarget(response, current);
  }
}

/** The normalised URL a redirect points to; a target that is not http(s) fails for good. */
function redirectTarget(response: Response, from: string): string {
  const location = response.headers.get("location");
  if (location === null) {
    throw new PermanentError(
      `HTTP ${response.status} redirect from ${from} has no Location header`,
    );
  }
  try {
    return normaliseUrl(new URL(location, from).href);
  } catch (cause) {
    const reason = cause instanceof InvalidUrlError ? cause.message : `bad Location "${location}"`;
    throw new PermanentError(`redirect from ${from} refused: ${reason}`, { cause });
  }
}

/** The lower-cased MIME type of a Content-Type value without parameters, or null if absent. */
export function mimeEssence(contentType: string | null): string | null {
  const essence = contentType?.split(";")[0]?.trim().toLowerCase() ?? "";
  return essence === "" ? null : essence;
}
