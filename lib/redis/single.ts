// One server's client (not a cluster's): node-redis' createClient as Courier uses it, and the
// write timer a watched connection goes without. connect.ts makes and checks it.

import { isIP, connect as netConnect, type Socket } from "node:net";
import { connect as tlsConnect } from "node:tls";
import { createClient } from "@redis/client";
import { defaults } from "../config.ts";
import { valueWithin } from "../time.ts";

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
 * next turn: the timer costs about 6 µs per command and never fires. But it can wait longer (a
 * socket whose send buffer is full, Redis stalled with the connection open), and then something
 * must fail it. A watched connection (a worker's Link) is replaced by its watchdogs when it
 * stalls, rejecting what it holds; an unwatched one with an answer limit (a producer's, an
 * admin's, a CLI's: answer.ts) fails every command unanswered within its limit, the time to be
 * written included (a write then "may or may not have been done", as for any unanswered one).
 * So those go without it while ready; a command sent while not ready keeps it, and so does a
 * connection with neither (tests/redis.write-timeout.test.ts).
 */
export function writtenAtOnce(client: ReturnType<typeof createRedisClient>): void {
  const send = client.sendCommand.bind(client);
  client.sendCommand = ((args, options) =>
    send(args, options ?? (client.isReady ? NO_WRITE_TIMEOUT : undefined))) as typeof send;
}

/** Clients whose stalled connection is being looked at (reopenIfCut): one look at a time. */
const probing = new WeakSet<object>();

/**
 * Whether the server at `url` answers a new connection within `ms`: an inline `PING` on a plain
 * socket (TLS for rediss://, its CA), any reply counting (`-NOAUTH` too: the server is there).
 * No client of node-redis: a probe given up while it connects leaves nothing behind.
 */
export function answersPing(url: string, ca: string | undefined, ms: number): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    let socket: Socket | undefined;
    const done = (yes: boolean) => {
      clearTimeout(timer);
      socket?.destroy();
      resolve(yes);
    };
    // Neither keeps the process alive: a host that closes its clients meanwhile exits.
    const timer = setTimeout(() => done(false), ms);
    timer.unref();
    try {
      const u = new URL(url);
      const host = u.hostname.replace(/^\[(.*)\]$/, "$1");
      const port = Number(u.port || 6379);
      const tlsOn = u.protocol === "rediss:";
      socket = tlsOn
        ? tlsConnect({ host, port, ca, servername: isIP(host) ? undefined : host })
        : netConnect({ host, port });
      socket.unref();
      socket.on(tlsOn ? "secureConnect" : "connect", () => socket?.write("PING\r\n"));
      socket.on("data", () => done(true));
      socket.on("error", () => done(false));
      socket.on("close", () => done(false));
    } catch {
      done(false);
    }
  });
}

/**
 * A connection that left a command unanswered past its limit may be cut for good (a NAT or a
 * firewall that dropped it, a proxy gone silent): the kernel keeps it open for minutes, and
 * every later command would fail the same way. A new connection tells (answersPing): one that
 * answers within `ms` says the server is there and the old connection alone is cut (unless it
 * then answers a PING of its own: Redis has just resumed), so the client opens a new one
 * (node-redis' own connect, its strategy's back-off between tries; what was pending on the old
 * one is rejected, as its answer limit was failing it). One that does not answer says Redis
 * itself is stopped or busy: the connection is kept, and Redis answers on it once it runs
 * again. Not while the client opens already, nor once its owner closed it (close.ts destroy()
 * also closes a connection opened after that).
 */
export async function reopenIfCut(
  client: ReturnType<typeof createRedisClient>,
  probe: () => Promise<boolean>,
  ms: number,
): Promise<void> {
  if (!client.isReady || probing.has(client)) return;
  probing.add(client);
  try {
    if (!(await probe())) return;
    // Redis answers a new connection: the old one is cut, unless Redis has only just resumed
    // (it answers there too, behind what was pending: asked again, within the same time).
    const old = client.sendCommand(["PING"]).then(String, () => null);
    if ((await valueWithin(old, ms)) !== "PONG" && client.isReady) {
      client.destroy();
      client.connect().catch(() => {}); // its failures reach the client's error listeners
    }
  } finally {
    probing.delete(client);
  }
}
