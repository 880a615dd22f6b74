// Connecting to Redis: one client per role, a preflight version check (server.ts), and errors
// that name the URL (password masked: url.ts) and the cause (cause.ts) in one line.
import { hostname } from "node:os";
import "./tracing.ts"; // before any command: see the file
import { createClient } from "@redis/client";
import { defaults } from "../config.ts";
import { ConfigError, ConnectError } from "../errors.ts";
import { exponentialMs, within } from "../time.ts";
import { answerLimit, limitAnswers, TIMER_MAX_MS } from "./answer.ts";
import { describeCause, isConnectionError, isNoPerm } from "./cause.ts";
import { destroy, markStalled } from "./close.ts";
import { createClusterClient, isCluster, mastersOf, NodeDownError, nodeIsDown } from "./cluster.ts";
import { NODE_CHECK_MS, preflight } from "./server.ts";
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
   * Longest a connected client's command may go unanswered (beyond the BLOCK time of a
   * blocking read) before it is rejected with NoAnswerError, the connection kept (answer.ts).
   * Default defaults.commandTimeoutMs; none for a `watched` client, whose owner replaces it.
   */
  answerMs?: number;
  /**
   * For blocking reads (XREADGROUP … BLOCK). On a Redis Cluster: connected lazily, one
   * connection per node read from. A cluster client opened without it refuses blocking
   * commands (a bug): one would stall every other command to its node.
   */
  blocking?: boolean;
}

/**
 * A cluster's node reconnects every 100 ms for its first 20 tries (a master back after a blip
 * is used at once), then backs off to reconnectMaxMs: one down for good (no replica) is not
 * hammered. A failed-over master is found by asking for the layout (cluster-nodes.ts), and a
 * command waits NODE_WAIT_MS at most for its node (cluster.ts).
 */
const CLUSTER_RECONNECT_MS = 100;
const CLUSTER_FAST_TRIES = 20;

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
      connectTimeout: defaults.connectTimeoutMs,
      reconnectStrategy: strategy,
      ...(ca === undefined ? {} : { tls: true as const, ca }),
    },
    // Without failFast, commands sent while reconnecting wait in the offline queue; that is
    // what lets a worker ride out a Redis restart. Blocking reads are bounded, so nothing
    // waits forever.
    disableOfflineQueue: failFast,
  });
}

/** node-redis' command options with its write timeout off (see writtenAtOnce). */
const NO_WRITE_TIMEOUT = { timeout: 0 };

/**
 * node-redis (6.x) gives every command a timeout, 5 s by default, that only runs while the
 * command waits to be written (an `AbortSignal.timeout` and its listener, removed once it is
 * written). A command sent while the connection is ready is usually written on the event loop's
 * next turn: the timer costs a worker about 10 µs per job and never fires. But it can wait
 * longer (a socket whose send buffer is full, Redis stalled with the connection open), and then
 * the timer is what fails it after 5 s. So only a watched connection (a worker's Link, which
 * its watchdogs replace when it stalls, rejecting what it holds) goes without it, and only while
 * ready; a producer's, an admin's or a CLI's keeps it (tests/redis.write-timeout.test.ts).
 */
function writtenAtOnce(client: ReturnType<typeof createRedisClient>): void {
  const send = client.sendCommand.bind(client);
  client.sendCommand = ((args, options) =>
    send(args, options ?? (client.isReady ? NO_WRITE_TIMEOUT : undefined))) as typeof send;
}

