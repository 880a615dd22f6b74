// Connecting to Redis: one client per role, a preflight version check (server.ts), and errors
// that name the URL (password masked: url.ts) and the cause (cause.ts) in one line.
import { hostname } from "node:os";
import "./tracing.ts"; // before any command: see the file
import { defaults } from "../config.ts";
import { ConfigError, ConnectError } from "../errors.ts";
import { exponentialMs } from "../time.ts";
import { answerLimit, limitAnswers, TIMER_MAX_MS } from "./answer.ts";
import { argsEchoOffIn, describeCause, isConnectionError, isNoPerm } from "./cause.ts";
import { destroy, markStalled } from "./close.ts";
import { createClusterClient, isCluster } from "./cluster.ts";
import { checkServers } from "./server.ts";
import { answersPing, createRedisClient, reopenIfCut, writtenAtOnce } from "./single.ts";
import { isClusterUrl, maskUrl, tlsCa, tlsHint, validateUrl } from "./url.ts";

/**
 * What Courier asks of a connection, everywhere: raw commands (RESP2, so replies are plain
 * arrays and strings) and its life cycle. A node-redis client of one server is one; a Redis
 * Cluster's client (lib/redis/cluster.ts) is another, routing each command by its key.
 */
export interface Redis {
  sendCommand<T = unknown>(args: readonly string[]): Promise<T>;
  readonly isReady: boolean;
  // biome-ignore lint/suspicious/noExplicitAny: node-redis' events carry various arguments
  on(event: "error" | "ready" | "connect" | "end", listener: (...args: any[]) => void): unknown;
  connect(): Promise<unknown>;
  close(): Promise<void>;
  destroy(): void;
}

export interface ConnectOptions {
  /** Keep reconnecting after the connection drops (workers). One-shot CLIs give up fast. */
  persistent?: boolean;
  /**
   * While disconnected, fail commands at once instead of queueing them until the connection
   * is back. Producers want this (the caller hears that Redis is down); workers do not (a
   * result written while Redis restarts should simply wait and land).
   */
  failFast?: boolean;
  /**
   * The caller replaces this connection when it stalls (a worker's Link, its watchdogs): a
   * command sent while it is ready goes without node-redis' write timer (see writtenAtOnce).
   */
  watched?: boolean;
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
  /**
   * Give up (ConnectError) when connecting and the checks take longer than this, plus
   * `retryConnectS` (default defaults.connectTimeoutMs).
   */
  timeoutMs?: number;
  /**
   * Aborted: the connect is given up at once, its client destroyed (ConnectError): a Link
   * closed while it reconnects (link.ts) leaves no connection opening behind it.
   */
  signal?: AbortSignal;
  /**
   * Give up (ConnectError) by this time at the latest (ms, this host's clock), whatever the
   * limits above allow: a caller's own time limit (a wait's, lib/queue/waiters.ts).
   */
  until?: number;
  /**
   * Longest a connected client's command may go unanswered (beyond the BLOCK time of a
   * blocking read) before it is rejected with NoAnswerError (answer.ts); a persistent client of
   * one server then opens a new one when a new connection answers (single.ts reopenIfCut).
   * Default defaults.commandTimeoutMs; none for a `watched` client, whose owner replaces it.
   */
  answerMs?: number;
  /**
   * For blocking reads (XREADGROUP … BLOCK). On a Redis Cluster: connected lazily, one
   * connection per node read from. A cluster client opened without it refuses blocking
   * commands (a bug): one would stall every other command to its node.
   */
  blocking?: boolean;
  /**
   * On a Redis Cluster, the key whose node this connection is for (a worker's shard:
   * lib/worker/links.ts): its version check asks that node only. The process' first
   * connection checked every master, and each shard's checking them all again would open a
   * connection to every master per shard.
   */
  home?: string;
}

/**
 * A cluster's node reconnects every 100 ms for its first 20 tries (a master back after a blip
 * is used at once), then backs off to reconnectMaxMs: one down for good (no replica) is not
 * hammered. A failed-over master is found by asking for the layout (cluster-nodes.ts), and a
 * command waits NODE_WAIT_MS at most for its node (cluster.ts).
 */
