// Why a Redis call failed, in one line, and whether it is worth trying again.
import {
  ClientClosedError,
  ClientOfflineError,
  ConnectionTimeoutError,
  DisconnectsClientError,
  ErrorReply,
  MaxCommandRedirectionsError,
  ReconnectStrategyError,
  RootNodesUnavailableError,
  SocketClosedUnexpectedlyError,
  SocketTimeoutError,
  TimeoutError,
} from "@redis/client";
import { ConnectError, CourierError, causes } from "../errors.ts";

/**
 * node-redis' own limit on a command waiting to be sent (its `commandOptions.timeout`, 5000 ms
 * by default, left as it is: lib/redis/single.ts): past it the command is rejected with a
 * TimeoutError whose message is empty.
 */
export const CLIENT_SEND_TIMEOUT_MS = 5_000;

/** Why a command goes unsent that long. */
const UNSENT =
  "the command waited that long to be sent: Redis or the network stalled, or too many commands were out at once";
const NO_ANSWER = `no answer within ${CLIENT_SEND_TIMEOUT_MS} ms (${UNSENT})`;

/**
 * The line for node-redis' TimeoutError found in `err` or its causes (its own message is
 * empty); null when there is none.
 */
export function noAnswerLine(err: unknown): string | null {
  const timeout = causes(err).find((e) => e instanceof TimeoutError);
  if (!timeout) return null;
  if (timeout.message) return `Redis did not answer: ${timeout.message}`;
  return `Redis did not answer within ${CLIENT_SEND_TIMEOUT_MS} ms (${UNSENT})`;
}

/** One line for a low-level connection error; AggregateErrors (IPv4+IPv6) are flattened. */
export function describeCause(err: unknown): string {
  if (err instanceof AggregateError && err.errors.length > 0) return describeCause(err.errors[0]);
  // node-redis' "The client is offline": a command refused while it reconnects.
  if (err instanceof ClientOfflineError) return "not connected";
  if (err instanceof Error) {
    // Courier's own codes (ECONNECT) say nothing its message does not.
    const code = err instanceof CourierError ? undefined : (err as { code?: string }).code;
    // node-redis' TimeoutError (a command unsent past its timeout) has no message.
    const msg = argsEchoOff(err.message) || (err instanceof TimeoutError ? NO_ANSWER : err.name);
    return (code && !msg.includes(code) ? `${code} ${msg}` : msg) + dbHint(msg);
  }
  return String(err);
}

/** Where Redis' reply to an unknown command starts echoing its arguments. */
const ARGS_ECHO = ", with args beginning with:";

/**
 * `message` without Redis' echo of an unknown command's arguments ("ERR unknown command 'AUTH',
 * with args beginning with: 'PASSWORD'"): a Redis without AUTH (renamed away, or a proxy) echoes
 * the URL's password, which was printed. Said instead: "(its arguments not shown)".
 */
export function argsEchoOff(message: string): string {
  const at = message.indexOf(ARGS_ECHO);
  return at === -1 ? message : `${message.slice(0, at)} (its arguments not shown)`;
}

/**
 * The same, in the error itself (and its causes): a connect error keeps it as its cause, and a
 * program that logs that error whole printed the password.
 */
export function argsEchoOffIn(err: unknown): void {
  for (const e of causes(err)) {
    if (e instanceof Error && e.message.includes(ARGS_ECHO)) e.message = argsEchoOff(e.message);
  }
}

/**
 * SELECT's refusal of the URL's /db says only "DB index is out of range": say which setting
 * bounds it (a usage mistake, but one only this Redis can judge, so not exit 2).
 */
function dbHint(message: string): string {
  return /^ERR DB index is out of range/.test(message)
    ? " (the database in the Redis URL, /N, is beyond what this Redis has: its `databases` setting, 16 by default, allows /0 to /15)"
    : "";
}

/** Error replies that mean "not now" rather than "never": Redis is starting or failing over. */
const TRANSIENT_REPLY = /^(LOADING|BUSY|MASTERDOWN|TRYAGAIN|CLUSTERDOWN)\b/;

