// this Courier (data format 2) reads data format 2. A queue of a later format (3), or one holding jobs that
// a Courier of data format 1 wrote (format 1: no `meta` hash, a stream entry naming a job hash), is refused by
// the worker, trigger, result and info with one line saying what to do, exit 6, nothing written.
import { describe, expect, test } from "bun:test";
import { DATA_FORMAT, queueKeys } from "../lib/engine/keys.ts";
import { holdsV1Jobs } from "../lib/engine/v1-data.ts";
import type { Redis } from "../lib/redis/connect.ts";
import { workerArgs } from "./fixtures/cli/harness.ts";
import { oneShardFile, openQueue, rawRedis, runCli, testPrefix } from "./helpers.ts";

// Reads the queue's raw keys in the one-shard layout (queueKeys).
oneShardFile();

const STACK_FRAME = /^\s+at .+:\d+/m;
const V1_LINE = (prefix: string) =>
  `queue "default" (prefix ${prefix}) holds data of format 1 (an earlier Courier); this Courier reads format 2: drain it with the Courier that wrote it (courier info shows nothing waiting, delayed or in flight), then point this Courier at a new --prefix`;
const LATER_LINE =
  'queue "default" has data format 3, this Courier reads format 2: upgrade Courier (or use another --queue/--prefix)';

/** A queue as a Courier of data format 1 left it: no meta, a job hash, its id in the stream, one delayed. */
async function v1Queue(prefix: string) {
  const keys = queueKeys(prefix, "default");
  await using r = await rawRedis();
  const job = ["task", "wordcount", "payload", '{"url":"https://example.org/"}', "status"];
  await r.sendCommand([
    "HSET",
    keys.record("0190a1b2-0000-7000-8000-000000000001"),
    ...job,
    "queued",
  ]);
  await r.sendCommand(["XADD", keys.stream, "*", "id", "0190a1b2-0000-7000-8000-000000000001"]);
  await r.sendCommand(["HSET", keys.record("later"), ...job, "retrying"]);
  await r.sendCommand(["ZADD", keys.delayed, "1", "later"]);
}

/** A queue whose meta says format 3 (a later Courier), with one job waiting. */
async function laterQueue(prefix: string) {
  const keys = queueKeys(prefix, "default");
  await using r = await rawRedis();
  await r.sendCommand(["HSET", keys.meta, "format", "3", "created_at", "1"]);
  await r.sendCommand(["XADD", keys.stream, "*", "t", "x", "p", "1", "a", "0", "m", "3"]);
}

async function snapshot(prefix: string) {
  await using r = await rawRedis();
  const names = ((await r.sendCommand(["KEYS", `${prefix}:*`])) as string[]).sort();
  const values = await Promise.all(names.map((k) => r.sendCommand(["DUMP", k])));
  return { names, values };
}

const commands = [
  ["worker", (p: string) => workerArgs(p)],
  ["trigger", (p: string) => ["--prefix", p, "--url", "https://example.org/"]],
  ["result", (p: string) => ["--prefix", p, "--jobid", "later"]],
  ["info", (p: string) => ["--prefix", p, "--queue", "default"]],
] as const;

test("this Courier reads and writes format 2", () => {
  expect(DATA_FORMAT).toBe(2);
});

describe.each([
  ["format 1 (no meta)", v1Queue, V1_LINE],
  ["format 3", laterQueue, () => LATER_LINE],
] as const)("a queue of %s", (_name, plant, line) => {
  test.each(commands)("%s refuses with one line and exit 6, writing nothing", async (cli, args) => {
    const prefix = testPrefix();
    await plant(prefix);
    const before = await snapshot(prefix);
    const r = await runCli(cli, args(prefix), { timeoutMs: 10_000 });
    expect({ code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({
      code: 6,
      stdout: "",
      stderr: `${cli}: ${line(prefix)}\n`,
    });
    expect(r.stderr).not.toMatch(STACK_FRAME);
    expect(await snapshot(prefix)).toEqual(before);
  });
});

describe("what counts as v1 data", () => {
  test("jobs of format 2 (entries carrying the job, records with t), and an empty queue, do not", async () => {
    await using q = await openQueue({ prefix: testPrefix() });
    const client = q.client as Redis;
    expect(await holdsV1Jobs(client, q.keys)).toBe(false);
    await q.enqueue("t", 1);
    await q.enqueue("t", 2, { delayMs: 60_000, id: "later" });
    expect(await holdsV1Jobs(client, q.keys)).toBe(false);
  });

  test("a v1 entry in the stream, or a v1 job hash in the delayed set, does", async () => {
    for (const plant of ["stream", "delayed"] as const) {
      const prefix = testPrefix();
      const keys = queueKeys(prefix, "default");
      await using r = await rawRedis();
      if (plant === "stream") await r.sendCommand(["XADD", keys.stream, "*", "id", "j1"]);
      else {
        await r.sendCommand(["HSET", keys.record("j1"), "task", "t", "status", "retrying"]);
        await r.sendCommand(["ZADD", keys.delayed, "1", "j1"]);
      }
      expect(await holdsV1Jobs(r as unknown as Redis, keys)).toBe(true);
    }
  });
});