/** Connects, checks the server, and returns a ready client. Throws ConnectError. */
export async function connect(url: string, options: ConnectOptions = {}): Promise<Redis> {
  validateUrl(url);
  const deadline = Date.now() + (options.retryConnectS ?? 0) * 1_000;
  let ready = false;
  let lastCause: unknown;
  const maxMs = options.reconnectMaxMs ?? defaults.reconnectMaxMs;
  const connectMs = defaults.connectTimeoutMs;
  const cluster = isClusterUrl(url);
  const strategy = (retries: number) => {
    if (!ready && Date.now() >= deadline) return new Error("gave up connecting");
    if (cluster && retries < CLUSTER_FAST_TRIES) return Math.min(CLUSTER_RECONNECT_MS, maxMs);
    if (cluster) return exponentialMs(CLUSTER_RECONNECT_MS, retries - CLUSTER_FAST_TRIES, maxMs);
    if (ready && !options.persistent && retries > 3) return new Error("connection lost");
    return exponentialMs(50, retries, maxMs);
  };
  let client: Redis;
  const answerMs = options.answerMs ?? (options.watched ? undefined : defaults.commandTimeoutMs);
  const answered = answerMs
    ? answerLimit(
        url,
        answerMs,
        () => markStalled(client, true),
        () => markStalled(client, false),
      )
    : undefined;
  const ca = tlsCa(url);
  try {
    client = cluster
      ? createClusterClient(url, {
          ...options,
          strategy,
          ca,
          deadline,
          answered,
          seedTimeoutMs: Math.min(options.timeoutMs ?? connectMs, connectMs),
        })
      : createRedisClient(url, strategy, options.failFast, ca);
    if (!cluster && options.watched) writtenAtOnce(client as ReturnType<typeof createRedisClient>);
    if (!cluster && answered) limitAnswers(client, answered);
  } catch (err) {
    // node-redis refuses what it cannot parse (a database that is not a number, no host).
    throw new ConfigError(`invalid Redis URL "${maskUrl(url)}": ${describeCause(err)}`);
  }
  let timedOut = false;
  client.on("error", (err: unknown) => {
    // After the limit, the error destroy() raises (`Socket closed unexpectedly`) is not why.
    if (!timedOut) lastCause = err;
    if (ready) options.onError?.(describeCause(err));
  });
  client.on("ready", () => {
    if (ready) options.onReady?.();
  });
  // A peer that accepts the connection and then never answers (a stalled network) would hang
  // here for ever: with a time limit, the client is destroyed, which rejects what is pending.
  // A client whose commands must answer sooner than defaults.connectTimeoutMs need not wait
  // longer for its first answers.
  const firstMs = options.timeoutMs ?? Math.min(connectMs, answerMs ?? connectMs);
  const limitMs = Math.min(firstMs + (options.retryConnectS ?? 0) * 1_000, TIMER_MAX_MS);
  const limit = setTimeout(() => {
    lastCause = new Error(`no answer within ${limitMs} ms`);
    timedOut = true;
    destroy(client);
  }, limitMs);
  try {
    await client.connect();
  } catch (err) {
    clearTimeout(limit);
    destroy(client);
    const cause = lastCause ?? err;
    throw new ConnectError(
      `cannot connect to Redis at ${maskUrl(url)}: ${describeCause(cause)}${tlsHint(cause)}`,
      { cause },
    );
  }
  ready = true;
  try {
    await checkNodes(client, url, options);
    // A cluster names each node connection as it opens (cluster.ts).
    if (options.name && !isCluster(client)) await setName(client, options.name);
  } catch (err) {
    destroy(client);
    if (err instanceof ConnectError) throw err;
    const why = describeCause(lastCause ?? err);
    throw new ConnectError(`Redis at ${maskUrl(url)} did not answer: ${why}`, { cause: err });
  } finally {
    clearTimeout(limit);
  }
  return client;
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

/**
 * The version check on the servers a new client uses: one server; every master of a cluster
 * that answers within NODE_CHECK_MS (at least one must; one known down is not waited for), for a blocking client only the node of
 * its keyless commands (it connects to no other until it reads there; the process' command
 * client checks them all).
 */
async function checkNodes(client: Redis, url: string, options: ConnectOptions): Promise<void> {
  if (!isCluster(client)) return preflight(client, url);
  const masters = options.blocking ? [client] : await mastersOf(client);
  const nodes = masters.filter((node) => !nodeIsDown(node));
  let answered = options.blocking ?? false;
  let silent: unknown;
  const check = async (node: Redis) => {
    try {
      if (await within(preflight(node, url), NODE_CHECK_MS)) answered = true;
    } catch (err) {
      // Too old, or INFO refused; a node down is skipped as one that does not answer.
      if (err instanceof ConnectError && !(err instanceof NodeDownError)) throw err;
      silent = err;
    }
  };
  await Promise.all(nodes.map(check));
  if (!answered) throw silent ?? new Error(`no master answered within ${NODE_CHECK_MS} ms`);
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
