// One server's client (not a cluster's): node-redis' createClient as Courier uses it, and the
// write timer a watched connection goes without. connect.ts makes and checks it.
import { createClient } from "@redis/client";
import { defaults } from "../config.ts";

/** A client of one server, not connected yet: RESP2, the connect limit, TLS with a private CA. */
export function createRedisClient(
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
export function writtenAtOnce(client: ReturnType<typeof createRedisClient>): void {
  const send = client.sendCommand.bind(client);
  client.sendCommand = ((args, options) =>
    send(args, options ?? (client.isReady ? NO_WRITE_TIMEOUT : undefined))) as typeof send;
}
