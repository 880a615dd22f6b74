// The scripts that write queue-wide keys check their types before their first write
// (lib/engine/lua/include/wrongtype.lua). Without it, a WRONGTYPE half-way left jobs recorded but in no
// stream, delayed set or dead letter, stuck for good (Redis does not roll a script back). Per
// script and key: refused with the key named and nothing written; once the key is deleted the
// same call works, and nothing is done twice.
import { describe, expect, test } from "bun:test";
import { requeueLetters } from "../lib/admin/letters.ts";
import type { QueueKeys } from "../lib/engine/keys.ts";
import type { Queue } from "../lib/queue/queue.ts";
import { defineTask } from "../lib/types.ts";
import { serveTasks } from "../lib/worker/presence.ts";
import { promoteDue } from "../lib/worker/retry-policy.ts";
import {
  logRecorder,
  openQueue,
  pinShards,
  type RawRedis,
  rawRedis,
  runCli,
  startWorker,
  testPrefix,
  until,
} from "./helpers.ts";

// These tests read and plant one shard's own keys (q.keys): their queues have one shard, on a
// cluster one slot.
pinShards(1);

/** Every key under the prefix with its type and serialized value, to compare before/after. */
async function snapshot(r: RawRedis, prefix: string): Promise<string[]> {
  const names = ((await r.sendCommand(["KEYS", `${prefix}*`])) as string[]).sort();
  const dumps = await Promise.all(names.map((k) => r.sendCommand(["DUMP", k])));
  return names.map((k, i) => `${k} ${dumps[i]}`);
}

const XLEN = (r: RawRedis, keys: QueueKeys) => r.sendCommand(["XLEN", keys.stream]);

interface Case {
  script: string;
  /** The key made a string, by name and as built for a queue. */
  name: string;
  key: (k: QueueKeys) => string;
  /** Puts the job (id "j1") where the operation finds it; the operation itself. */
  setup: (q: Queue, r: RawRedis) => Promise<unknown>;
  run: (q: Queue) => Promise<unknown>;
}

const enqueue = (q: Queue, delayMs = 0) =>
  q.enqueueMany([{ task: "t", payload: 1, id: "j1", delayMs }]);
const promote = (q: Queue) => promoteDue(q.client, q.keys);
/** j1 delayed, and due now by Redis' clock (promotion reads TIME). */
async function due(q: Queue) {
  await enqueue(q, 60_000);
  await q.client.sendCommand(["ZADD", q.keys.delayed, "XX", "0", "j1"]);
}
const serve = (q: Queue) => serveTasks(q.client, q.keys, ["t"], 30_000);
/** A letter for j1 whose record was dropped (the requeue recreates it). */
async function letter(q: Queue, r: RawRedis) {
  await r.sendCommand([...["XADD", q.keys.dead, "*", "id", "j1", "task", "t", "payload", "1"]]);
}
async function requeue(q: Queue) {
  const letters = (await q.client.sendCommand(["XRANGE", q.keys.dead, "-", "+"])) as [string][];
  const pairs = letters.map(([entry]) => [entry, "j1"] as [string, string]);
  return requeueLetters(q.client, q.keys, pairs, { maxAttempts: 3 });
}
/** j1 queued and parked for task t (as start-7.lua parks it). */
async function parked(q: Queue, r: RawRedis) {
  await enqueue(q, 3_600_000);
  await r.sendCommand(["ZREM", q.keys.delayed, "j1"]);
  await r.sendCommand(["ZADD", `${q.keys.parkedPrefix}t`, "0", "j1"]);
}

// biome-ignore format: a table
const cases: Case[] = [
  { script: "enqueue", name: "stream", key: (k) => k.stream, setup: async () => {}, run: (q) => enqueue(q) },
  { script: "enqueue", name: "stats", key: (k) => k.stats, setup: async () => {}, run: (q) => enqueue(q) },
  { script: "enqueue", name: "delayed", key: (k) => k.delayed, setup: async () => {}, run: (q) => enqueue(q, 60_000) },
  { script: "promote", name: "stream", key: (k) => k.stream, setup: due, run: promote },
  { script: "serve", name: "stream", key: (k) => k.stream, setup: parked, run: serve },
  { script: "serve", name: "tasks", key: (k) => k.tasks, setup: parked, run: serve },
  { script: "requeue", name: "stream", key: (k) => k.stream, setup: letter, run: requeue },
  { script: "requeue", name: "stats", key: (k) => k.stats, setup: letter, run: requeue },
];

