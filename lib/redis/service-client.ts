// The connection of a client that lives as long as its service: a Queue's (its producer, its
// waiters, its events() iterators) and an Admin's (the dashboard's). One policy for them all.
import type { QueueOptions } from "../config.ts";
import { type ConnectOptions, connect, type Redis } from "./connect.ts";

/**
 * Connects for a service: it reconnects in the background (up to `reconnectMaxMs` apart), and
 * while Redis is down its calls fail at once with a clear error instead of hanging (the
 * dashboard answers 503); a command unanswered for `commandTimeoutMs` fails (NoAnswerError).
 * `more`: what differs by client (its retryConnectS, blocking for a blocking reader, the time
 * limit of a wait that opens it).
 */
export function connectService(
  options: Pick<QueueOptions, "redisUrl" | "reconnectMaxMs" | "commandTimeoutMs">,
  name: string,
  more: Pick<ConnectOptions, "retryConnectS" | "blocking" | "until"> = {},
): Promise<Redis> {
  return connect(options.redisUrl, {
    ...more,
    name,
    persistent: true,
    failFast: true,
    reconnectMaxMs: options.reconnectMaxMs,
    answerMs: options.commandTimeoutMs,
  });
}
