// Dead letters through the admin API against real Redis: list (paged), show, requeue (atomic,
// fresh attempts, history kept, record recreated when expired), delete and purge.
import { describe, expect, test } from "bun:test";
import { Admin } from "../lib/admin/admin.ts";
import type { QueueKeys } from "../lib/engine/keys.ts";
import { PermanentError } from "../lib/errors.ts";
import { defineTask } from "../lib/types.ts";
import { entryJobId, killWaiting } from "./fixtures/engine.ts";
import {
  oneShardFile,
  openQueue,
  type RawRedis,
  rawRedis,
  redisTime,
  redisUrl,
  startWorker,
  testPrefix,
  until,
} from "./helpers.ts";

// Reads the queue's raw keys in the one-shard layout (queueKeys).
oneShardFile();

/** A task that fails for good while `state.broken`, and returns its payload otherwise. */
function switchable() {
  const state = { broken: true };
  const task = defineTask({
    name: "switchable",
    run: async (payload: unknown) => {
      if (state.broken) throw new PermanentError(`broken <script>alert(1)</script>`);
      return payload;
    },
  });
  return { state, task };
}

/**
 * `n` jobs that died, oldest first, and an Admin on their queue (closed by the test). With
 * `callerIds` the jobs have ids of the caller's (`job-<n>`), else ids Courier made.
 */
async function deadJobs(prefix: string, n: number, callerIds = false) {
  const q = await openQueue({ prefix });
  const { state, task } = switchable();
  const w = await startWorker({ prefix, tasks: [task] });
  const jobs = await q.enqueueMany(
    Array.from({ length: n }, (_, i) => ({
      task: "switchable",
      payload: { n: i },
      ...(callerIds ? { id: `job-${i}` } : {}),
    })),
  );
  const ids = jobs.map((j) => j.id);
  await q.waitForJobs(ids, { timeoutMs: 5_000 });
  const admin = await Admin.connect({ redisUrl: redisUrl(), prefix });
  const close = async () => {
    await w.stop();
    await admin.close();
    await q.close();
  };
  return { q, w, ids, state, admin, close };
}

/** As if the job's outcome (and record) had expired. */
async function expire(r: RawRedis, keys: QueueKeys, id: string) {
  await r.sendCommand(["DEL", keys.result(id), keys.record(id)]);
}

