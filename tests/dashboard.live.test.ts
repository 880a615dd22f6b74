// The live stream's memory, whatever its readers do: a reader that falls behind gets the newest
// snapshot, never a queue of old ones, handed to its socket a slice at a time (so what the
// server copies for a socket that is not read is a slice, not a snapshot); one that takes
// nothing for `behindMax` snapshots is dropped. A worker's hostile host or task names are
// shortened before they reach a snapshot.
import { expect, test } from "bun:test";
import { Live } from "../lib/dashboard/live.ts";
import { dashboardDefaults, startDashboard } from "../lib/dashboard/server.ts";
import { limitKeys, queueKeys, scheduleKeys } from "../lib/engine/keys.ts";
import { firstSnapshot } from "./fixtures/dashboard.ts";
import { oneShardFile, rawRedis, redisUrl, testPrefix, until } from "./helpers.ts";

oneShardFile(); // the worker keys written are a one-shard queue's

const SLICE = dashboardDefaults.liveSliceBytes;
const big = "x".repeat(4 * SLICE);

/** A Live whose snapshot `n` counts up, each of 4 slices, and what it has made so far. */
function counting(behindMax: number) {
  const made = { n: 0 };
  const live = new Live(async () => ({ n: ++made.n, big }), 10, behindMax);
  return { live, made };
}

/** Reads one whole event, each chunk's size kept; its `n`. */
async function nextEvent(reader: ReadableStreamDefaultReader<Uint8Array>, chunks: number[]) {
  const decoder = new TextDecoder();
  let text = "";
  while (!/event: snapshot\ndata: .*\n\n/.test(text)) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`ended after ${JSON.stringify(text.slice(0, 80))}`);
    chunks.push(value.byteLength);
    text += decoder.decode(value, { stream: true });
  }
  return JSON.parse(text.split("data: ")[1]!.split("\n")[0]!).n as number;
}

test("a reader that falls behind gets the newest snapshot next, a slice at a time", async () => {
  const { live, made } = counting(1_000);
  const abort = new AbortController();
  try {
    const reader = live.subscribe(abort.signal).body!.getReader();
    const chunks: number[] = [];
    expect(await nextEvent(reader, chunks)).toBe(1);
    // It stops reading while five more are made: none of them waits for it in a queue.
    await until(() => made.n >= 6, "five more snapshots");
    const seen = made.n;
    expect(await nextEvent(reader, chunks)).toBeGreaterThanOrEqual(seen);
    expect(Math.max(...chunks)).toBeLessThanOrEqual(SLICE);
  } finally {
    abort.abort();
    live.close();
  }
});

test("a reader that takes nothing is dropped once it is behindMax snapshots behind", async () => {
  const { live, made } = counting(3);
  const abort = new AbortController();
  try {
    const reader = live.subscribe(abort.signal).body!.getReader();
    await until(() => live.listeners === 0, "the reader dropped");
    expect(made.n).toBeLessThanOrEqual(5);
    expect(reader.read()).rejects.toThrow("live connection stalled: its reader stopped");
  } finally {
    live.close();
  }
});

test("a worker's host and tasks are shortened in the snapshot and in /api/workers", async () => {
  const prefix = testPrefix();
  const keys = queueKeys(prefix, "default");
  await using redis = await rawRedis();
  const now = Number(((await redis.sendCommand(["TIME"])) as string[])[0]) * 1000;
  const tasks = JSON.stringify(Array.from({ length: 500 }, (_, i) => `${"t".repeat(300)}${i}`));
  await redis.sendCommand(["ZADD", keys.workers, String(now), "w1"]);
  await redis.sendCommand(["HSET", keys.worker("w1"), "host", "h".repeat(20_000), "tasks", tasks]);
  const d = await startDashboard({ redisUrl: redisUrl(), prefix, port: 0 });
  try {
    const max = dashboardDefaults.shownFieldMaxChars;
    const { workers } = (await (await fetch(`${d.url}/api/workers`)).json()) as {
      workers: { host: string; tasks: string[] }[];
    };
    const { data } = await firstSnapshot(`${d.url}/api/events`);
    for (const w of [workers[0]!, data.workers.workers[0]]) {
      expect(w.host).toBe(`${"h".repeat(max - 1)}…`);
      expect(w.tasks).toHaveLength(dashboardDefaults.shownTasksMax);
      expect(w.tasks[0]).toBe(`${"t".repeat(max - 1)}…`);
    }
  } finally {
    await d.stop();
  }
});

test("a task name waiting for a worker and a schedule's name and task are shortened in the snapshot", async () => {
  // Written by hand (Courier takes no task name over 100 characters, no schedule name over 64):
  // whole, each snapshot, every second per open page, carried 2 MB.
  const prefix = testPrefix();
  const keys = queueKeys(prefix, "default");
  const sk = scheduleKeys(prefix);
  await using redis = await rawRedis();
  const now = Number(((await redis.sendCommand(["TIME"])) as string[])[0]) * 1000;
  const huge = "T".repeat(1_000_000);
  await redis.sendCommand(["HSET", keys.tasks, `parked:${huge}`, "1"]);
  // The schedule's task under 16 KiB: one longer is no definition Courier writes, and the
  // brief read cuts it (schedule-brief.lua; tests/schedule.brief.test.ts).
  const task = "T".repeat(10_000);
  const def = { queue: "default", every_ms: 3_600_000, task, payload: null, missed: "once" };
  const name = `S${huge}`;
  await redis.sendCommand([
    "HSET",
    sk.defs,
    name,
    JSON.stringify({ ...def, paused: false, created_at: now }),
  ]);
  await redis.sendCommand(["HSET", sk.where, name, "default"]);
  await redis.sendCommand(["ZADD", sk.names("default"), "0", name]);
  await redis.sendCommand(["ZADD", sk.next("default"), String(now + 3_600_000), name]);
  const d = await startDashboard({ redisUrl: redisUrl(), prefix, port: 0 });
  try {
    const max = dashboardDefaults.shownFieldMaxChars;
    const overview = await (await fetch(`${d.url}/api/overview`)).json();
    const { data } = await firstSnapshot(`${d.url}/api/events`);
    for (const o of [overview, data.overview]) {
      expect(o.counts.unservedTasks[0].task).toBe(`${"T".repeat(max - 1)}…`);
    }
    const [shown] = data.schedules.shown;
    expect(shown.name).toBe(`S${"T".repeat(max - 2)}…`);
    expect(shown.task).toBe(`${"T".repeat(max - 1)}…`);
    expect(JSON.stringify(data).length).toBeLessThan(20_000);
  } finally {
    await d.stop();
  }
});

test("a held limit key written by hand is shortened in the snapshot", async () => {
  // Courier takes no limit key over 256 bytes; 20 keys of 1 MB made each snapshot 20 MB.
  const prefix = testPrefix();
  const lk = limitKeys(prefix, "default");
  await using redis = await rawRedis();
  const now = Number(((await redis.sendCommand(["TIME"])) as string[])[0]) * 1000;
  await redis.sendCommand(["ZADD", lk.keys, String(now + 3_600_000), "K".repeat(1_000_000)]);
  const d = await startDashboard({ redisUrl: redisUrl(), prefix, port: 0 });
  try {
    const max = dashboardDefaults.shownFieldMaxChars;
    const { data } = await firstSnapshot(`${d.url}/api/events`);
    expect(data.limits.held[0].key).toBe(`${"K".repeat(max - 1)}…`);
    expect(JSON.stringify(data).length).toBeLessThan(20_000);
  } finally {
    await d.stop();
  }
});
