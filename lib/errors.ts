// Named errors with stable codes. `bin/` maps codes to exit status in one place
// (bin/_cli.ts); task code throws PermanentError or RetryableError to steer the queue.

export type ErrorCode =
  | "ECONFIG"
  | "ECONNECT"
  | "EINVALIDURL"
  | "EINPUT"
  | "ENOTFOUND"
  | "ETIMEOUT"
  | "EPERMANENT"
  | "ERETRYABLE"
  | "EREDIS"
  | "EFULL"
  | "ECANCELED"
  | "EHELD";

/** Base class: every error Courier throws on purpose has a stable `code`. */
export class CourierError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** Redis refused a command for good: the ACL user lacks it (NOPERM), or WRONGTYPE. */
export class RedisRefusedError extends CourierError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("EREDIS", message, options);
  }
}

/** An option or argument is out of range or malformed. */
export class ConfigError extends CourierError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("ECONFIG", message, options);
  }
}

/**
 * What the command needs is taken or missing on this machine (a port in use, a worker's name
 * held by a live worker): exit 2 as a ConfigError, but no option in --help is the fix, so the
 * CLI does not point there.
 */
export class UnavailableError extends ConfigError {}

/** Redis cannot be reached, refused us, or is too old. The message never holds a password. */
export class ConnectError extends CourierError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("ECONNECT", message, options);
  }
}

/**
 * Redis did not answer a command within the client's answer limit (`commandTimeoutMs`): a
 * stalled server (stopped, swapping) or a peer that accepts and never replies. The connection
 * is kept, in case Redis answers later; a write may or may not have been done (a Queue's
 * enqueue then throws LostReplyError, saying so).
 */
export class NoAnswerError extends ConnectError {}

/**
 * A write got no answer: the connection dropped (or the command timed out) after it was sent,
 * so Redis may or may not have done it. An enqueue sent again within `retryConnectS` is safe:
 * its batch's receipt makes the re-send add nothing.
 */
export class LostReplyError extends ConnectError {}

/**
 * `durability: "replicated"`: the write is done on the shard's master, but no replica confirmed
 * it within the wait (WAIT 1 answered 0), so a failover now could lose it. Sending the same
 * batch again is safe (its receipt makes the re-send add nothing) and waits for a replica again;
 * a queue whose master has no replica (one just promoted) fails so until one attaches.
 */
export class NotReplicatedError extends LostReplyError {}

/**
 * Redis refused a write because it is at its `maxmemory` (policy `noeviction`, the one a queue
 * needs): nothing of the refused call was written. Back off and retry, or free memory (drain
 * the queue, read or expire results, purge dead letters). `maxmemoryBytes` and `policy` are
 * undefined when Redis would not say (CONFIG and INFO refused by an ACL).
 */
export class RedisFullError extends CourierError {
  readonly maxmemoryBytes: number | undefined;
  readonly policy: string | undefined;
  constructor(
    message: string,
    options: { cause?: unknown; maxmemoryBytes?: number; policy?: string } = {},
  ) {
    super("EFULL", message, { cause: options.cause });
    this.maxmemoryBytes = options.maxmemoryBytes;
    this.policy = options.policy;
  }
}

/** A URL given to the word-count task cannot be fetched safely (bad scheme, credentials, …). */
export class InvalidUrlError extends CourierError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("EINVALIDURL", message, options);
  }
}

/** Bad user input that is not a URL or an option: a malformed job id, an unreadable file. */
export class InputError extends CourierError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("EINPUT", message, options);
  }
}

/** A job id that Redis does not know (never enqueued, or its hash expired). */
export class JobNotFoundError extends CourierError {
  readonly jobId: string;
  /** `where` names the queue looked in, e.g. `queue "default" (prefix courier)`. */
  constructor(jobId: string, where?: string) {
    const place = where ? ` in ${where}` : "";
    const other = where ? ", or it is in another queue (--queue)" : "";
    super("ENOTFOUND", `no job ${jobId}${place}: unknown id, or its record has expired${other}`);
    this.jobId = jobId;
  }
}

/** Waiting for something (a job, a connection) took longer than allowed. */
export class WaitTimeoutError extends CourierError {
  constructor(message: string) {
    super("ETIMEOUT", message);
  }
}

/** Thrown by a task: the job fails now, with no further attempt. */
export class PermanentError extends CourierError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("EPERMANENT", message, options);
  }
}

/**
 * Thrown by a task: the job is tried again after a back-off (any other error counts as
 * retryable too). `retryAfterMs` overrides the computed back-off, e.g. from `Retry-After`.
 */
export class RetryableError extends CourierError {
  readonly retryAfterMs: number | undefined;
  constructor(message: string, options?: { cause?: unknown; retryAfterMs?: number }) {
    super("ERETRYABLE", message, options);
    this.retryAfterMs = options?.retryAfterMs;
  }
}

