// Transition scripts sent again after a lost reply (a dropped connection, a replaced stalled
// one) must not count twice; release at shutdown gives back only the run that did not happen.
// Engine v2: nothing is written at start; attempts come from delivery counts (docs/internals.md,
// "3. Start"), so "a start sent again" is a read of the worker's own pending entries (claim `own`
// mode), and a worker restarted under the same name claims its predecessor's entry.
import { describe, expect, test } from "bun:test";
import { claimLapsed, readOwnPending } from "../lib/engine/claim.ts";
import { failJobs } from "../lib/engine/fail.ts";
import { GROUP } from "../lib/engine/keys.ts";
import { releaseAll } from "../lib/engine/release.ts";
import { handOverPredecessor } from "../lib/worker/presence.ts";
import { finishItems } from "./fixtures/finish.ts";
import { openQueue, pinShards, rawRedis, testPrefix } from "./helpers.ts";

// These tests read and plant one shard's own keys (q.keys): their queues have one shard, on a
// cluster one slot.
pinShards(1);

const LIMITS = { failureTtlS: 60, deadMaxLen: 100, eventsMaxLen: 100 };

async function setup(prefix: string) {
  const q = await openQueue({ prefix });
  const id = await q.enqueue("t", null);
  await q.client.sendCommand(["XGROUP", "CREATE", q.keys.stream, GROUP, "0"]);
  const reply = (await q.client.sendCommand([
    ...["XREADGROUP", "GROUP", GROUP, "w1", "COUNT", "1", "STREAMS", q.keys.stream, ">"],
  ])) as [string, [string, string[]][]][];
  const entry = reply[0]![1][0]![0];
  const k = q.keys;
  /** Reads w1's own pending entries again (after a lost read): attempt and run of each. */
  const reread = async () =>
    (await readOwnPending(q.client, k, { consumer: "w1", count: 10 })).claimed.map((c) =>
      c.kind === "run" ? { attempt: c.attempt, runNo: c.runNo } : c.kind,
    );
  /** Takes the entry over as `consumer` (its lease lapsed: no idle time asked here). */
  const claim = async (consumer: string) =>
    (await claimLapsed(q.client, k, { consumer, minIdleMs: 0, count: 10, ...LIMITS })).claimed.map(
      (c) => (c.kind === "run" ? { attempt: c.attempt, runNo: c.runNo } : c.kind),
    );
  const fail = (runNo: number, consumer = "w1") =>
    failJobs(q.client, k, { consumer, ...LIMITS }, [
      { entry, id: null, hasRecord: false, runNo, runMs: 1, error: "boom", retryInMs: 60_000 },
    ]);
  const finish = (...entryIds: string[]) =>
    finishItems(
      q.client,
      k,
      { consumer: "w1", resultTtlS: 60, eventsMaxLen: 100 },
      entryIds.map((entryId) => ({
        entryId,
        jobId: entryId,
        hasRecord: false,
        runMs: 1,
        attempt: 1,
        maxAttempts: 3,
        enqueuedAt: null,
        worker: "w1",
        task: "t",
        payload: "null",
        result: "null",
      })),
    );
  /** The entry ids the stream still holds, oldest first. */
  const streamIds = async () => {
    const entries = (await q.client.sendCommand(["XRANGE", k.stream, "-", "+"])) as [string][];
    return entries.map(([e]) => e);
  };
  /** A new w1 process starts: its dead predecessor's entries become claimable, then it claims. */
  const restart = async () => {
    await handOverPredecessor(q.client, k, "w1");
    return claim("w1");
  };
  return { q, id, entry, reread, claim, restart, fail, finish, streamIds };
}

