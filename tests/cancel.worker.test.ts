// Cancel of jobs that wait outside the stream (scheduled, retrying, parked: cancel.lua takes
// them out of their set) and of running jobs whose task throws once aborted: no retry, no dead
// letter, the entry acknowledged (fail.lua finds the canceled outcome). Library workers here,
// for back-offs and tasks a test controls; the cancel goes through the CLI or Queue.cancel.
import { describe, expect, test } from "bun:test";
import { defineTask } from "../lib/types.ts";
import { gate, showJob } from "./fixtures/cli/harness.ts";
import { keysOf, shardsOf } from "./fixtures/queue-shards.ts";
import {
  clientList,
  logRecorder,
  openQueue,
  rawRedis,
  runCli,
  startWorker,
  testPrefix,
  until,
} from "./helpers.ts";

const cancel = (prefix: string, id: string) => runCli("cancel", ["--prefix", prefix, id]);

describe("jobs waiting outside the stream", () => {
  test("a scheduled job: taken out of the delayed set", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix });
    const id = await q.enqueue("later", {}, { delayMs: 60_000 });
    const r = await cancel(prefix, id);
    expect(r).toEqual({ code: 0, stdout: `${id}: canceled (was scheduled)\n`, stderr: "" });
    await using redis = await rawRedis();
    for (const k of shardsOf(q)) expect(await redis.sendCommand(["ZCARD", k.delayed])).toBe(0);
    expect(await q.getJob(id)).toMatchObject({ status: "canceled", note: "while scheduled" });
  });

  test("a job waiting for its retry: taken out of the delayed set, not run again", async () => {
    const prefix = testPrefix();
    let runs = 0;
    const flaky = defineTask({
      name: "flaky",
      run: async () => {
        runs++;
        throw new Error("not yet");
      },
    });
    await using q = await openQueue({ prefix });
    // A back-off of a minute: the job is sure to wait in the delayed set when it is canceled.
    const w = await startWorker({ prefix, tasks: [flaky], backoffBaseMs: 60_000 });
    try {
      const id = await q.enqueue(flaky, {});
      await until(async () => (await q.getJob(id))?.status === "retrying", "the retry");
      const r = await cancel(prefix, id);
      expect(r).toEqual({ code: 0, stdout: `${id}: canceled (was retrying)\n`, stderr: "" });
      const shown = await showJob(prefix, id);
      expect(shown.code).toBe(8);
      expect(shown.job).toMatchObject({ status: "canceled", note: "while retrying", attempts: 1 });
      await using redis = await rawRedis();
      for (const k of shardsOf(q)) expect(await redis.sendCommand(["ZCARD", k.delayed])).toBe(0);
      expect(runs).toBe(1);
    } finally {
      await w.stop(0);
    }
  });

  test("a parked job (no live worker has its task): taken out of its parked set", async () => {
    const prefix = testPrefix();
    const mine = defineTask({ name: "mine", run: async () => 1 });
    await using q = await openQueue({ prefix });
    const w = await startWorker({ prefix, tasks: [mine] });
    try {
      const id = await q.enqueue("theirs", {});
      await until(async () => (await q.getJob(id))?.note !== undefined, "the job to be parked");
      const r = await cancel(prefix, id);
      expect(r).toEqual({ code: 0, stdout: `${id}: canceled (was parked)\n`, stderr: "" });
      await using redis = await rawRedis();
      for (const k of shardsOf(q)) {
        expect(await redis.sendCommand(["ZCARD", `${k.parkedPrefix}theirs`])).toBe(0);
        const count = await redis.sendCommand(["HGET", k.tasks, "parked:theirs"]);
        expect(count === null || count === "0").toBe(true);
      }
    } finally {
      await w.stop(0);
    }
  });
});

describe("keys Courier did not write", () => {
  test("an outcome key of another type, or a string that is no outcome: nothing written, exit 6", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix });
    const ids = ["odd-hash", "odd-string"];
    for (const id of ids) await q.enqueue("t", {}, { id });
    await using redis = await rawRedis();
    await redis.sendCommand(["HSET", keysOf(q, ids[0]!).result(ids[0]!), "f", "v"]);
    await redis.sendCommand(["SET", keysOf(q, ids[1]!).result(ids[1]!), "hello"]);
    const r = await runCli("cancel", ["--prefix", prefix, "--json", ...ids]);
    expect(r.code).toBe(6);
    expect(
      r.stdout
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l)),
    ).toEqual([
      { id: ids[0], verdict: "corrupt", type: "hash" },
      { id: ids[1], verdict: "corrupt", type: "string" },
    ]);
    for (const id of ids) expect((await q.getJob(id))?.status).not.toBe("canceled");
  });
});

