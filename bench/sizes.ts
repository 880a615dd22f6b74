// How much work each workload does. `full` is the sizes; `small` (the default) keeps
// `bun run bench` within about ten minutes on a 2-core machine; `tiny` is the smoke test's.
export interface Size {
  /**
   * Enqueue: jobs enqueued one by one (each awaited), in bulk, and from a file by a whole process
   * (`trigger --file` vs a BullMQ addBulk script: 100,000 URLs, issue 11's size).
   */
  single: number;
  bulk: number;
  trigger: number;
  /** No-op processing: jobs per run at concurrency 1, and at 16, 128 and with 2 processes. */
  noopC1: number;
  noop: number;
  /** Cluster (issue 12): no-op jobs per run, on the 3+3 cluster and on one server. */
  cluster: number;
  /** Latency: single jobs, one at a time. */
  latency: number;
  /** I/O-bound word count: pages for Courier and BullMQ, and for RQ (one job at a time). */
  io: number;
  ioRq: number;
  /** Cost: jobs queued for the memory figures; jobs counted under MONITOR. */
  queued: number;
  monitored: number;
  /** Cost: the worker's RSS is read after rssFirst and after rssLast no-op jobs. */
  rssFirst: number;
  rssLast: number;
}

export const SIZES: Record<"tiny" | "small" | "full", Size> = {
  tiny: {
    single: 100,
    bulk: 1_000,
    trigger: 1_000,
    noopC1: 200,
    noop: 1_000,
    cluster: 1_000,
    latency: 50,
    io: 40,
    ioRq: 4,
    queued: 10_000,
    monitored: 200,
    rssFirst: 500,
    rssLast: 2_000,
  },
  small: {
    single: 5_000,
    bulk: 50_000,
    trigger: 100_000,
    noopC1: 10_000,
    noop: 50_000,
    cluster: 50_000,
    latency: 2_000,
    io: 2_000,
    ioRq: 100,
    queued: 20_000,
    monitored: 2_000,
    rssFirst: 20_000,
    rssLast: 200_000,
  },
  full: {
    single: 20_000,
    bulk: 200_000,
    trigger: 100_000,
    noopC1: 200_000,
    noop: 200_000,
    cluster: 200_000,
    latency: 2_000,
    io: 2_000,
    ioRq: 2_000,
    queued: 100_000,
    monitored: 10_000,
    rssFirst: 100_000,
    rssLast: 1_000_000,
  },
};