const CLUSTER_RECONNECT_MS = 100;
const CLUSTER_FAST_TRIES = 20;

/** What connect() keeps of a client while it connects, and after. */
interface Progress {
  /** Connected and checked: from then on, errors and reconnects are the caller's to hear. */
  ready: boolean;
  /** Why the first connect failed: the last connection error, or the time limit's. */
  lastCause: unknown;
  /** The time limit passed (the client destroyed: the error that raises is not why). */
  timedOut: boolean;
}

/** Connects, checks the server, and returns a ready client. Throws ConnectError. */
export async function connect(url: string, options: ConnectOptions = {}): Promise<Redis> {
  validateUrl(url);
  const deadline = Date.now() + (options.retryConnectS ?? 0) * 1_000;
  const p: Progress = { ready: false, lastCause: undefined, timedOut: false };
  const answerMs = options.answerMs ?? (options.watched ? undefined : defaults.commandTimeoutMs);
  const strategy = reconnectStrategy(isClusterUrl(url), options, deadline, p);
  const client = createFor(url, options, strategy, deadline, answerMs);
  listen(client, options, p);
  const limit = giveUpLater(client, options, answerMs, p);
  const abort = () => {
    p.lastCause ??= new Error("closed while connecting");
    destroy(client);
  };
  options.signal?.addEventListener("abort", abort, { once: true });
  if (options.signal?.aborted) abort();
  try {
    await client.connect();
  } catch (err) {
    clearTimeout(limit);
    options.signal?.removeEventListener("abort", abort);
    destroy(client);
    const cause = p.lastCause ?? err;
    argsEchoOffIn(cause); // kept as the cause: never with a password a Redis echoed
    throw new ConnectError(
      `cannot connect to Redis at ${maskUrl(url)}: ${describeCause(cause)}${tlsHint(cause)}`,
      { cause },
    );
  }
  p.ready = true;
  try {
    await checkReady(client, url, options, p);
  } finally {
    clearTimeout(limit);
    options.signal?.removeEventListener("abort", abort);
  }
  if (options.signal?.aborted) {
    destroy(client);
    throw new ConnectError(`cannot connect to Redis at ${maskUrl(url)}: closed while connecting`);
  }
  return client;
}

/**
 * When to try again, for node-redis: until `deadline` while connecting (then give up); a
 * cluster's node fast at first, then backing off (CLUSTER_RECONNECT_MS); a one-shot client
 * gives up after 3 tries once connected, a persistent one never.
 */
function reconnectStrategy(
  cluster: boolean,
  options: ConnectOptions,
  deadline: number,
  p: Progress,
) {
  const maxMs = options.reconnectMaxMs ?? defaults.reconnectMaxMs;
  return (retries: number): number | Error => {
    if (!p.ready && Date.now() >= deadline) return new Error("gave up connecting");
    if (cluster && retries < CLUSTER_FAST_TRIES) return Math.min(CLUSTER_RECONNECT_MS, maxMs);
    if (cluster) return exponentialMs(CLUSTER_RECONNECT_MS, retries - CLUSTER_FAST_TRIES, maxMs);
    if (p.ready && !options.persistent && retries > 3) return new Error("connection lost");
    return exponentialMs(50, retries, maxMs);
  };
}

/**
 * The client for `url`, not connected yet: a cluster's or one server's, its commands limited
 * to `answerMs` (answer.ts). A URL node-redis cannot parse (a database that is not a number,
 * no host) is a ConfigError.
 */
