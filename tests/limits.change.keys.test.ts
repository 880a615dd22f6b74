// A key concurrency raised wakes the waiters of every held key, however many (RR1): the wake
// pages limit:keys, and a first version of this release took each key off that list as its
// waiters were woken, so the list shrank under the page's offset and every key past the first
// 200 was skipped (its job waited for its fallback, the running slot's expiry: minutes).
import { expect, test } from "bun:test";
import { Admin } from "../lib/admin/admin.ts";
import { limitKeys } from "../lib/engine/keys.ts";
import { defineTask } from "../lib/types.ts";
import { openQueue, rawRedis, redisUrl, startWorker, testPrefix, until } from "./helpers.ts";

const KEYS = 250;

test("a key concurrency raised wakes the waiters of all 250 held keys", async () => {
  const prefix = testPrefix();
  let release = () => {};
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });
  const job = defineTask<{ long: boolean }, null>({
    name: "job",
    run: async (p) => {
      if (p.long) await held;
      return null;
    },
  });
  await using queue = await openQueue({ prefix, queue: "q" });
  await using r = await rawRedis();
  const admin = await Admin.connect({ redisUrl: redisUrl(), prefix, queue: "q" });
  await admin.setLimits({ rate: null, keyRate: null, keyConcurrency: 1 });
  const keys = Array.from({ length: KEYS }, (_, i) => `k${i}`);
  const spec = (limitKey: string, long: boolean) => ({ task: job, payload: { long }, limitKey });
  const longs = await queue.enqueueMany(keys.map((k) => spec(k, true)));
  const worker = await startWorker({
    ...{ prefix, queue: "q", tasks: [job], concurrency: 2 * KEYS + 10 },
    pauseCheckMs: 50,
  });
  try {
    const started = async () =>
      (await queue.getJobs(longs.map((j) => j.id))).every((j) => j?.status === "started");
    await until(started, "the long jobs' starts", 30_000);
    const shorts = await queue.enqueueMany(keys.map((k) => spec(k, false)));
    const lk = limitKeys(prefix, "q");
    const waiting = async () => {
      let n = 0;
      for (const k of keys) n += Number(await r.sendCommand(["ZCARD", lk.waiting(k)]));
      return n === KEYS;
    };
    await until(waiting, "every short job waiting for its key's slot", 30_000);
    await admin.setLimits({ keyConcurrency: 2 });
    const done = await queue.waitForJobs(
      shorts.map((j) => j.id),
      { timeoutMs: 10_000 },
    );
    expect(done.pending).toEqual([]);
  } finally {
    release();
    await worker.stop(2_000);
    await admin.close();
  }
}, 90_000);
