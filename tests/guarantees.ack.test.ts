// An entry is acknowledged only with its job's outcome recorded, or with the job ended or
// gone: a late failure of a run another worker took over leaves that worker's lease alone, and
// a queue-wide key of the wrong type acknowledges nothing (the batch waits, and is written once
// the key is repaired). Each case here lost its job before (nothing pending, never run again).
import { describe, expect, test } from "bun:test";
import type { WorkerOptions } from "../lib/config.ts";
import { claimLapsed } from "../lib/engine/claim.ts";
import { GROUP, type QueueKeys } from "../lib/engine/keys.ts";
import { resolveOptions } from "../lib/options.ts";
import type { Queue } from "../lib/queue/queue.ts";
import type { Redis } from "../lib/redis/connect.ts";
import { defineTask } from "../lib/types.ts";
import { ensureGroup, type Startable, sortClaimed, sortFresh } from "../lib/worker/entries.ts";
import { type Outcome, Outcomes } from "../lib/worker/outcomes.ts";
import { echo } from "./fixtures/corrupt.ts";
import { take } from "./fixtures/engine.ts";
import {
  logRecorder,
  oneShardFile,
  openQueue,
  pendingCount,
  type RawRedis,
  rawRedis,
  startWorker,
  testPrefix,
  until,
} from "./helpers.ts";

// Reads the queue's raw keys in the one-shard layout (queueKeys).
oneShardFile();

/** A consumer driven by hand: the worker's own functions, no worker around them. */
interface Consumer {
  keys: QueueKeys;
  o: WorkerOptions;
}

function consumer(q: Queue, name: string): Consumer {
  return { keys: q.keys, o: resolveOptions({ prefix: "unused", name }) };
}

const TASKS = new Set(["echo"]);

/** The raw connection as the worker's functions take it (it is one: tests/helpers.ts). */
const asRedis = (r: RawRedis) => r as unknown as Redis;

/** Reads up to `n` new entries as consumer `c`, as a lane does: the jobs it would run. */
async function takeAs(r: RawRedis, c: Consumer, n: number): Promise<Startable[]> {
  return sortFresh(await take(r, c.keys, c.o.name, n), TASKS).run;
}

/** An outcome writer on `r` for consumer `c`; collects replies and errors. */
function outcomesFor(r: RawRedis, c: Consumer) {
  const replies: number[] = [];
  const errors: string[] = [];
  const o = { ...c.o, reconnectMaxMs: 20 };
  const client = asRedis(r);
  const s = new Outcomes(
    () => [client],
    c.keys,
    o,
    (_, reply) => replies.push(reply),
    (err) => errors.push(String((err as Error).message)),
  );
  return { s, replies, errors };
}

const finished = (job: Startable, result: string): Outcome => {
  const { entryId, jobId } = job;
  return { kind: "finish", entryId, jobId, job, runMs: 1, result };
};
const failed = (job: Startable, error: string, retryInMs: number | null): Outcome => {
  const { entryId, jobId } = job;
  return { kind: "fail", entryId, jobId, job, runMs: 1, error, retryInMs };
};

/** Claims lapsed entries as consumer `name` with no idle time needed. */
function claimAs(client: Redis, q: Queue, name: string) {
  const o = { consumer: name, minIdleMs: 0, count: 10, failureTtlS: 60 };
  return claimLapsed(client, q.keys, { ...o, deadMaxLen: 100, eventsMaxLen: 100 });
}

/** Job `id` taken by W1 (its run 1). */
async function taken(q: Queue, r: RawRedis) {
  const id = await q.enqueue("echo", "x");
  const client = asRedis(r);
  await ensureGroup(client, q.keys);
  const w1 = consumer(q, "w1");
  const [run1] = await takeAs(r, w1, 1);
  return { id, client, w1, run1: run1!, entryId: run1!.entryId };
}

/** Settles one outcome as consumer `c`; the replies of the script. */
async function settleOne(r: RawRedis, c: Consumer, outcome: Outcome): Promise<number[]> {
  const { s, replies } = outcomesFor(r, c);
  s.add(outcome);
  await s.drained();
  s.close();
  return replies;
}

