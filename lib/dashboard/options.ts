// The dashboard's defaults, apart from the server so `bun run stack` can read them cheaply.

export const dashboardDefaults = {
  /** Loopback only: whoever can reach the port can read every job's payload. */
  host: "127.0.0.1",
  /** rq-dashboard's port. */
  port: 9181,
  /** How often live pages get fresh numbers; never below a second (a full read each time). */
  refreshMs: 1_000,
} as const;