describe("a queue-wide key of the wrong type", () => {
  test.each(cases.map((c) => [c.script, c.name, c] as const))(
    "%s, %s a string: refused naming the key, nothing written; works once it is deleted",
    async (_script, _key, c) => {
      const prefix = testPrefix();
      await using q = await openQueue({ prefix });
      await using r = await rawRedis();
      await c.setup(q, r);
      const key = c.key(q.keys);
      await r.sendCommand(["DEL", key]);
      await r.sendCommand(["SET", key, "not ours"]);
      const before = await snapshot(r, prefix);
      const refused = await c.run(q).catch((e: Error) => e);
      expect(String(refused)).toContain(`courier: key ${key} holds a string, not a`);
      expect(await snapshot(r, prefix)).toEqual(before);
      await r.sendCommand(["DEL", key]);
      await c.run(q);
      await c.run(q).catch(() => {}); // again: nothing is done twice
      // A delayed enqueue is scheduled (not due for a minute); every other case queued.
      const status = c.script === "enqueue" && c.name === "delayed" ? "scheduled" : "queued";
      expect((await q.getJob("j1"))?.status).toBe(status);
      const delayed = Number(await r.sendCommand(["ZCARD", q.keys.delayed]));
      expect(Number(await XLEN(r, q.keys)) + delayed).toBe(1); // one entry, in one place
    },
  );

  test("a parked set: serve skips it, naming it; the other task's jobs still move", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix });
    await using r = await rawRedis();
    await r.sendCommand(["SET", `${q.keys.parkedPrefix}u`, "not ours"]);
    await parked(q, r);
    // Named for the worker to log once (lib/worker/upkeep.ts), not thrown: the beat goes on.
    const run = await serveTasks(q.client, q.keys, ["t", "u"], 30_000);
    expect(run).toEqual({ moved: 1, corrupt: [`${q.keys.parkedPrefix}u`] });
    expect(Number(await XLEN(r, q.keys))).toBe(1); // j1, parked for t, is back in the stream
    expect(await r.sendCommand(["GET", `${q.keys.parkedPrefix}u`])).toBe("not ours");
  });
});

describe("from the CLI: one line, exit 6, nothing written", () => {
  // `dead` settles each id on its own: the line names the id (lib/admin/dead-actions.ts).
  test.each([
    ["trigger", ["www.example.org"], ""],
    ["dead", ["requeue", "j1"], "j1: "],
  ])("%s", async (cli, args, id) => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix });
    await using r = await rawRedis();
    await letter(q, r);
    await r.sendCommand(["SET", q.keys.stream, "not ours"]);
    const before = await snapshot(r, prefix);
    const run = await runCli(cli, [...args, "--prefix", prefix]);
    expect(run.code).toBe(6);
    expect(run.stderr.trim().split("\n")).toEqual([
      expect.stringMatching(
        new RegExp(
          `^${cli}: ${id}Redis refused a Courier script \\(WRONGTYPE\\): key ${q.keys.stream.replace(/[{}]/g, "\\$&")} holds a string where Courier keeps a stream; nothing was written; .*--prefix`,
        ),
      ),
    ]);
    expect(await snapshot(r, prefix)).toEqual(before);
  });
});

describe("in a worker", () => {
  test("the promote loop logs the refusal (throttled) and goes on; once the key is deleted, jobs run", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix });
    await using r = await rawRedis();
    await r.sendCommand(["SET", q.keys.delayed, "not ours"]);
    const log = logRecorder();
    const echo = defineTask({ name: "t", run: async (p: unknown) => p });
    const w = await startWorker({ prefix, tasks: [echo], logger: log });
    // The promote loop's refusal (the reads are refused too: a start writes the delayed set).
    const promoteRefused = () =>
      log.records.some(
        (l) =>
          l.event === "redis command failed" &&
          String(l.fields.error).includes(`courier: key ${q.keys.delayed} holds a string`),
      );
    await until(promoteRefused, "the refusal logged");
    expect(w.live()).toBe(true);
    await r.sendCommand(["DEL", q.keys.delayed]);
    const [job] = await enqueue(q, 1);
    const { ended } = await q.waitForJobs([job!.id], { timeoutMs: 5_000 });
    expect(ended.get(job!.id)).toMatchObject({ status: "finished", result: 1 });
    await w.stop();
  });
});