/** Who holds each pending entry: entry id → consumer. */
async function holders(r: RawRedis, keys: QueueKeys): Promise<Record<string, string>> {
  const rows = (await r.sendCommand(["XPENDING", keys.stream, GROUP, "-", "+", "10"])) as [
    string,
    string,
  ][];
  return Object.fromEntries(rows.map(([entry, who]) => [entry, who]));
}

describe("a late outcome of a run another worker took over", () => {
  test("a failure leaves the new holder's lease pending; the job is not lost if it dies too", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix });
    await using r = await rawRedis();
    // W1 starts run 1 and stalls past claimIdleMs (here: W2 claims with no idle time needed).
    const { id, client, w1, run1, entryId } = await taken(q, r);
    expect(run1.runNo).toBe(1);
    const claimed = (await claimAs(client, q, "w2")).claimed;
    const [run2] = sortClaimed(claimed, TASKS).run;
    expect(run2).toMatchObject({ entryId, runNo: 2, attempt: 2 }); // same entry id
    // W1's task throws at last: its failure is written.
    expect(await settleOne(r, w1, failed(run1, "late", 60_000))).toEqual([0]); // left alone
    expect(await holders(r, q.keys)).toEqual({ [entryId]: "w2" });
    expect(await q.getJob(id)).toMatchObject({ status: "started", attempts: 2 });
    // W2 dies as well: a worker claims the entry once it is idle and runs the job.
    const w = await startWorker({ prefix, tasks: [echo], claimIdleMs: 30, reclaimEveryMs: 5 });
    const { ended } = await q.waitForJobs([id], { timeoutMs: 5_000 });
    expect(ended.get(id)?.status).toBe("finished");
    await w.stop();
  });

  test("a failure recorded before another worker's claim: that claim takes nothing", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix });
    await using r = await rawRedis();
    const { id, client, w1, run1 } = await taken(q, r);
    // W1's failure lands first: its run is current, so it is recorded and acknowledged.
    expect(await settleOne(r, w1, failed(run1, "boom", 60_000))).toEqual([1]);
    // W2's claim finds the entry no longer pending: nothing to run (a run would be on an
    // entry no one could claim again if W2 died).
    expect((await claimAs(client, q, "w2")).claimed).toEqual([]);
    expect(await q.getJob(id)).toMatchObject({ status: "retrying", attempts: 1 });
    expect(Number(await r.sendCommand(["ZCARD", q.keys.delayed]))).toBe(1);
  });

  test("a finish that comes first still wins and acknowledges: the job is done", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix });
    await using r = await rawRedis();
    const { id, client, w1, run1 } = await taken(q, r);
    await claimAs(client, q, "w2");
    expect(await settleOne(r, w1, finished(run1, '"w1"'))).toEqual([1]);
    expect(await q.getJob(id)).toMatchObject({ status: "finished", result: "w1" });
    expect(await pendingCount(r, q.keys)).toBe(0);
  });
});

/** Queue-wide keys the settle scripts write, the outcome that writes each, and its type. */
const KEYS: [keyof QueueKeys, "finish" | "retry" | "dead", string][] = [
  ["delayed", "retry", "zset"],
  ["events", "retry", "stream"],
  ["stats", "retry", "hash"],
  ["minutes", "retry", "hash"],
  ["dead", "dead", "stream"],
  ["events", "finish", "stream"],
  ["stats", "finish", "hash"],
  ["minutes", "finish", "hash"],
  ["durations", "finish", "hash"],
];