function createFor(
  url: string,
  options: ConnectOptions,
  strategy: (retries: number) => number | Error,
  deadline: number,
  answerMs: number | undefined,
): Redis {
  let client: Redis;
  let single: ReturnType<typeof createRedisClient> | undefined;
  // A persistent client of one server opens a new connection when its stalled one is found cut
  // (single.ts reopenIfCut: a new connection answers where it does not).
  const stalled = () => {
    markStalled(client, true);
    if (single && answerMs && options.persistent && !options.watched) {
      void reopenIfCut(single, () => answersPing(url, ca, answerMs), answerMs);
    }
  };
  const answered = answerMs
    ? answerLimit(url, answerMs, stalled, () => markStalled(client, false))
    : undefined;
  const ca = tlsCa(url);
  const connectMs = defaults.connectTimeoutMs;
  try {
    if (isClusterUrl(url)) {
      const seedTimeoutMs = Math.min(options.timeoutMs ?? connectMs, connectMs);
      const o = { ...options, strategy, ca, deadline, answered, seedTimeoutMs };
      client = createClusterClient(url, o);
      return client;
    }
    single = createRedisClient(url, strategy, options.failFast, ca);
    if (options.watched || answered) writtenAtOnce(single);
    if (answered) limitAnswers(single, answered);
    client = single;
    return client;
  } catch (err) {
    throw new ConfigError(`invalid Redis URL "${maskUrl(url)}": ${describeCause(err)}`);
  }
}

/** Keeps why a first connect fails, and tells the caller of errors and reconnects after it. */
function listen(client: Redis, options: ConnectOptions, p: Progress): void {
  client.on("error", (err: unknown) => {
    // After the limit, the error destroy() raises (`Socket closed unexpectedly`) is not why.
    if (!p.timedOut) p.lastCause = err;
    if (p.ready) options.onError?.(describeCause(err));
  });
  client.on("ready", () => {
    if (p.ready) options.onReady?.();
  });
}

/**
 * A peer that accepts the connection and then never answers (a stalled network) would hang a
 * connect for ever: past a time limit the client is destroyed, which rejects what is pending.
 * A client whose commands must answer sooner than defaults.connectTimeoutMs need not wait
 * longer for its first answers, nor one with a time limit of its own (`until`) past it.
 */
function giveUpLater(
  client: Redis,
  options: ConnectOptions,
  answerMs: number | undefined,
  p: Progress,
): ReturnType<typeof setTimeout> {
  const connectMs = defaults.connectTimeoutMs;
  const firstMs = options.timeoutMs ?? Math.min(connectMs, answerMs ?? connectMs);
  const ownMs = firstMs + (options.retryConnectS ?? 0) * 1_000;
  const callerMs = Math.max(0, (options.until ?? Number.POSITIVE_INFINITY) - Date.now());
  const limitMs = Math.round(Math.min(ownMs, callerMs, TIMER_MAX_MS));
  return setTimeout(() => {
    p.lastCause = new Error(`no answer within ${limitMs} ms`);
    p.timedOut = true;
    destroy(client);
  }, limitMs);
}

/** The checks of a connected client, and its name; a failure destroys it (ConnectError). */
async function checkReady(client: Redis, url: string, options: ConnectOptions, p: Progress) {
  try {
    await checkServers(client, url, options.blocking, options.home);
    // A cluster names each node connection as it opens (cluster.ts).
    if (options.name && !isCluster(client)) await setName(client, options.name);
  } catch (err) {
    destroy(client);
    if (err instanceof ConnectError) throw err;
    const why = describeCause(p.lastCause ?? err);
    throw new ConnectError(`Redis at ${maskUrl(url)} did not answer: ${why}`, { cause: err });
  }
}

/**
 * A connection lost after connecting, while a process sets itself up (a worker's checks, its
 * group, its name): a ConnectError (exit 6, one line), not an unexpected error with a stack.
 * Replies and anything else pass as they are.
 */
export function lostWhileStarting(err: unknown, url: string, what: string): unknown {
  if (!isConnectionError(err)) return err;
  const why = describeCause(err);
  return new ConnectError(`Redis at ${maskUrl(url)} did not answer ${what}: ${why}`, {
    cause: err,
  });
}

/** Names the connection for CLIENT LIST; an ACL user without CLIENT SETNAME goes unnamed. */
async function setName(client: Redis, name: string): Promise<void> {
  try {
    await client.sendCommand(["CLIENT", "SETNAME", name]);
  } catch (err) {
    if (!isNoPerm(err)) throw err;
  }
}

/** Default consumer name: unique per process, readable in `info`. */
export function defaultWorkerName(): string {
  return `${hostname()}-${process.pid}-${Math.random().toString(36).slice(2, 6)}`;
}
