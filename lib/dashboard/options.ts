// The dashboard's defaults, apart from the server so `bun run stack` can read them cheaply.
import { ConfigError } from "../errors.ts";

/** The dashboard's own options; the rest are the Admin's it reads through (and in ENTRY_KEYS). */
export const DASHBOARD_KEYS = ["host", "port", "token", "tokenReads", "refreshMs", "maxLive"];

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
   * socket and up to `liveQueuedMax` snapshots of memory: a hundred open pages is a lot.
   */
  maxLive: 100,
  /**
   * Snapshots a live connection may have waiting unsent (its reader is not reading) before it
   * is dropped: memory per connection stays bounded, and a page that was only slow reconnects.
   */
  liveQueuedMax: 8,
  /** Largest action body (JSON, `{ "url": … }` at most): anything bigger is refused with 413. */
  bodyMaxBytes: 64 * 1024,
} as const;
