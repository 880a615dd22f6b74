// How a fetch that went wrong is told to the queue: an HTTP status (a host asking for fewer
// requests is a HeldError, a server error or 408 retryable, the rest permanent) or a failure
// to fetch at all (the caller's abort passes through, a timeout or a dropped connection is
// retryable, a name that does not exist permanent), with a message for whoever enqueued it.

import { STATUS_CODES } from "node:http";
import { CourierError, HeldError, PermanentError, RetryableError } from "../../errors.ts";
import { wordCountLimitKey } from "./limit-key.ts";
import { parseRetryAfter } from "./retry-after.ts";

/**
 * 2xx passes. 429, and 503 with Retry-After, are the host asking for fewer requests: a
 * HeldError holds the whole host that answered (its limit key, after redirects) that long, spending no attempt (429
 * without Retry-After: the queue's back-off). Other 5xx, 503 without Retry-After (a server
 * error like 500) and 408 are retryable; other statuses are permanent.
 */
export async function checkStatus(response: Response, url: string): Promise<void> {
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

/** Maps a failure to the error the queue acts on; errors already classified pass through. */
export function classifyFailure(
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
