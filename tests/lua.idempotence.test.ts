// Transition scripts sent again after a lost reply (a dropped connection, a replaced stalled
// one) must not count twice; release at shutdown gives back only what the worker started.
import { describe, expect, test } from "bun:test";
import { GROUP } from "../lib/engine/keys.ts";
import { runScript, scripts } from "../lib/engine/lua.ts";
import { openQueue, rawRedis, testPrefix } from "./helpers.ts";

async function setup(prefix: string) {
  const q = await openQueue({ prefix });
  const id = await q.enqueue("t", null);
  await q.client.sendCommand(["XGROUP", "CREATE", q.keys.stream, GROUP, "0"]);
  const reply = (await q.client.sendCommand([
    ...["XREADGROUP", "GROUP", GROUP, "w1", "COUNT", "1", "STREAMS", q.keys.stream, ">"],
  ])) as [string, [string, string[]][]][];
  const entry = reply[0]![1][0]![0];
  const k = q.keys;
  /** Starts the entry as worker w1; `boot` tells one w1 process from another. */
  const start = (boot = "boot1") =>
    runScript<unknown[]>(
      q.client,
      scripts.start,
      [k.stream, k.dead, k.events, k.stats, k.minutes, k.tasks, k.delayed],
      [
        ...[k.jobPrefix, GROUP, "w1", 60, 100, 100, k.parkedPrefix, boot],
        ...[1, "t", "read", entry, id],
      ],
    );
  const fail = (run: number) =>
    runScript<number[]>(
      q.client,
      scripts.fail,
      [k.stream, k.delayed, k.dead, k.events, k.stats, k.minutes],
      [...[k.jobPrefix, GROUP, 60, 100, 100, 180, entry, id, run, "boom"], 60_000],
    );
  const finish = (entryId = entry) =>
    runScript<number[]>(
      q.client,
      scripts.finish,
      [k.stream, k.events, k.stats, k.minutes, k.durations],
      [...[k.jobPrefix, GROUP, 60, 100, 180, entryId, id, 1, "null"]],
    );
  /** The job ids the stream still holds, oldest first. */
  const streamJobIds = async () => {
    const entries = (await q.client.sendCommand(["XRANGE", k.stream, "-", "+"])) as [
      string,
      string[],
    ][];
    return entries.map(([, f]) => f[1]);
  };
  return { q, id, entry, start, fail, finish, streamJobIds };
}

describe("sent again after a lost reply", () => {
  test("a start: the same run comes back, no attempt is counted twice", async () => {
    const { q, id, start } = await setup(testPrefix());
    const first = await start();
    const again = await start();
    // Flat: entry, job id, run, attempt, max attempts, task, payload.
    expect(first.slice(1)).toEqual([id, 1, 1, 3, "t", "null"]);
    expect(again.slice(1)).toEqual([id, 1, 1, 3, "t", "null"]);
    expect(await q.getJob(id)).toMatchObject({ status: "started", attempts: 1 });
    await q.close();
  });

  test("a start from a worker restarted under the same name is a new attempt, not the same run", async () => {
    // The process that started it died (SIGKILL, OOM) with the entry pending; a new process
    // under the same name (the stack's stack-worker-<i>) takes the entry back.
    const { q, id, start } = await setup(testPrefix());
    await start("boot1");
    const restarted = await start("boot2");
    expect(restarted.slice(1)).toEqual([id, 2, 2, 3, "t", "null"]); // run 2, attempt 2
    expect(await start("boot3")).toEqual([expect.any(String), id, 3, 3, 3, "t", "null"]);
    // Its attempts used up: the next restart dead-letters it as abandoned.
    expect((await start("boot4")).slice(1)).toEqual([id, "dead"]);
    const job = await q.getJob(id);
    expect(job).toMatchObject({ status: "failed", attempts: 3 });
    expect(job?.error).toContain("abandoned: its worker stopped during attempt 3 of 3");
    await q.close();
  });

  test("a failure: the job is retried once, not twice", async () => {
    const { q, id, start, fail } = await setup(testPrefix());
    await start();
    expect(await fail(1)).toEqual([1]);
    expect(await fail(1)).toEqual([0]); // status is retrying now: left alone
    expect(await q.client.sendCommand<string>(["HGET", q.keys.stats, "retried"])).toBe("1");
    expect(await q.getJob(id)).toMatchObject({ status: "retrying", attempts: 1 });
    await q.close();
  });

  test("a failure of a run that is no longer the job's current one is ignored", async () => {
    const { q, id, start, fail } = await setup(testPrefix());
    await start();
    await q.client.sendCommand(["HSET", q.keys.job(id), "runs", "2"]); // another worker took over
    expect(await fail(1)).toEqual([0]);
    expect(await q.getJob(id)).toMatchObject({ status: "started" });
    await q.close();
  });
});

