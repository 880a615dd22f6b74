// Connecting to Redis: one client per role, a preflight version check, and errors that name
// the URL (password masked) and the cause in one line.
import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import { createClient, ErrorReply } from "redis";
import { ConfigError, ConnectError } from "../errors.ts";

/** The client type we use everywhere: RESP2, so raw replies are plain arrays and strings. */
export type Redis = ReturnType<typeof createRedisClient>;

/** XAUTOCLAIM (and its deleted-ids reply) needs Redis 6.2. */
export const MIN_REDIS_VERSION = "6.2.0";

export interface ConnectOptions {
  /** Keep reconnecting after the connection drops (workers). One-shot CLIs give up fast. */
  persistent?: boolean;
  /**
   * While disconnected, fail commands at once instead of queueing them until the connection
   * is back. Producers want this (the caller hears that Redis is down); workers do not (a
   * result written while Redis restarts should simply wait and land).
   */
  failFast?: boolean;
  /** Seconds to keep retrying the first connection before giving up (0 = one try). */
  retryConnectS?: number;
  /** Longest wait between reconnect attempts. */
  reconnectMaxMs?: number;
  /** Told about connection errors while reconnecting (never with a password in it). */
  onError?: (message: string) => void;
  /** Told when the connection is ready again after it was lost. */
  onReady?: () => void;
  /** Client name shown by CLIENT LIST. */
  name?: string;
  /** Give up (ConnectError) when connecting and the checks take longer than this. */
  timeoutMs?: number;
}

/**
 * `redis://user:secret@host` → `redis://user:***@host`; never print a URL without this. Redis
 * also takes a lone `redis://secret@host` as a password, so a user with no password is masked
 * too (`redis://***@host`). Text that is not `scheme://…` is not shown at all: a password given
 * by mistake in place of the URL would be. Works on the text, not a URL parser: a password with
 * an unencoded `/` or `@` would fool a parser into seeing no password at all. Everything up to
 * the last `@` is credentials.
 */
export function maskUrl(url: string): string {
  const head = /^[a-z][\w+.-]*:\/\//i.exec(url)?.[0];
  if (!head) return "***";
  const at = url.lastIndexOf("@");
  if (at < head.length) return url.replace(/\/$/, "");
  const credentials = url.slice(head.length, at);
  const colon = credentials.indexOf(":");
  const masked = colon === -1 ? "***" : `${credentials.slice(0, colon)}:***`;
  return `${head}${masked}@${url.slice(at + 1)}`.replace(/\/$/, "");
}

function createRedisClient(
  url: string,
  strategy: (retries: number) => number | Error,
  failFast = false,
  ca?: string,
) {
  return createClient({
    url,
    RESP: 2,
    socket: {
      connectTimeout: 5_000,
      reconnectStrategy: strategy,
      ...(ca === undefined ? {} : { tls: true as const, ca }),
    },
    // Without failFast, commands sent while reconnecting wait in the offline queue; that is
    // what lets a worker ride out a Redis restart. Blocking reads are bounded, so nothing
    // waits forever.
    disableOfflineQueue: failFast,
  });
}

/** Connects, checks the server, and returns a ready client. Throws ConnectError. */
export async function connect(url: string, options: ConnectOptions = {}): Promise<Redis> {
  validateUrl(url);
  const deadline = Date.now() + (options.retryConnectS ?? 0) * 1_000;
  let ready = false;
  let lastCause: unknown;
  const maxMs = options.reconnectMaxMs ?? 5_000;
  const strategy = (retries: number) => {
    if (!ready && Date.now() >= deadline) return new Error("gave up connecting");
    if (ready && !options.persistent && retries > 3) return new Error("connection lost");
    return Math.min(50 * 2 ** retries, maxMs);
  };
  let client: Redis;
  const ca = tlsCa(url);
  try {
    client = createRedisClient(url, strategy, options.failFast, ca);
  } catch (err) {
    // node-redis refuses what it cannot parse (a database that is not a number, no host).
    throw new ConfigError(`invalid Redis URL "${maskUrl(url)}": ${describeCause(err)}`);
  }
  client.on("error", (err: unknown) => {
    lastCause = err;
    if (ready) options.onError?.(describeCause(err));
  });
  client.on("ready", () => {
    if (ready) options.onReady?.();
  });
  // A peer that accepts the connection and then never answers (a stalled network) would hang
  // here for ever: with a time limit, the client is destroyed, which rejects what is pending.
  const limit = options.timeoutMs
    ? setTimeout(() => {
        lastCause = new Error(`no answer within ${options.timeoutMs} ms`);
        safeDestroy(client);
      }, options.timeoutMs)
    : undefined;
  try {
    await client.connect();
  } catch (err) {
    clearTimeout(limit);
    safeDestroy(client);
    const cause = lastCause ?? err;
    throw new ConnectError(
      `cannot connect to Redis at ${maskUrl(url)}: ${describeCause(cause)}${tlsHint(cause)}`,
      { cause },
    );
  }
  ready = true;
  try {
    await preflight(client, url);
    if (options.name) await setName(client, options.name);
  } catch (err) {
    if (err instanceof ConnectError) throw err;
    safeDestroy(client);
    const why = describeCause(lastCause ?? err);
    throw new ConnectError(`Redis at ${maskUrl(url)} did not answer: ${why}`, { cause: err });
  } finally {
    clearTimeout(limit);
  }
  return client;
}

/**
 * For rediss://, the CA certificates (PEM) in the file named by REDIS_TLS_CA, trusted instead of
 * the system's for Redis alone (NODE_EXTRA_CA_CERTS would also make the word-count fetch trust
 * them). Undefined when unset or for redis://.
 */