describe("dead letters", () => {
  test("list: newest first, in pages, with the total", async () => {
    const prefix = testPrefix();
    const { ids, admin, close } = await deadJobs(prefix, 5);
    try {
      const first = await admin.deadLetters({ limit: 2 });
      expect(first.total).toBe(5);
      expect(first.letters).toHaveLength(2);
      expect(first.next).not.toBeNull();
      const second = await admin.deadLetters({ limit: 2, cursor: first.next });
      const third = await admin.deadLetters({ limit: 2, cursor: second.next });
      expect(third.next).toBeNull();
      const seen = [...first.letters, ...second.letters, ...third.letters];
      expect(new Set(seen.map((l) => l.id))).toEqual(new Set(ids));
      const entryIds = seen.map((l) => l.entryId);
      expect(entryIds).toEqual([...entryIds].sort().reverse()); // newest first
      expect(seen[0]).toMatchObject({
        task: "switchable",
        error: "broken <script>alert(1)</script>",
        attempts: 1,
      });
      expect(seen[0]!.deadAt).toBeGreaterThan(Date.now() - 60_000);
    } finally {
      await close();
    }
  });

  test("show finds a letter by job id, also once the job's record has expired", async () => {
    const prefix = testPrefix();
    const { ids, admin, close } = await deadJobs(prefix, 3);
    await using r = await rawRedis();
    try {
      const letter = await admin.deadLetter(ids[1]!);
      expect(letter).toMatchObject({ id: ids[1], payload: { n: 1 } });
      await expire(r, admin.keys, ids[1]!);
      expect(await admin.deadLetter(ids[1]!)).toMatchObject({ id: ids[1], payload: { n: 1 } });
      expect(await admin.deadLetter("no-such-job")).toBeNull();
    } finally {
      await close();
    }
  });

  test("requeue: a fresh attempt count, no TTL, never both dead and queued; the history keeps the error", async () => {
    const prefix = testPrefix();
    // A caller id: its record (the marker) had the failure TTL, and loses it.
    const { ids, admin, close } = await deadJobs(prefix, 1, true);
    await using r = await rawRedis();
    const id = ids[0]!;
    try {
      expect(Number(await r.sendCommand(["TTL", admin.keys.result(id)]))).toBeGreaterThan(0);
      await close(); // no worker: look at the keys right after the requeue
      const reopened = await Admin.connect({ redisUrl: redisUrl(), prefix });
      // Two operators requeue at once: exactly one wins, and the job is queued once.
      const [a, b] = await Promise.all([reopened.requeue([id]), reopened.requeue([id])]);
      expect([a[0]!.verdict, b[0]!.verdict].sort()).toEqual(["missing", "requeued"]);
      expect(Number(await r.sendCommand(["XLEN", admin.keys.dead]))).toBe(0);
      const entries = await r.sendCommand(["XRANGE", admin.keys.stream, "-", "+"]);
      // One fresh entry (attempts used: 0) carrying the job's id; its failed outcome gone, its
      // record (the history) kept without a TTL.
      expect(entries.map(entryJobId)).toEqual([id]);
      const fields: string[] = entries[0][1];
      expect(fields[fields.indexOf("a") + 1]).toBe("0");
      expect(Number(await r.sendCommand(["EXISTS", admin.keys.result(id)]))).toBe(0);
      expect(Number(await r.sendCommand(["TTL", admin.keys.record(id)]))).toBe(-1);
      const job = await reopened.job(id);
      expect(job).toMatchObject({ status: "queued", attempts: 0, error: null, endedAt: null });
      expect(job!.history).toEqual([
        expect.objectContaining({
          attempt: 1,
          outcome: "failed",
          error: expect.stringContaining("broken"),
        }),
      ]);
      expect((await reopened.overview()).counts.totals.requeued).toBe(1);
      await reopened.close();

      // Fixed: the job runs again, on attempt 1.
      const { state, task } = switchable();
      state.broken = false;
      await using q = await openQueue({ prefix });
      const w = await startWorker({ prefix, tasks: [task] });
      const { ended } = await q.waitForJobs([id], { timeoutMs: 5_000 });
      await w.stop();
      expect(ended.get(id)).toMatchObject({ status: "finished", attempts: 1, result: { n: 0 } });
      expect(ended.get(id)!.history.map((h) => [h.attempt, h.outcome])).toEqual([
        [1, "failed"],
        [1, "finished"],
      ]);
    } finally {
      await close();
    }
  });

  test("requeue recreates an expired record from its letter; a reused id is left alone", async () => {
    const prefix = testPrefix();
    // Caller ids: an id Courier makes is never issued twice, a caller's may be reused.
    const { ids, admin, close } = await deadJobs(prefix, 2, true);
    await using r = await rawRedis();
    try {
      await close();
      const again = await Admin.connect({ redisUrl: redisUrl(), prefix });
      await expire(r, admin.keys, ids[0]!);
      expect(await again.requeue([ids[0]!])).toEqual([{ id: ids[0]!, verdict: "requeued" }]);
      const job = await again.job(ids[0]!);
      expect(job).toMatchObject({
        task: "switchable",
        payload: { n: 0 },
        status: "queued",
        attempts: 0,
        maxAttempts: 3,
      });
      expect(job!.history).toEqual([
        expect.objectContaining({
          attempt: 1,
          outcome: "failed",
          error: expect.stringContaining("broken"),
        }),
      ]);
      // The second job's record expired and its id was enqueued anew: its old letter is stale.
      await expire(r, admin.keys, ids[1]!);
      await using q = await openQueue({ prefix });
      await q.enqueue("switchable", null, { id: ids[1]! });
      expect(await again.requeue([ids[1]!, "unknown"])).toEqual([
        { id: ids[1]!, verdict: "active" },
        { id: "unknown", verdict: "missing" },
      ]);
      expect(Number(await r.sendCommand(["XLEN", admin.keys.dead]))).toBe(1);
      await again.close();
    } finally {
      await close();
    }
  });

  test("requeue leaves a letter alone when its caller id came back as a new job", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix });
    await using r = await rawRedis();
    await q.enqueue("switchable", 1, { id: "reused" });
    expect(await killWaiting(q.client, q.keys, () => "broken")).toBe(1);
    await expire(r, q.keys, "reused");
    await q.enqueue("switchable", 2, { id: "reused" }); // queued again, not dead
    const admin = await Admin.connect({ redisUrl: redisUrl(), prefix });
    try {
      expect(await admin.requeue(["reused"])).toEqual([{ id: "reused", verdict: "active" }]);
      expect(Number(await r.sendCommand(["XLEN", q.keys.stream]))).toBe(1);
      expect(Number(await r.sendCommand(["XLEN", q.keys.dead]))).toBe(1);
      expect(await q.getJob("reused")).toMatchObject({ status: "queued", payload: 2 });
    } finally {
      await admin.close();
    }
  });

  test("requeue --all requeues every letter there is, once", async () => {
    const prefix = testPrefix();
    const { ids, admin, close } = await deadJobs(prefix, 4);
    await using r = await rawRedis();
    try {
      await close();
      const again = await Admin.connect({ redisUrl: redisUrl(), prefix });
      expect(await again.requeueAll()).toBe(4);
      expect(await again.requeueAll()).toBe(0);
      expect(Number(await r.sendCommand(["XLEN", admin.keys.dead]))).toBe(0);
      expect(Number(await r.sendCommand(["XLEN", admin.keys.stream]))).toBe(4);
      const jobs = await Promise.all(ids.map((id) => again.job(id)));
      expect(jobs.map((j) => j?.status)).toEqual(["queued", "queued", "queued", "queued"]);
      await again.close();
    } finally {
      await close();
    }
  });

  test("delete removes the letter and the failed record; purge by age or all", async () => {
    const prefix = testPrefix();
    const { ids, admin, close } = await deadJobs(prefix, 3);
    await using r = await rawRedis();
    try {
      expect(await admin.deleteDead([ids[0]!, "unknown"])).toEqual([ids[0]!]);
      expect(await admin.job(ids[0]!)).toBeNull();
      expect((await admin.deadLetters()).total).toBe(2);
      // Ages are measured on Redis' clock (the letters' ids are its times), not this one's.
      const later = await Admin.connect({
        redisUrl: redisUrl(),
        prefix,
        now: () => Date.now() + 7_200_000,
      });
      expect(await later.purgeDead(3_600_000)).toBe(0); // none is an hour old
      await later.close();
      // Both are 2 ms old once Redis' clock has passed the newest letter by that much.
      const [[newest]] = await r.sendCommand([
        "XREVRANGE",
        admin.keys.dead,
        "+",
        "-",
        "COUNT",
        "1",
      ]);
      const newestMs = Number(String(newest).split("-")[0]);
      await until(async () => (await redisTime(r)) > newestMs + 2, "Redis' clock to move on");
      expect(await admin.purgeDead(2)).toBe(2);
      expect((await admin.deadLetters()).total).toBe(0);
      expect(await admin.purgeDead()).toBe(0);
    } finally {
      await close();
    }
  });
});