/**
 * Thrown by a task: the job's limit key (`JobSpec.limitKey`; the word-count task's is the URL's
 * host) is held for `retryAfterMs` (a server answered 429, or 503 with Retry-After): no job of
 * that key starts before then, on any worker, and this job runs again after it WITHOUT spending
 * an attempt. Other keys keep running. A job held `maxHolds` times fails for good (a host that
 * always answers 429). `retryAfterMs` undefined: the queue's back-off, counted in holds. `key`:
 * the limit key to hold instead of the job's own (the word-count task's, when the 429 came from
 * a redirect's target on another host): that key is held, and this job only waits it out. A
 * module without Courier to import throws an error with `code: "EHELD"` (and `retryAfterMs`,
 * `key`).
 */
export class HeldError extends CourierError {
  readonly retryAfterMs: number | undefined;
  readonly key: string | undefined;
  constructor(
    retryAfterMs?: number,
    message?: string,
    options?: { cause?: unknown; key?: string },
  ) {
    super("EHELD", message ?? `held${heldFor(retryAfterMs)}`, options);
    this.retryAfterMs = retryAfterMs;
    this.key = options?.key;
  }
}

/** How long a HeldError says it holds: none said (or none usable, e.g. -5) means the back-off. */
function heldFor(ms: number | undefined): string {
  if (ms === Number.POSITIVE_INFINITY) return " for as long as a hold may be";
  if (ms === undefined || !(ms > 0) || !Number.isFinite(ms)) return "";
  return ` for ${Math.ceil(ms / 1000)} s`;
}

/**
 * The reason a running task's signal aborts with when its job was canceled (`cancel`,
 * Queue.cancel, the dashboard): the task should stop; whatever it returns or throws after this
 * is ignored (the job's outcome is already `canceled`: no result, no retry, no dead letter).
 */
export class CanceledError extends CourierError {
  readonly jobId: string;
  constructor(jobId: string) {
    super("ECANCELED", `job ${jobId} was canceled`);
    this.jobId = jobId;
  }
}

/** An error and the causes behind it, nearest first (a few levels at most). */
export function causes(err: unknown): unknown[] {
  const chain: unknown[] = [];
  for (let e = err; e !== undefined && e !== null && chain.length < 5; ) {
    chain.push(e);
    e = e instanceof Error ? e.cause : undefined;
  }
  return chain;
}

/** Whether Redis refused a command for lack of memory (its reply starts with "OOM "). */
export function isOomError(err: unknown): boolean {
  if (err instanceof RedisFullError) return true;
  const message = err instanceof Error ? err.message : String(err);
  return message.startsWith("OOM ");
}

/** What describeError says of a value that has no text (Object.create(null), a Proxy, a getter that throws). */
export const UNPRINTABLE = "a thrown value that cannot be printed";

/**
 * One line that says what went wrong, for logs and job records. Never throws: a task may throw
 * anything, and a describer that threw in turn would lose the attempt's outcome.
 */
export function describeError(err: unknown): string {
  try {
    if (err instanceof Error) return String(err.message || err.name);
    const text = String(err);
    // A plain object thrown as an error (`{ code, message }`: what some libraries reject with)
    // says nothing as "[object Object]": its message, when it has one.
    return text === "[object Object]" ? (messageOf(err) ?? text) : text;
  } catch {
    return UNPRINTABLE;
  }
}

/** The non-empty string `message` of a thrown object, if it has one (a getter may throw). */
function messageOf(err: unknown): string | undefined {
  try {
    const message = (err as { message?: unknown }).message;
    return typeof message === "string" && message !== "" ? message : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The longest error a job's record keeps, in UTF-8 bytes: history.lua's HISTORY_ERROR_BYTES, so
 * that the job's error and its history's are the same text.
 */
export const ERROR_MAX_BYTES = 1000;

/** encodeInto writes whole characters only: it stops before one that does not fit. */
const clipBuffer = new Uint8Array(ERROR_MAX_BYTES);
const encoder = new TextEncoder();

/** `text` cut to at most ERROR_MAX_BYTES of UTF-8, never inside a character. */
export function clipError(text: string): string {
  // A UTF-16 unit is at most 3 bytes of UTF-8: a short text is never read whole.
  if (text.length * 3 <= ERROR_MAX_BYTES) return text;
  const { read } = encoder.encodeInto(text, clipBuffer);
  return read === text.length ? text : text.slice(0, read);
}

/**
 * Calls `run` and drops what it throws, or what the promise it returns rejects with: for code
 * of the user's (a logger, a task's abort listener) called where an error has nowhere to go.
 */
export function callQuietly(run: () => unknown): void {
  try {
    const r = run();
    if (r instanceof Promise) r.then(undefined, () => {});
  } catch {
    // Dropped: see above.
  }
}

/** The attempt ran longer than its time limit; the task's signal was aborted. Retryable. */
export class JobTimeoutError extends RetryableError {
  constructor(timeoutMs: number) {
    super(`timed out after ${timeoutMs} ms`);
  }
}