/**
 * True for failures of the connection (closed, offline, reset, timed out, a cluster's node
 * down) and for replies that say Redis is not ready yet; false for real error replies (a
 * command Redis refused) and for errors of the program (a TypeError, an InputError): trying
 * those again gives the same error, and "Redis is unreachable" would hide it.
 */
export function isTransient(err: unknown): boolean {
  if (err instanceof ErrorReply) return TRANSIENT_REPLY.test(err.message);
  if (err instanceof AggregateError) return err.errors.some(isTransient);
  if (err instanceof ConnectError || isConnectionError(err) || isSystemError(err)) return true;
  if (CLUSTER_LOST.some((c) => err instanceof c)) return true;
  // A plain Error: what the client's plumbing throws when a connection goes ("Cluster closed",
  // our reconnect strategy's "connection lost"); a program's own mistakes have their classes.
  return err instanceof Error && Object.getPrototypeOf(err) === Error.prototype;
}

/** node-redis' errors of a cluster whose nodes are away or moving (a failover). */
const CLUSTER_LOST = [
  MaxCommandRedirectionsError,
  ReconnectStrategyError,
  RootNodesUnavailableError,
];

const LOST = [
  ClientClosedError,
  ClientOfflineError,
  ConnectionTimeoutError,
  DisconnectsClientError,
  SocketClosedUnexpectedlyError,
  SocketTimeoutError,
  TimeoutError,
];

/** The socket errors of a connection that failed (not a port in use, not our own codes). */
const LOST_CODES = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTCONN",
  "ENETDOWN",
  "EHOSTDOWN",
  "ENETRESET",
  "EADDRNOTAVAIL",
  "EPROTO",
  "ERR_SOCKET_CLOSED",
]);

/**
 * A failed system call (a socket's read, write or connect: `syscall` and an errno code). Bun
 * gives such errors a class of its own between them and Error, so they are no plain Error; a
 * program's mistakes (TypeError, InputError) carry no syscall.
 */
function isSystemError(err: unknown): boolean {
  const { code, syscall } = (err ?? {}) as { code?: unknown; syscall?: unknown };
  return (
    err instanceof Error &&
    typeof syscall === "string" &&
    typeof code === "string" &&
    /^E[A-Z0-9_]+$/.test(code)
  );
}

/**
 * A failure to open a connection that trying again may mend: Redis away, starting (isTransient)
 * or at its `maxclients`; not a reply of Redis' refusing this client (WRONGPASS, NOAUTH, NOPERM:
 * the ConnectError that carries one is a connect failure too, but no retry gives what it refuses).
 */
export function isRetryableConnect(err: unknown): boolean {
  const reply = causes(err).find((e) => e instanceof ErrorReply);
  if (!reply) return isTransient(err);
  return isTransient(reply) || /^ERR max number of clients reached/.test(reply.message);
}

/** The connection failed (reset, closed, timed out): not a reply, not a bug of ours. */
export function isConnectionError(err: unknown): boolean {
  if (LOST.some((c) => err instanceof c)) return true;
  const code = (err as { code?: unknown } | null)?.code;
  return err instanceof Error && typeof code === "string" && LOST_CODES.has(code);
}

/** Redis refused a command because its key holds another type (someone else's key, or corrupt). */
export function isWrongType(err: unknown): boolean {
  return /^WRONGTYPE\b/.test(String((err as Error)?.message));
}

/** Redis refused a command or a key to this ACL user (NOPERM): no retry gives it. */
export function isNoPerm(err: unknown): boolean {
  return /^NOPERM\b/.test(String((err as Error)?.message));
}

/**
 * For `.catch`: `instead` when a key held another type (not ours to judge where it is read: the
 * scripts name such keys when they meet them); any other error (NOPERM) is rethrown.
 */
export function wrongTypeAs<T>(instead: T): (err: unknown) => T {
  return (err) => {
    if (isWrongType(err)) return instead;
    throw err;
  };
}
