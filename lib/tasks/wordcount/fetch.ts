// Fetches one page, bounded in everything: total time, redirects (each hop re-checked against
// the address guard), body size after decompression, and content type. Failures are sorted
// into RetryableError (worth another attempt), PermanentError (will fail the same way again) and
// HeldError (the host asks for fewer requests: hold it).

import { STATUS_CODES } from "node:http";
import {
  CourierError,
  HeldError,
  InvalidUrlError,
  PermanentError,
  RetryableError,
} from "../../errors.ts";
import { charsetFromContentType, sniffType } from "./decode.ts";
import { wordCountLimitKey } from "./limit-key.ts";
import { type ResolvedOptions, resolveOptions, type WordCountOptions } from "./options.ts";
import { fetchPinned } from "./pinned.ts";
import { parseRetryAfter } from "./retry-after.ts";
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

/**
 * 2xx passes. 429, and 503 with Retry-After, are the host asking for fewer requests: a
 * HeldError holds the whole host that answered (its limit key, after redirects) that long, spending no attempt (429
 * without Retry-After: the queue's back-off). Other 5xx, 503 without Retry-After (a server
 * error like 500) and 408 are retryable; other statuses are permanent.
 */
async function checkStatus(response: Response, url: string): Promise<void> {
  const { status } = response;
  if (status >= 200 && status < 300) return;
  await response.body?.cancel();
  const text = response.statusText || STATUS_CODES[status] || "";
  const message = `HTTP ${status}${text ? ` ${text}` : ""} from ${url}`;
  const retryAfterMs = parseRetryAfter(response.headers.get("retry-after"), Date.now());
  const hint =
    retryAfterMs === undefined ? "" : ` (retry after ${Math.ceil(retryAfterMs / 1000)} s)`;
  if (status === 429 || (status === 503 && retryAfterMs !== undefined)) {
    // The host that answered: after a redirect, not the job's own (its limit key).
    throw new HeldError(retryAfterMs, message + hint, { key: wordCountLimitKey({ url }) });
  }
  // 408 Request Timeout is the server asking for the same request again later.
  if (status >= 500 || status === 408) throw new RetryableError(message + hint, { retryAfterMs });
  throw new PermanentError(message);
}

/** The lower-cased MIME type of a Content-Type value without parameters, or null if absent. */
export function mimeEssence(contentType: string | null): string | null {
  const essence = contentType?.split(";")[0]?.trim().toLowerCase() ?? "";
  return essence === "" ? null : essence;
}

// An uncompressed body that announces its size can be refused before it is downloaded.
function checkContentLength(response: Response, maxBytes: number, url: string): void {
  if (response.headers.has("content-encoding")) return;
  const length = Number(response.headers.get("content-length") ?? Number.NaN);
  if (length > maxBytes) throw tooLarge(maxBytes, url);
}

/** Reads the body as a stream and stops at `maxBytes`, counted after decompression. */
async function readBody(response: Response, maxBytes: number, url: string): Promise<Uint8Array> {
  if (response.body === null) return new Uint8Array(0);
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > maxBytes) throw tooLarge(maxBytes, url);
      chunks.push(value);
    }
  } catch (err) {
    // Cancelling closes the connection instead of draining (or inflating) the rest.
    await reader.cancel().catch(() => {});
    throw err;
  }
  const body = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return body;
}

function tooLarge(maxBytes: number, url: string): PermanentError {
  return new PermanentError(`page is larger than ${formatBytes(maxBytes)}: ${url}`);
}

/** `10 MiB`, `64 KiB` or `1000 bytes`: limits are usually powers of two, so say them that way. */
export function formatBytes(bytes: number): string {
  if (bytes % (1024 * 1024) === 0) return `${bytes / (1024 * 1024)} MiB`;
  if (bytes % 1024 === 0) return `${bytes / 1024} KiB`;
  return `${bytes} bytes`;
}

/** Maps a failure to the error the queue acts on; errors already classified pass through. */
function classifyFailure(
  err: unknown,
  url: string,
  caller: AbortSignal | undefined,
  timeout: AbortSignal,
  timeoutMs: number,
): unknown {
  if (err instanceof CourierError) return err;
  // The caller's abort (job timeout, shutdown) is the queue's decision: hand back its reason.
  if (caller?.aborted) return caller.reason;
  if (timeout.aborted) {
    return new RetryableError(`timed out after ${timeoutMs} ms fetching ${url}`, { cause: err });
  }
  const code = (err as { code?: unknown } | null)?.code;
  // A name that does not exist fails for good, as the guard says when it resolves the name
  // itself (without allowPrivate the fetch never resolves names: it connects to an address).
  if (code === "ENOTFOUND") {
    const host = URL.canParse(url) ? new URL(url).hostname : url;
    return new PermanentError(`could not resolve ${host}: no such host`, { cause: err });
  }
  const known = typeof code === "string" ? CONNECTION_FAILURES[code] : undefined;
  const detail = typeof code === "string" ? `${known ?? describe(err)}, ${code}` : describe(err);
  return new RetryableError(`could not fetch ${url}: connection failed (${detail})`, {
    cause: err,
  });
}

// Bun's messages for these name the code twice and suggest fetch's `verbose` option; a job's
// error is read by whoever enqueued the URL, so it says what happened instead.
const CONNECTION_FAILURES: Record<string, string> = {
  ECONNRESET: "the server closed the connection before the page was complete",
  ECONNREFUSED: "the server refused the connection",
  ETIMEDOUT: "the connection timed out",
  EHOSTUNREACH: "the host is unreachable",
  ENETUNREACH: "the network is unreachable",
  EPIPE: "the server closed the connection",
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: "the server's TLS certificate could not be verified",
  CERT_HAS_EXPIRED: "the server's TLS certificate has expired",
  ERR_TLS_CERT_ALTNAME_INVALID: "the server's TLS certificate is for another name",
};

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
