// The queue's data format (`meta` hash, DATA_FORMAT): written once by the first worker or
// producer, and a queue of another format refused with one line and exit 6 by every command
// (and by the library), before anything is read or written there.
import { describe, expect, test } from "bun:test";
import { Admin } from "../lib/admin/admin.ts";
import { startDashboard } from "../lib/dashboard/server.ts";
import { DATA_FORMAT, queueKeys } from "../lib/engine/keys.ts";
import { RedisRefusedError } from "../lib/errors.ts";
import { Queue } from "../lib/queue/queue.ts";
import { defineTask } from "../lib/types.ts";
import { Worker } from "../lib/worker/worker.ts";
import { workerArgs } from "./fixtures/cli/harness.ts";
import {
  oneShardFile,
  openQueue,
  rawRedis,
  redisTime,
  redisUrl,
  runCli,
  startWorker,
  testPrefix,
} from "./helpers.ts";

// Reads the queue's raw keys in the one-shard layout (queueKeys).
oneShardFile();

const LINE = `queue "default" has data format 99, this Courier reads format ${DATA_FORMAT}: upgrade Courier (or use another --queue/--prefix)`;
const STACK_FRAME = /^\s+at .+:\d+/m;
const ok = defineTask({ name: "ok", run: async () => 1 });

describe("a fresh queue", () => {
  test("the first worker writes the format and when", async () => {
    const prefix = testPrefix();
    await using r = await rawRedis();
    const before = await redisTime(r);
    const w = await startWorker({ prefix, tasks: [ok] });
    await w.stop();
    const meta = queueKeys(prefix, "default").meta;
    const [format, createdAt] = await r.sendCommand(["HMGET", meta, "format", "created_at"]);
    expect(format).toBe(String(DATA_FORMAT));
    expect(Number(createdAt)).toBeGreaterThanOrEqual(before);
    expect(Number(createdAt)).toBeLessThanOrEqual(await redisTime(r));
  });

  test("a producer writes it with its first enqueue; reading alone writes nothing", async () => {
    const prefix = testPrefix();
    await using r = await rawRedis();
    await using q = await openQueue({ prefix });
    expect(await q.getJob("nothing")).toBeNull();
    expect(await r.sendCommand(["EXISTS", q.keys.meta])).toBe(0);
    await q.enqueue("ok", null);
    expect(await r.sendCommand(["HGET", q.keys.meta, "format"])).toBe(String(DATA_FORMAT));
    expect(Number(await r.sendCommand(["HLEN", q.keys.meta]))).toBe(2);
  });
});

describe("a queue of another data format", () => {
  /** A queue whose meta says format 99, with one job waiting in it. */
  async function foreign() {
    const prefix = testPrefix();
    const keys = queueKeys(prefix, "default");
    await using r = await rawRedis();
    await r.sendCommand(["HSET", keys.meta, "format", "99", "created_at", "1"]);
    await r.sendCommand(["XADD", keys.stream, "*", "id", "j1"]);
    const snapshot = async () => {
      await using raw = await rawRedis();
      const names = ((await raw.sendCommand(["KEYS", `${prefix}:*`])) as string[]).sort();
      const stream = await raw.sendCommand(["XRANGE", keys.stream, "-", "+"]);
      return { names, stream, groups: await raw.sendCommand(["XINFO", "GROUPS", keys.stream]) };
    };
    return { prefix, keys, before: await snapshot(), snapshot };
  }

  test.each([
    ["worker", (p: string) => workerArgs(p)],
    ["trigger", (p: string) => ["--prefix", p, "--url", "https://example.org/"]],
    ["result", (p: string) => ["--prefix", p, "--jobid", "j1"]],
    ["info", (p: string) => ["--prefix", p, "--queue", "default"]],
    ["dead", (p: string) => ["list", "--prefix", p]],
  ])("%s refuses with one line and exit 6, writing nothing", async (cli, args) => {
    const { prefix, before, snapshot } = await foreign();
    const r = await runCli(cli, args(prefix), { timeoutMs: 10_000 });
    expect(r.code).toBe(6);
    expect(r.stdout).toBe("");
    expect(r.stderr).toBe(`${cli}: ${LINE}\n`);
    expect(r.stderr).not.toMatch(STACK_FRAME);
    expect(await snapshot()).toEqual(before);
  });

  test("info over every queue shows it as unreadable, the others as usual, and exits 6", async () => {
    const { prefix, keys } = await foreign();
    await using r = await rawRedis();
    // The default queue is fine here; "other" holds the foreign data.
    const other = queueKeys(prefix, "other");
    // Written again under "other" and deleted here, not RENAMEd: on a cluster the two queues'
    // keys are in two slots, which RENAME cannot join.
    await r.sendCommand(["HSET", other.meta, "format", "99", "created_at", "1"]);
    await r.sendCommand(["XADD", other.stream, "*", "id", "j1"]);
    for (const k of ["meta", "stream"] as const) await r.sendCommand(["DEL", keys[k]]);
    await r.sendCommand(["XADD", keys.stream, "*", "t", "x", "p", "1", "a", "0", "m", "3"]);
    const res = await runCli("info", ["--prefix", prefix]);
    expect(res.code).toBe(6);
    expect(res.stdout).toContain(`unreadable: ${LINE.replace('"default"', '"other"')}`);
    expect(res.stdout).toMatch(/queue default/);
  });

  test("the library refuses it too: Worker.start, Queue.connect, Admin.connect", async () => {
    const { prefix, before, snapshot } = await foreign();
    const config = { redisUrl: redisUrl(), prefix };
    for (const open of [
      () => Worker.start({ ...config, tasks: [ok] }),
      () => Queue.connect(config),
      () => Admin.connect(config),
    ]) {
      const err = await open().then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(RedisRefusedError);
      expect((err as Error).message).toBe(LINE);
    }
    expect(await snapshot()).toEqual(before);
  });
});

describe("the dashboard", () => {
  test("refuses a queue of another format named by ?queue= (409, the line), reads the rest", async () => {
    const prefix = testPrefix();
    await using r = await rawRedis();
    const other = queueKeys(prefix, "other");
    await r.sendCommand(["HSET", other.meta, "format", "99"]);
    await r.sendCommand(["XADD", other.stream, "*", "id", "j1"]);
    const d = await startDashboard({ redisUrl: redisUrl(), prefix, port: 0 });
    try {
      const res = await fetch(`${d.url}/api/overview?queue=other`);
      expect(res.status).toBe(409);
      expect(await res.json()).toEqual({ error: LINE.replace('"default"', '"other"') });
      expect((await fetch(`${d.url}/api/overview`)).status).toBe(200);
    } finally {
      await d.stop();
    }
  });
});