function tlsCa(url: string): string | undefined {
  const file = process.env.REDIS_TLS_CA;
  if (!file || new URL(url).protocol !== "rediss:") return undefined;
  try {
    return readFileSync(file, "utf8");
  } catch (err) {
    throw new ConfigError(`cannot read REDIS_TLS_CA file ${file}: ${describeCause(err)}`);
  }
}

// Codes of a server certificate the client could not verify (node:tls names).
const TLS_VERIFY = /CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|ALTNAME/;

function tlsHint(cause: unknown): string {
  const code = String((cause as { code?: unknown } | null)?.code ?? "");
  if (!TLS_VERIFY.test(code)) return "";
  const file = process.env.REDIS_TLS_CA;
  return file
    ? ` (REDIS_TLS_CA is ${file}: is it the CA that signed the server's certificate?)`
    : " (set REDIS_TLS_CA to the file of the CA that signed the server's certificate)";
}

/** Names the connection for CLIENT LIST; an ACL user without CLIENT SETNAME goes unnamed. */
async function setName(client: Redis, name: string): Promise<void> {
  try {
    await client.sendCommand(["CLIENT", "SETNAME", name]);
  } catch (err) {
    if (!(err instanceof ErrorReply && err.message.startsWith("NOPERM"))) throw err;
  }
}

function safeDestroy(client: Redis): void {
  try {
    client.destroy();
  } catch {
    // already closed
  }
}

async function preflight(client: Redis, url: string): Promise<void> {
  let info: string;
  try {
    info = String(await client.sendCommand(["INFO", "server"]));
  } catch (err) {
    if (isTransient(err)) throw err; // the caller reports a connection that did not answer
    safeDestroy(client);
    throw new ConnectError(`Redis at ${maskUrl(url)} refused INFO: ${describeCause(err)}`, {
      cause: err,
    });
  }
  const version = /redis_version:([\d.]+)/.exec(info)?.[1] ?? "0";
  if (compareVersions(version, MIN_REDIS_VERSION) < 0) {
    safeDestroy(client);
    throw new ConnectError(
      `Redis at ${maskUrl(url)} is version ${version}; Courier needs ${MIN_REDIS_VERSION} or newer (XAUTOCLAIM)`,
    );
  }
}

export function compareVersions(a: string, b: string): number {
  const pa = a.split(".").map(Number);
  const pb = b.split(".").map(Number);
  for (let i = 0; i < 3; i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return Math.sign(d);
  }
  return 0;
}

/** A malformed URL is bad usage (ConfigError, exit 2), not an unreachable Redis. */
function validateUrl(url: string): void {
  const scheme = /^([a-z][\w+.-]*):\/\//i.exec(url)?.[1]?.toLowerCase();
  if (scheme === undefined) {
    // Not echoed: what was given in place of a URL may well be the password.
    throw new ConfigError("the Redis URL is not a redis:// URL (not shown: it may be a password)");
  }
  if (scheme !== "redis" && scheme !== "rediss") {
    throw new ConfigError(
      `invalid Redis URL: scheme must be redis:// or rediss://, not ${scheme}://`,
    );
  }
  try {
    new URL(url);
  } catch {
    throw new ConfigError(
      `invalid Redis URL "${maskUrl(url)}": expected redis://[user:password@]host[:port][/db]`,
    );
  }
}

/** One line for a low-level connection error; AggregateErrors (IPv4+IPv6) are flattened. */
export function describeCause(err: unknown): string {
  if (err instanceof AggregateError && err.errors.length > 0) return describeCause(err.errors[0]);
  if (err instanceof Error) {
    const code = (err as { code?: string }).code;
    // node-redis' TimeoutError (a command unanswered past its timeout) has no message.
    const msg =
      err.message || (err.constructor.name === "TimeoutError" ? "no reply in time" : err.name);
    return code && !msg.includes(code) ? `${code} ${msg}` : msg;
  }
  return String(err);
}

/**
 * Server settings that put jobs at risk, as warnings (empty when all is well). CONFIG may be
 * disabled (managed Redis): then nothing can be said, and nothing is.
 */
export async function serverWarnings(client: Redis): Promise<string[]> {
  const get = async (name: string) => {
    try {
      const reply = await client.sendCommand<string[]>(["CONFIG", "GET", name]);
      return reply[1] ?? null;
    } catch {
      return null;
    }
  };
  const [policy, aof] = await Promise.all([get("maxmemory-policy"), get("appendonly")]);
  const warnings: string[] = [];
  if (policy && policy !== "noeviction") {
    warnings.push(
      `maxmemory-policy is ${policy}: Redis may evict job records or the stream under memory pressure and lose jobs; set it to noeviction`,
    );
  }
  if (aof === "no") {
    warnings.push("appendonly is no: jobs will not survive a broker restart");
  }
  return warnings;
}

/** Error replies that mean "not now" rather than "never": Redis is starting or failing over. */
const TRANSIENT_REPLY = /^(LOADING|BUSY|MASTERDOWN|TRYAGAIN|CLUSTERDOWN)\b/;

/**
 * True for failures of the connection (closed, offline, reset, timed out) and for replies
 * that say Redis is not ready yet; false for real error replies (a command Redis refused).
 */
export function isTransient(err: unknown): boolean {
  if (err instanceof ErrorReply) return TRANSIENT_REPLY.test(err.message);
  return err instanceof Error;
}

/** Default consumer name: unique per process, readable in `info`. */
export function defaultWorkerName(): string {
  return `${hostname()}-${process.pid}-${Math.random().toString(36).slice(2, 6)}`;
}
