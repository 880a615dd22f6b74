// A standalone scheduler (`schedule.ts run`, or a service of yours): its own connection and
// the schedule loop over every queue's schedules (or some). Any number of them, beside workers
// that run the loop too, still make exactly one job per tick (lib/schedule/fire.ts).
import { defaults } from "../config.ts";
import { ConfigError } from "../errors.ts";
import { guardedLogger, type Logger, silentLogger } from "../log.ts";
import { checkLogger, kind } from "../option-keys.ts";
import { checkEntryKeys, resolveOptions } from "../options.ts";
import { connect } from "../redis/connect.ts";
import { Link } from "../redis/link.ts";
import { queueNames } from "../worker/order.ts";
import type { PassResult } from "./fire.ts";
import { ScheduleLoop } from "./loop.ts";

export interface SchedulerConfig {
  redisUrl?: string;
  prefix?: string;
  /** Only these queues' schedules (default: every queue's). */
  queues?: readonly string[];
  logger?: Logger;
  /** Told after each pass. */
  onPass?: (r: PassResult) => void;
}

/** Also `await using`: stopped as the block ends. */
export interface Scheduler extends AsyncDisposable {
  /** Ends the loop after its current pass and closes the connection. */
  stop(): Promise<void>;
}

/** startScheduler's keys (each in ENTRY_KEYS: tests/options.entry.test.ts). */
export const SCHEDULER_KEYS: readonly (keyof SchedulerConfig)[] = [
  "redisUrl",
  "prefix",
  "queues",
  "logger",
  "onPass",
];

export async function startScheduler(config: SchedulerConfig = {}): Promise<Scheduler> {
  checkEntryKeys(config);
  const url = config.redisUrl ?? process.env.REDIS_URL ?? defaults.redisUrl;
  // Checked as a Queue's and a Worker's are: ticks go only where a worker can read them.
  const { prefix } = resolveOptions({ redisUrl: url, prefix: config.prefix });
  const queues = config.queues === undefined ? [] : queueNames(config.queues);
  checkCallbacks(config);
  // Persistent and queueing while Redis is away: the loop's next pass simply waits for it. A
  // pass with no answer (a cut network: nothing ever errors) replaces the connection, as a
  // worker's watchdog does; kept, it would fire nothing again.
  const options = {
    name: "courier-scheduler",
    persistent: true,
    timeoutMs: defaults.connectTimeoutMs,
    reconnectMaxMs: defaults.reconnectMaxMs,
  };
  const link = new Link(await connect(url, options), url, options);
  const loop = new ScheduleLoop({
    client: () => link.client,
    stalled: () => link.replace(),
    prefix,
    queues,
    log: guardedLogger(config.logger ?? silentLogger),
    onPass: config.onPass,
  });
  loop.start();
  const stop = async () => {
    await loop.stop();
    await link.close();
  };
  return { stop, [Symbol.asyncDispose]: stop };
}

/**
 * A logger or onPass the loop cannot call: one ConfigError line, as Worker.start's. Taken, the
 * logger's calls failed quietly (it is guarded: every line lost), and onPass threw after each
 * pass, which then counted as failed, its pacing skipped.
 */
function checkCallbacks({ logger, onPass }: SchedulerConfig): void {
  checkLogger(logger);
  if (onPass !== undefined && typeof onPass !== "function") {
    throw new ConfigError(`onPass must be a function, got ${kind(onPass)}`);
  }
}
