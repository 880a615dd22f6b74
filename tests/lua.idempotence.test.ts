// Transition scripts sent again after a lost reply (a dropped connection, a replaced stalled
// one) must not count twice; release at shutdown gives back only what the worker started.
import { describe, expect, test } from "bun:test";
import { failJobs, finishJobs } from "../lib/engine/calls/outcomes.ts";
import { type Started, startEntries } from "../lib/engine/calls/start.ts";
import { releaseAll } from "../lib/engine/calls/worker.ts";
import { GROUP } from "../lib/engine/keys.ts";
import { openQueue, rawRedis, testPrefix } from "./helpers.ts";

/** A started job of task "t" (payload null, 3 attempts) as the start script answers it. */
function runOf(
  jobId: string,
  runNo: number,
  attempt: number,
): Omit<Started["toRun"][0], "entryId"> {
  return { jobId, runNo, attempt, maxAttempts: 3, task: "t", payload: "null" };
}

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
  const start = (boot = "boot1") => {
    const limits = { failureTtlS: 60, deadMaxLen: 100, eventsMaxLen: 100 };
    const starter = { consumer: "w1", boot, tasks: ["t"], ...limits };
    return startEntries(q.client, k, starter, {
      kind: "read",
      deliveries: [{ entryId: entry, jobId: id }],
    });
  };
  const fail = (runNo: number) => {
    const o = { failureTtlS: 60, deadMaxLen: 100, eventsMaxLen: 100 };
    const retryInMs = 60_000;
    return failJobs(q.client, k, o, [
      { entryId: entry, jobId: id, runNo, error: "boom", retryInMs },
    ]);
  };
  const finish = (entryId = entry) =>
    finishJobs(q.client, k, { resultTtlS: 60, eventsMaxLen: 100 }, [
      { entryId, jobId: id, runNo: 1, result: "null" },
    ]);
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
    expect(first.toRun).toEqual([{ ...runOf(id, 1, 1), entryId: expect.any(String) }]);
    expect(again.toRun).toEqual([{ ...runOf(id, 1, 1), entryId: expect.any(String) }]);
    expect(await q.getJob(id)).toMatchObject({ status: "started", attempts: 1 });
    await q.close();
  });

  test("a start from a worker restarted under the same name is a new attempt, not the same run", async () => {
    // The process that started it died (SIGKILL, OOM) with the entry pending; a new process
    // under the same name (the stack's stack-worker-<i>) takes the entry back.
    const { q, id, start } = await setup(testPrefix());
    await start("boot1");
    const restarted = await start("boot2");
    expect(restarted.toRun).toEqual([{ ...runOf(id, 2, 2), entryId: expect.any(String) }]); // run 2, attempt 2
    expect(await start("boot3")).toEqual({
      toRun: [{ ...runOf(id, 3, 3), entryId: expect.any(String) }],
      setAside: [],
    });
    // Its attempts used up: the next restart dead-letters it as abandoned.
    expect((await start("boot4")).setAside).toEqual([
      { entryId: expect.any(String), jobId: id, verdict: "dead" },
    ]);
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
    const released = await releaseAll(q.client, q.keys, {
      consumer: "w2",
      most: 100,
      boot: "boot2",
    });
    expect(released).toEqual({ released: 1, handled: 1 }); // one job released, one entry handled
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
    const released = await releaseAll(q.client, q.keys, {
      consumer: "w1",
      most: 100,
      boot: "boot2",
    });
    expect(released).toEqual({ released: 1, handled: 1 });
    expect(await q.getJob(id)).toMatchObject({ status: "queued", attempts: 1 });
    await q.close();
  });

  test("gives back the attempt the same process started", async () => {
    const { q, id, start } = await setup(testPrefix());
    await start("boot1");
    const released = await releaseAll(q.client, q.keys, {
      consumer: "w1",
      most: 100,
      boot: "boot1",
    });
    expect(released).toEqual({ released: 1, handled: 1 });
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
