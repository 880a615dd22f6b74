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
import type { ContenderImpl, StartWorker, TaskKind } from "./types.ts";
import { bunWorkerCommand } from "./types.ts";

export const PREFIX = "bench";

const noop = defineTask({ name: "noop", run: async () => null });

function task(kind: TaskKind): Task<unknown, unknown> {
  // allowPrivate: the pages come from the bench's own server on 127.0.0.1.
  return (kind === "noop" ? noop : createWordCountTask({ allowPrivate: true })) as Task;
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
    tasks: [task(spec.task)],
    concurrency: spec.concurrency,
    logger,
  });
  return { stop: () => worker.stop() };
};
