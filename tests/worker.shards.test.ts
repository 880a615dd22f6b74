// A worker's Source (lib/worker/take.ts) on shard 3 of a 6-shard queue: what it reads, claims
// and sets aside names each job `<entry id>:3` (docs/internals.md, "Job ids"), through the
// real scripts on the test Redis of tests/preload.ts.
import { describe, expect, test } from "bun:test";
import { defaults, type WorkerOptions } from "../lib/config.ts";
import { GROUP, shardKeys } from "../lib/engine/keys.ts";
import type { Redis } from "../lib/redis/connect.ts";
import { Source } from "../lib/worker/take.ts";
import { deadLetters, type EngineQueue, toMap } from "./fixtures/plant.ts";
import { logRecorder, rawRedis, testPrefix } from "./helpers.ts";

/** Shard 3 of a fresh 6-shard queue, its group created. */
async function shard3(): Promise<EngineQueue> {
  const r = await rawRedis();
  const k = shardKeys(testPrefix(), "q", 6)[3]!;
  await r.sendCommand(["XGROUP", "CREATE", k.stream, GROUP, "0", "MKSTREAM"]);
  const dispose = () => r[Symbol.asyncDispose]();
  return { r, client: r as unknown as Redis, k, [Symbol.asyncDispose]: dispose };
}

/** A Source for worker `name` that has task `echo`; leases lapse at once (claimIdleMs 0). */
function source(v: EngineQueue, name: string): Source {
  const o: WorkerOptions = { ...defaults, name, claimIdleMs: 0 };
  const w = { o, keys: v.k, tasks: new Set(["echo"]), compact: () => false };
  const links = { client: () => v.client, reader: () => v.client };
  return new Source(
    w,
    links,
    logRecorder(),
    () => {},
    () => false,
  );
}

const lane = (v: EngineQueue) => ({ client: () => v.client, stalled: () => {} });

async function add(v: EngineQueue, entry: string, fields: string[]): Promise<void> {
  await v.r.sendCommand(["XADD", v.k.stream, entry, ...fields]);
}

describe("a worker on shard 3 of 6", () => {
  test("a read runs <entry>:3, buries a bad entry as <entry>:3 and parks a lacked task's so", async () => {
    await using v = await shard3();
    await add(v, "1000-1", ["t", "echo", "p", "1", "a", "0", "m", "3"]);
    await add(v, "1000-2", ["t", "other", "p", "2", "a", "0", "m", "3"]);
    await add(v, "1000-3", ["p", "3", "a", "0", "m", "3"]); // no task: buried
    const got = await source(v, "w1").next(10, lane(v));
    expect(got.toRun.map((j) => [j.entryId, j.jobId])).toEqual([["1000-1", "1000-1:3"]]);
    expect((await deadLetters(v)).map(([, f]) => toMap(f).id)).toEqual(["1000-3:3"]);
    const parked = await v.r.sendCommand(["ZRANGE", `${v.k.parkedPrefix}other`, "0", "-1"]);
    expect(parked).toEqual(["1000-2:3"]);
  });

  test("a lapsed lease claimed runs as <entry>:3", async () => {
    await using v = await shard3();
    await add(v, "1000-1", ["t", "echo", "p", "1", "a", "0", "m", "3"]);
    await v.r.sendCommand(["XREADGROUP", "GROUP", GROUP, "w0", "STREAMS", v.k.stream, ">"]);
    const got = await source(v, "w1").next(10, lane(v));
    expect(got.kind).toBe("claim");
    expect(got.toRun.map((j) => [j.jobId, j.attempt, j.hasRecord])).toEqual([
      ["1000-1:3", 2, true],
    ]);
  });

  test("entries a finish took for the worker run as <entry>:3", async () => {
    await using v = await shard3();
    const run = await source(v, "w1").taken([
      ["1000-1", ["t", "echo", "p", "1", "a", "0", "m", "3"]],
    ]);
    expect(run.map((j) => j.jobId)).toEqual(["1000-1:3"]);
  });
});
