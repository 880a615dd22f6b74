// Courier through its public API only (lib/index.ts): Queue.connect, enqueue, enqueueMany,
// waitForJobs (the library's own wait, which `result --wait` uses) and Worker.start.

import {
  createWordCountTask,
  defineTask,
  type Logger,
  Queue,
  queueKeys,
  type Task,
  Worker,
} from "../../lib/index.ts";
import { nowMs } from "../_proc.ts";
import type { ContenderImpl, StartWorker, TaskKind } from "./types.ts";
import { bunWorkerCommand } from "./types.ts";

export const PREFIX = "bench";

const noop = defineTask({ name: "noop", run: async () => null });
/**
 * The no-op task that says when it started (a limited queue's start rate is timed by it): when
 * its worker started it (`job.startedAt`: a rate limit's check of the slot, the moment the limit
 * bounds, not a reading here, later by however long the process was descheduled in between);
 * its own reading where the lib/ measured (`--commit`) has no startedAt.
 */
const stampedNoop = defineTask({
  name: "noop",
  run: async (_, _ctx, job) => {
    process.stdout.write(`start ${job.startedAt ?? nowMs()}\n`);
    return null;
  },
});

function task(kind: TaskKind, stamp = false): Task<unknown, unknown> {
  if (kind === "noop") return (stamp ? stampedNoop : noop) as Task;
  // allowPrivate: the pages come from the bench's own server on 127.0.0.1.
  return createWordCountTask({ allowPrivate: true }) as Task;
}

export const courier: ContenderImpl = {
  name: "courier",
  finishedCommand: (queue) => ["HGET", queueKeys(PREFIX, queue).stats, "finished"],
  async producer(url, queue, kind) {
    const q = await Queue.connect({ redisUrl: url, queue, prefix: PREFIX });
    const t = task(kind);
    return {
      enqueueOne: (payload) => q.enqueue(t, payload),
      async enqueueBulk(payloads) {
        await q.enqueueMany(payloads.map((payload) => ({ task: t, payload })));
      },
      async waitFor(id) {
        const { ended } = await q.waitForJobs([id], { timeoutMs: 30_000 });
        if (!ended.get(id)) throw new Error(`courier: job ${id} did not end within 30 s`);
      },
      close: () => q.close(),
    };
  },
  workerCommand: (spec) => bunWorkerCommand("courier", spec),
};

export const startWorker: StartWorker = async (spec, onDone) => {
  // The worker's log is its only per-job hook: "finished" is logged when the finish script's
  // reply arrives, i.e. once the result is recorded.
  const logger: Logger | undefined = onDone && {
    log(_level, event, fields) {
      if (event.startsWith("finished")) onDone(String(fields?.job));
    },
  };
  const worker = await Worker.start({
    redisUrl: spec.url,
    queue: spec.queue,
    prefix: PREFIX,
    tasks: [task(spec.task, spec.stamp)],
    concurrency: spec.concurrency,
    // COURIER_BENCH_PREFETCH=0: the worker without prefetch (one call per job at concurrency 1).
    ...(process.env.COURIER_BENCH_PREFETCH === undefined
      ? {}
      : { prefetch: Number(process.env.COURIER_BENCH_PREFETCH) }),
    logger,
  });
  return { stop: () => worker.stop() };
};