describe("a queue-wide key of the wrong type", () => {
  for (const [name, kind, type] of KEYS) {
    test(`${name} (a ${kind}): nothing acknowledged; written once the key is repaired`, async () => {
      const prefix = testPrefix();
      await using q = await openQueue({ prefix });
      await using r = await rawRedis();
      const ids = [await q.enqueue("echo", 1), await q.enqueue("echo", 2)];
      await ensureGroup(asRedis(r), q.keys);
      const c = consumer(q, "w1");
      const started = await takeAs(r, c, 2);
      expect(started.length).toBe(2);
      const key = q.keys[name] as string;
      await r.sendCommand(["DEL", key]);
      await r.sendCommand(["SET", key, "garbage"]);
      const { s, replies, errors } = outcomesFor(r, c);
      for (const j of started) {
        if (kind === "finish") s.add(finished(j, "1"));
        else s.add(failed(j, "boom", kind === "retry" ? 60_000 : null));
      }
      await until(() => errors.length >= 2 || replies.length > 0, "the write refused twice");
      expect(replies).toEqual([]);
      expect(await pendingCount(r, q.keys)).toBe(2);
      expect(errors[0]).toBe(`ERR courier: key ${key} holds a string, not a ${type}`);
      for (const id of ids) expect((await q.getJob(id))?.status).toBe("started");
      await r.sendCommand(["DEL", key]); // repaired
      await s.drained();
      s.close();
      expect(replies).toEqual(kind === "finish" ? [1, 1] : kind === "retry" ? [1, 1] : [2, 2]);
      expect(await pendingCount(r, q.keys)).toBe(0);
      const want = ({ finish: "finished", retry: "retrying", dead: "failed" } as const)[kind];
      for (const id of ids) expect((await q.getJob(id))?.status).toBe(want);
    });
  }

  test("delayed, for a failing job: the worker acknowledges nothing; the retry comes once it is repaired", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix });
    await using r = await rawRedis();
    const ids = [await q.enqueue("flaky", 1), await q.enqueue("flaky", 2)];
    let broken = true;
    const flaky = defineTask({
      name: "flaky",
      run: async () => {
        if (!broken) return "ok";
        // Broken while the job runs: its start went through, its failure cannot be recorded.
        await r.sendCommand(["SET", q.keys.delayed, "garbage"]);
        throw new Error("transient");
      },
    });
    const log = logRecorder();
    const w = await startWorker({ prefix, tasks: [flaky], reconnectMaxMs: 50, logger: log });
    await refusedOnly(log);
    expect(await pendingCount(r, q.keys)).toBe(2);
    for (const id of ids) expect((await q.getJob(id))?.status).toBe("started");
    broken = false;
    await r.sendCommand(["DEL", q.keys.delayed]); // repaired
    const { ended } = await q.waitForJobs(ids, { timeoutMs: 5_000 });
    expect([...ended.values()].map((j) => j?.status)).toEqual(["finished", "finished"]);
    await w.stop();
  });

  test("dead, for a job whose attempts are used up: the worker claims (and acknowledges) nothing and stops; once repaired, the next one dead-letters it", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix, maxAttempts: 2 });
    await using r = await rawRedis();
    await ensureGroup(asRedis(r), q.keys);
    // Its last worker died during attempt 2 of 2 (a 1, read once): the claim dead-letters it.
    const fields = ["t", "echo", "p", "1", "a", "1", "m", "2"];
    const id = String(await r.sendCommand(["XADD", q.keys.stream, "*", ...fields]));
    await takeAs(r, consumer(q, "ghost"), 1);
    await r.sendCommand(["SET", q.keys.dead, "garbage"]);
    const log = logRecorder();
    const o = { reconnectMaxMs: 50, claimIdleMs: 50, logger: log };
    const w = await startWorker({ prefix, tasks: [echo], ...o });
    await w.stopped; // a read refused for good: no retry repairs the key (Worker.failure)
    expect(w.failure?.message).toContain(`key ${q.keys.dead} holds a string`);
    await refusedOnly(log);
    expect(Number(await r.sendCommand(["XLEN", q.keys.stream]))).toBe(1);
    expect(await pendingCount(r, q.keys)).toBe(1);
    await r.sendCommand(["DEL", q.keys.dead]); // repaired
    const next = await startWorker({ prefix, tasks: [echo], ...o });
    const { ended } = await q.waitForJobs([id], { timeoutMs: 5_000 });
    expect(ended.get(id)?.status).toBe("failed");
    await next.stop();
  });
});

/** Waits for the worker's first complaint; every one so far must be the queue-wide refusal. */
async function refusedOnly(log: ReturnType<typeof logRecorder>): Promise<void> {
  const said = () => log.records.filter((l) => l.fields.error !== undefined);
  await until(() => said().length > 0, "a refusal logged");
  for (const l of said()) expect(`${l.event}: ${l.fields.error}`).toMatch(/: ERR courier: key /);
}