describe("a running task that throws once aborted", () => {
  test("no retry, no dead letter, the entry acknowledged; waiters see canceled", async () => {
    const prefix = testPrefix();
    const started = new Set<string>();
    const threw: string[] = [];
    const stubborn = defineTask({
      name: "stubborn",
      run: async (_: unknown, signal, job) => {
        started.add(job.id);
        await new Promise((resolve) => signal.addEventListener("abort", resolve));
        threw.push(job.id);
        throw new Error(`gave up: ${String(signal.reason)}`);
      },
    });
    await using q = await openQueue({ prefix });
    const log = logRecorder();
    const w = await startWorker({ prefix, tasks: [stubborn], logger: log, cancelCheckMs: 50 });
    try {
      // One job whose failure would dead-letter it (1 attempt), one whose failure would retry it.
      const ids = [
        await q.enqueue(stubborn, {}, { maxAttempts: 1 }),
        await q.enqueue(stubborn, {}, { maxAttempts: 3 }),
      ];
      await until(() => started.size === 2, "both tasks to start");
      const waiting = q.waitForJobs(ids, { timeoutMs: 20_000 });
      const verdicts = await q.cancel(ids);
      expect(verdicts).toEqual(ids.map((id) => ({ id, verdict: "canceled", from: "started" })));
      const { ended, pending } = await waiting;
      expect(pending).toEqual([]);
      expect(ids.map((id) => ended.get(id)?.status)).toEqual(["canceled", "canceled"]);
      await until(
        () => log.events().filter((e) => e.startsWith("canceled")).length === 2,
        "both outcomes ignored",
      );
      expect(threw.sort()).toEqual([...ids].sort());
      await using redis = await rawRedis();
      for (const k of shardsOf(q)) {
        expect(await redis.sendCommand(["XLEN", k.dead])).toBe(0);
        expect(await redis.sendCommand(["ZCARD", k.delayed])).toBe(0);
        expect(await redis.sendCommand(["XLEN", k.stream])).toBe(0);
        const stats = await redis.sendCommand(["HMGET", k.stats, "retried", "dead", "failed"]);
        expect(stats).toEqual([null, null, null]);
      }
      const canceled = await Promise.all(
        shardsOf(q).map((k) => redis.sendCommand(["HGET", k.stats, "canceled"])),
      );
      expect(canceled.reduce((a, c) => a + Number(c ?? 0), 0)).toBe(2);
      expect(log.events()).not.toContain("failed, will retry");
    } finally {
      await w.stop(0);
    }
  });
});

describe("a job its worker holds for a slot", () => {
  test("two shards, concurrency 1: the held job is canceled and never starts", async () => {
    const prefix = testPrefix();
    const release = gate();
    const ran: string[] = [];
    const hold = defineTask({
      name: "hold",
      run: async (p: { first?: boolean }, _signal, job) => {
        ran.push(job.id);
        if (p.first) await release.wait;
        return 1;
      },
    });
    await using q = await openQueue({ prefix, shards: 2 });
    await using redis = await rawRedis();
    const log = logRecorder();
    const name = `w-held-${prefix}`;
    const w = await startWorker({
      ...{ prefix, shards: 2, concurrency: 1, tasks: [hold], name },
      ...{ logger: log, cancelCheckMs: 20 },
    });
    try {
      // Both shards' loops have read their empty stream and wait in a blocking read holding no
      // slot: else the one whose first read comes after the first job took the only slot waits
      // for that slot and reads nothing (a loaded machine), and nothing is held.
      const blocked = new RegExp(
        `name=courier-reader(-s1)?-${name} .*flags=b.*cmd=xreadgroup`,
        "g",
      );
      const reading = async () => ((await clientList(redis)).match(blocked) ?? []).length === 2;
      await until(reading, "both shards' blocking reads");
      const first = await q.enqueue(hold, { first: true });
      await until(() => ran.includes(first), "the first job to start");
      // The next job goes to the other shard (round robin): read, and held for the busy slot.
      const second = await q.enqueue(hold, {});
      await until(async () => (await q.getJob(second))?.status === "started", "it to be held");
      expect(await q.cancel([second])).toEqual([
        { id: second, verdict: "canceled", from: "started" },
      ]);
      await until(() => log.events().includes("canceled before it started"), "the worker's look");
      release.open();
      await until(
        () =>
          log.records.some(
            (r) =>
              r.event === "canceled (the task's outcome is ignored)" && r.fields.job === second,
          ),
        "the held entry to be acknowledged",
      );
      expect(ran).toEqual([first]);
      expect((await q.getJob(first))?.status).toBe("finished");
      for (const k of shardsOf(q)) expect(await redis.sendCommand(["XLEN", k.stream])).toBe(0);
    } finally {
      release.open();
      await w.stop(0);
    }
  });
});
