// The dashboard's defaults, apart from the server so `bun run stack` can read them cheaply.

import type { DefaultKey } from "../config.ts";
import { ConfigError } from "../errors.ts";
import { keysOf, kindOf } from "../option-keys.ts";
import type { DashboardOptions } from "./server.ts";

/** The dashboard's own options; the rest are the Admin's it reads through (and in ENTRY_KEYS). */
export const DASHBOARD_KEYS = keysOf<Omit<DashboardOptions, DefaultKey>>()([
  "host",
  "port",
  "token",
  "tokenReads",
  "refreshMs",
  "maxLive",
]);

/** The shortest token the dashboard takes: a short one is guessed. */
export const TOKEN_MIN_CHARS = 16;

/**
 * Refuses a token too short to keep the actions (requeue, delete, trigger) the owner's, or one
 * no request can match; its length is said, never the token itself. Used by the dashboard and
 * by the stack that starts it.
 */
export function checkDashboardToken(token: string | undefined): void {
  if (token === undefined) return;
  // A request's header is read without the spaces around it: such a token never matches.
  if (token !== token.trim()) {
    throw new ConfigError(
      "the dashboard token (--token or COURIER_DASHBOARD_TOKEN) starts or ends with a space, tab or newline: no request could send it; remove them",
    );
  }
  // A header carries bytes: a browser refuses to send one beyond Latin-1, curl sends UTF-8 that
  // the server reads as Latin-1, and a control character ends or breaks the header. Such a
  // token started the dashboard, and no action was ever allowed (403 wrong token).
  if (/[^\x20-\x7e]/.test(token)) {
    throw new ConfigError(
      "the dashboard token (--token or COURIER_DASHBOARD_TOKEN) holds a character that is not printable ASCII (a letter with an accent, a control character): no request could send it as typed; use ASCII letters, digits and punctuation (`openssl rand -hex 16`)",
    );
  }
  if (token.length >= TOKEN_MIN_CHARS) return;
  throw new ConfigError(
    `the dashboard token (--token or COURIER_DASHBOARD_TOKEN) must be at least ${TOKEN_MIN_CHARS} characters, got ${token.length}: make one with \`openssl rand -hex 16\``,
  );
}

export const dashboardDefaults = {
  /** Loopback only: whoever can reach the port can read every job's payload. */
  host: "127.0.0.1",
  /** rq-dashboard's port. */
  port: 9181,
  /** How often live pages get fresh numbers; never below a second (a full read each time). */
  refreshMs: 1_000,
  /**
   * Live connections (`/api/events`) served at once; the next one gets 503. Each costs a
   * socket and a slice of a snapshot (`liveSliceBytes`): a hundred open pages is a lot.
   */
  maxLive: 100,
  /**
   * Snapshots a live connection may fall behind by (its reader takes nothing meanwhile, or is
   * still on a snapshot that old) before it is dropped; a reader that is behind gets the newest
   * snapshot next, never a queue of old ones. A page that was only slow reconnects.
   */
  liveBehindMax: 8,
  /**
   * A snapshot is handed to a connection's socket in pieces of at most this many bytes, the
   * next once the socket took the last: what the server copies for a socket nobody reads is
   * one piece, not a whole snapshot (1,000 workers make a snapshot of megabytes).
   */
  liveSliceBytes: 64 * 1024,
  /**
   * A worker's host and each of its task names, as the dashboard shows them: longer ones are
   * cut, ending in `…` (a record can hold any string; 1,000 hosts of 20 KB made a 20 MB
   * snapshot a second). 255: the longest host name DNS allows, with room to spare.
   */
  shownFieldMaxChars: 256,
  /** The task names shown per worker; the rest are left out (a record can list any number). */
  shownTasksMax: 50,
  /** Largest action body (JSON, `{ "url": … }` at most): anything bigger is refused with 413. */
  bodyMaxBytes: 64 * 1024,
  /**
   * How long past the longest wait for Redis (commandTimeoutMs, or a cluster master's
   * NODE_WAIT_MS) a connection may stay silent before the server closes it: a request is silent
   * while its read waits, and closed first it would get no answer, not its 503.
   */
  idleMarginS: 5,
} as const;

/**
 * The dashboard's own options of the right kind, checked before anything connects (as every
 * entry point's): Bun.serve met them after the Admin had connected, and a port of -1 was a raw
 * RangeError, a host of 5 `host.replace is not a function`.
 */
export function checkDashboardOptions(o: {
  host?: unknown;
  port?: unknown;
  token?: unknown;
  tokenReads?: unknown;
}): void {
  const refuse = (what: string, v: unknown) => new ConfigError(`${what}, got ${kindOf(v)}`);
  if (o.host !== undefined && (typeof o.host !== "string" || o.host === "")) {
    throw refuse("host must be an address or a host name", o.host);
  }
  const port = o.port;
  const portOk = typeof port === "number" && Number.isInteger(port) && port >= 0 && port <= 65_535;
  if (port !== undefined && !portOk) {
    throw refuse("port must be a whole number from 0 to 65535", port);
  }
  if (o.token !== undefined && typeof o.token !== "string") {
    throw refuse("token must be a string", o.token);
  }
  if (o.tokenReads !== undefined && typeof o.tokenReads !== "boolean") {
    throw refuse("tokenReads must be true or false", o.tokenReads);
  }
}
