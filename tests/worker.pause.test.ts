// A pause that begins while a worker's blocking read is in flight (lib/worker/pause.ts,
// docs/internals.md "Pause, empty and listing jobs"): the entry that read is sent later is held,
// pending on the worker and unstarted, until the resume starts it.
import { expect, test } from "bun:test";
import { Admin } from "../lib/admin/admin.ts";
import type { Task } from "../lib/types.ts";
import {
  clientList,
  logRecorder,
  oneShardFile,
  openQueue,
  pendingCount,
  rawRedis,
  redisUrl,
  startWorker,
  testPrefix,
  until,
} from "./helpers.ts";

// One shard: one blocking read to watch for.
oneShardFile();

test("an entry a blocking read brings after the pause is held, and starts on resume", async () => {
  const prefix = testPrefix();
  const starts: string[] = [];
  const task: Task = {
    name: "t",
    run: async (p) => {
      starts.push(String((p as { n: number }).n));
      return p;
    },
  };
  await using q = await openQueue({ prefix });
  await q.enqueue(task, { n: 0 }); // the queue exists, with one job run before the pause
  const log = logRecorder();
  const name = `w-held-${prefix}`;
  const w = await startWorker({
    prefix,
    tasks: [task],
    name,
    blockMs: 10_000,
    pauseCheckMs: 20,
    logger: log,
  });
  const admin = await Admin.connect({ redisUrl: redisUrl(), prefix });
  await using r = await rawRedis();
  try {
    await until(() => starts.length === 1, "the first job to run");
    // The worker waits in a blocking read (10 s) for its next entry.
    const blocked = new RegExp(`name=courier-reader-${name} .*flags=b.*cmd=xreadgroup`);
    await until(async () => blocked.test(await clientList(r)), "the blocking read");
    expect(await admin.pause()).toBe(true);
    await until(() => log.events().includes("queue paused: taking no new jobs"), "the pause seen");

    const id = await q.enqueue(task, { n: 1 });
    await until(() => log.events().includes("job held: the queue is paused"), "the entry held");
    expect(starts).toEqual(["0"]);
    expect(await pendingCount(r, q.keys)).toBe(1); // delivered to this worker, leased, not run

    expect(await admin.resume()).toBe(true);
    const done = await q.waitForJobs([id], { timeoutMs: 5_000 });
    expect(done.ended.get(id)?.status).toBe("finished");
    expect(starts).toEqual(["0", "1"]);
  } finally {
    await admin.close();
    await w.stop();
  }
});