describe("sent again after a lost reply", () => {
  test("a read: own pending entries come back as the same run, no attempt counted twice", async () => {
    const { q, id, reread } = await setup(testPrefix());
    expect(await reread()).toEqual([{ attempt: 1, runNo: 1 }]);
    expect(await reread()).toEqual([{ attempt: 1, runNo: 1 }]);
    expect(await q.getJob(id)).toMatchObject({ status: "started", attempts: 1 });
    await q.close();
  });

  test("a worker restarted under the same name takes its entry as a new attempt, not the same run", async () => {
    // The process that read it died (SIGKILL, OOM) with the entry pending; a new process
    // under the same name (the stack's stack-worker-<i>) claims the lapsed entry back.
    const { q, id, claim, restart } = await setup(testPrefix());
    expect(await claim("w1")).toEqual([]); // never its own entries: only a restart's hand-over
    expect(await restart()).toEqual([{ attempt: 2, runNo: 2 }]);
    expect(await restart()).toEqual([{ attempt: 3, runNo: 3 }]);
    // Its attempts used up: the next restart dead-letters it as abandoned.
    expect(await restart()).toEqual(["buried"]);
    const job = await q.getJob(id);
    expect(job).toMatchObject({ status: "failed", attempts: 3 });
    expect(job?.error).toContain("abandoned: its worker stopped during attempt 3 of 3");
    await q.close();
  });

  test("a failure: the job is retried once, not twice", async () => {
    const { q, id, fail } = await setup(testPrefix());
    expect(await fail(1)).toEqual(["retrying"]);
    expect(await fail(1)).toEqual(["left"]); // acknowledged already: left alone
    expect(await q.client.sendCommand<string>(["HGET", q.keys.stats, "retried"])).toBe("1");
    expect(await q.getJob(id)).toMatchObject({ status: "retrying", attempts: 1 });
    await q.close();
  });

  test("a failure of a run that is no longer the job's current one is ignored", async () => {
    const { q, id, claim, fail } = await setup(testPrefix());
    await claim("w2"); // another worker took over
    expect(await fail(1)).toEqual(["left"]);
    expect(await q.getJob(id)).toMatchObject({ status: "started" });
    await q.close();
  });
});

describe("release at shutdown", () => {
  test("gives back only the run the releasing worker did not finish: earlier runs count", async () => {
    const prefix = testPrefix();
    const { q, id, claim } = await setup(prefix);
    // w1 ran attempt 1 and stalled; w2 took it over (attempt 2) and stops before finishing.
    await claim("w2");
    await using r = await rawRedis();
    expect(await releaseAll(q.client, q.keys, "w2", 100)).toBe(1);
    expect(await q.getJob(id)).toMatchObject({ status: "queued", attempts: 1 });
    const consumers = (await r.sendCommand([
      "XINFO",
      "CONSUMERS",
      q.keys.stream,
      GROUP,
    ])) as string[][];
    expect(consumers.map((c) => c[1])).toEqual(["w1"]); // w2 left the group: nothing pending
    await q.close();
  });

  test("does not give back an attempt its crashed predecessor under the same name used", async () => {
    const { q, id, restart } = await setup(testPrefix());
    // The w1 process that read it died: attempt 1 used. A new w1 claims it, then stops.
    await restart();
    expect(await releaseAll(q.client, q.keys, "w1", 100)).toBe(1);
    expect(await q.getJob(id)).toMatchObject({ status: "queued", attempts: 1 });
    await q.close();
  });

  test("gives back the attempt the same process read and did not finish", async () => {
    const { q, id } = await setup(testPrefix());
    expect(await releaseAll(q.client, q.keys, "w1", 100)).toBe(1);
    expect(await q.getJob(id)).toMatchObject({ status: "queued", attempts: 0 });
    await q.close();
  });
});

// Batches of two: a batch of one deletes its own entry (XDEL), bigger ones trim by MINID.
describe("trimming after a finish", () => {
  test("with nothing pending, the stream is trimmed up to the newest entry settled", async () => {
    const { q, entry, finish, streamIds } = await setup(testPrefix());
    await q.enqueue("t", null);
    const read = ["XREADGROUP", "GROUP", GROUP, "w1", "COUNT", "1", "STREAMS", q.keys.stream, ">"];
    const reply = (await q.client.sendCommand(read)) as [string, [string][]][];
    const later = await q.enqueue("t", null); // not delivered yet: must stay
    expect((await finish(entry, reply[0]![1][0]![0])).codes).toEqual([1, 1]);
    expect(await streamIds()).toEqual([later]);
    await q.close();
  });

  test("an entry that was not pending (settled twice, or lost by Redis) never trims undelivered ones", async () => {
    const { q, entry, finish, streamIds } = await setup(testPrefix());
    const later = await q.enqueue("t", null); // not delivered yet: must stay
    await q.client.sendCommand(["XACK", q.keys.stream, GROUP, entry]); // nothing pending now
    // A finish naming entries newer than everything delivered, which the group never had.
    const [ms] = entry.split("-");
    const never = [`${Number(ms) + 60_000}-0`, `${Number(ms) + 60_000}-1`];
    expect((await finish(...never)).codes).toEqual([1, 1]);
    expect(await streamIds()).toEqual([later]);
    await q.close();
  });
});
