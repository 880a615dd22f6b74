// One worker record whose key holds another type (R88 finding 2): that worker is one row,
// `unreadable`, naming its key (control characters escaped); the other workers and the
// queue's numbers are shown as usual: `info` exits 0, /metrics answers 200, and the
// dashboard's workers and live snapshot carry the rest.
import { afterEach, describe, expect, test } from "bun:test";
import { mergeWorkers } from "../lib/admin/shards.ts";
import type { WorkerInfo, WorkerState } from "../lib/admin/workers.ts";
import { type Dashboard, startDashboard } from "../lib/dashboard/server.ts";
import { queueKeys } from "../lib/engine/keys.ts";
import { ID_SHOWN_MAX } from "../lib/safe-text.ts";
import {
  oneShardFile,
  rawRedis,
  readUntil,
  redisTime,
  redisUrl,
  runCli,
  testPrefix,
} from "./helpers.ts";

// Writes the queue's worker keys in the one-shard layout (queueKeys).
oneShardFile();

const BAD = "bad\x1b[31m";
const running: Dashboard[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((d) => d.stop()));
});

/** A queue with a good worker record and one whose key is a string; returns the prefix. */
async function plant(): Promise<{ prefix: string; badKey: string }> {
  const prefix = testPrefix();
  const keys = queueKeys(prefix, "default");
  await using r = await rawRedis();
  const now = await redisTime(r);
  await r.sendCommand(["XGROUP", "CREATE", keys.stream, "workers", "0", "MKSTREAM"]);
  await r.sendCommand(["ZADD", keys.workers, String(now), "good", String(now), BAD]);
  await r.sendCommand(["HSET", keys.worker("good"), "host", "h", "pid", "7", "beat_ms", "5000"]);
  await r.sendCommand(["SET", keys.worker(BAD), "junk"]);
  return { prefix, badKey: keys.worker(BAD) };
}

/** The first event of the dashboard's live updates: its name and data. */
async function firstEvent(url: string): Promise<{ event: string; data: unknown }> {
  const controller = new AbortController();
  const res = await fetch(url, { signal: controller.signal });
  const reader = res.body!.getReader();
  const EVENT = /event: (\w+)\ndata: (.*)\n/;
  const text = await readUntil(reader, (t) => EVENT.test(t));
  const m = EVENT.exec(text)!;
  controller.abort();
  return { event: m[1]!, data: JSON.parse(m[2]!) };
}

describe("a worker record of another type", () => {
  test("info: that worker's row is unreadable and names its key; the rest as usual", async () => {
    const { prefix, badKey } = await plant();
    const text = await runCli("info", ["--prefix", prefix]);
    expect(text.stderr).toBe("");
    expect(text.code).toBe(0);
    expect(text.stdout).not.toContain("\x1b");
    expect(text.stdout).toMatch(/^ {2}workers: 1 live$/m);
    expect(text.stdout).toMatch(/^ {4}good +h +7 .* idle *$/m);
    const escaped = `${badKey.replace("\x1b", "\\x1b")}`;
    const row = text.stdout.split("\n").find((l) => l.startsWith("    bad\\x1b[31m "));
    expect(row).toContain(`unreadable: key ${escaped} holds another type`);

    const json = JSON.parse((await runCli("info", ["--prefix", prefix, "--json"])).stdout);
    const workers = json.queues[0].workers;
    expect(workers).toContainEqual(expect.objectContaining({ name: "good", state: "idle" }));
    expect(workers).toContainEqual(
      expect.objectContaining({ name: BAD, state: "unreadable", unreadable: expect.any(String) }),
    );
  });

  test("/metrics answers 200 with the rest; the dashboard shows both workers", async () => {
    const { prefix } = await plant();
    const d = await startDashboard({ redisUrl: redisUrl(), prefix, port: 0 });
    running.push(d);
    const metrics = await fetch(`${d.url}/metrics`);
    expect(metrics.status).toBe(200);
    const body = await metrics.text();
    expect(body).toContain('courier_workers_live{queue="default"} 1');
    expect(body).toContain('courier_jobs_waiting{queue="default"} 0');

    const api = await fetch(`${d.url}/api/workers`);
    expect(api.status).toBe(200);
    const { workers } = (await api.json()) as { workers: { name: string; state: string }[] };
    expect(workers.map((w) => [w.name, w.state]).sort()).toEqual([
      [BAD, "unreadable"],
      ["good", "idle"],
    ]);

    const first = await firstEvent(`${d.url}/api/events`);
    expect(first.event).toBe("snapshot");
    expect((first.data as { workers: { workers: unknown[] } }).workers.workers).toHaveLength(2);
  });
});

test("a 1 MB worker name written by hand over a key of another type: its row and snapshot stay narrow", async () => {
  // The row's STATE named the whole key (the name in it): info printed a 1 MB row, and the
  // dashboard's snapshot carried it every second.
  const prefix = testPrefix();
  const keys = queueKeys(prefix, "default");
  const huge = "W".repeat(1_000_000);
  await using r = await rawRedis();
  const now = await redisTime(r);
  await r.sendCommand(["XGROUP", "CREATE", keys.stream, "workers", "0", "MKSTREAM"]);
  await r.sendCommand(["ZADD", keys.workers, String(now), huge]);
  await r.sendCommand(["SET", keys.worker(huge), "junk"]);
  const text = await runCli("info", ["--prefix", prefix]);
  expect(text.code).toBe(0);
  expect(text.stdout.length).toBeLessThan(5_000);
  expect(text.stdout).toContain(
    `unreadable: key ${keys.worker(`${"W".repeat(ID_SHOWN_MAX)}…`)} holds`,
  );
  const d = await startDashboard({ redisUrl: redisUrl(), prefix, port: 0 });
  running.push(d);
  const first = await firstEvent(`${d.url}/api/events`);
  expect(JSON.stringify(first.data).length).toBeLessThan(20_000);
});

describe("a worker unreadable in one shard, merged with its other shards", () => {
  const row = (state: WorkerState, unreadable?: string): WorkerInfo => ({
    ...{ name: "w", host: null, pid: null, concurrency: null, inFlight: null, processed: 0 },
    ...{ failed: 0, lastHeartbeatMs: 0, state, heartbeatEveryMs: 5_000, tasks: [] },
    ...(unreadable === undefined ? {} : { unreadable }),
  });

  test.each([
    [["busy", "unreadable"], "busy"],
    [["unreadable", "idle"], "idle"],
    [["gone", "unreadable"], "unreadable"],
  ] as [WorkerState[], WorkerState][])(
    "states %p: %p, and the unreadable key said",
    (states, merged) => {
      const [w] = mergeWorkers(
        states.map((s) => [row(s, s === "unreadable" ? "key k" : undefined)]),
      );
      expect(w).toMatchObject({ state: merged, unreadable: "key k" });
    },
  );
});