describe("release at shutdown", () => {
  test("gives back the attempt only for jobs this worker started itself", async () => {
    const prefix = testPrefix();
    const { q, id, entry, start } = await setup(prefix);
    await start(); // w1 starts it: attempt 1
    await using r = await rawRedis();
    // w2 holds the entry without having started it (a claim that landed as it stopped).
    await r.sendCommand(["XCLAIM", q.keys.stream, GROUP, "w2", "0", entry, "JUSTID"]);
    const released = await runScript<[number, number]>(
      q.client,
      scripts.release,
      [q.keys.stream],
      [...[q.keys.jobPrefix, GROUP, "w2", 100, "boot2"]],
    );
    expect(released).toEqual([1, 1]); // one job released, one pending entry handled
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

  test("does not give back an attempt its crashed predecessor under the same name started", async () => {
    const { q, id, start } = await setup(testPrefix());
    await start("boot1"); // the w1 process that then died: attempt 1 used
    // A new w1 process (another boot id) stops before it starts the entry it took back.
    const released = await runScript<[number, number]>(
      q.client,
      scripts.release,
      [q.keys.stream],
      [...[q.keys.jobPrefix, GROUP, "w1", 100, "boot2"]],
    );
    expect(released).toEqual([1, 1]);
    expect(await q.getJob(id)).toMatchObject({ status: "queued", attempts: 1 });
    await q.close();
  });

  test("gives back the attempt the same process started", async () => {
    const { q, id, start } = await setup(testPrefix());
    await start("boot1");
    const released = await runScript<[number, number]>(
      q.client,
      scripts.release,
      [q.keys.stream],
      [...[q.keys.jobPrefix, GROUP, "w1", 100, "boot1"]],
    );
    expect(released).toEqual([1, 1]);
    expect(await q.getJob(id)).toMatchObject({ status: "queued", attempts: 0 });
    await q.close();
  });
});

describe("trimming after a finish", () => {
  test("with nothing pending, the stream is trimmed up to the newest entry settled", async () => {
    const { q, start, finish, streamJobIds } = await setup(testPrefix());
    const later = await q.enqueue("t", null); // not delivered yet: must stay
    await start();
    expect(await finish()).toEqual([1]);
    expect(await streamJobIds()).toEqual([later]);
    await q.close();
  });

  test("an entry that was not pending (settled twice, or lost by Redis) never trims undelivered ones", async () => {
    const { q, entry, start, finish, streamJobIds } = await setup(testPrefix());
    const later = await q.enqueue("t", null); // not delivered yet: must stay
    await start();
    await q.client.sendCommand(["XACK", q.keys.stream, GROUP, entry]); // nothing pending now
    // A finish naming an entry newer than everything delivered, which the group never had.
    const [ms] = entry.split("-");
    expect(await finish(`${Number(ms) + 60_000}-0`)).toEqual([1]);
    expect(await streamJobIds()).toEqual([later]);
    await q.close();
  });
});
