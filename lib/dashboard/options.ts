// The dashboard's defaults, apart from the server so `bun run stack` can read them cheaply.

/** The shortest token the dashboard takes: a short one is guessed. */
export const TOKEN_MIN_CHARS = 16;

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
