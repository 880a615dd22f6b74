// More workers than a read lists (WORKERS_READ, the latest heartbeats): `info` said "1000 live"
// and /metrics' courier_workers_live stayed at 1000 however many beat, and gone workers past the
// first 1,000 were never pruned (the set grew with every restart of a fleet that size). Now
// the live ones past the rows are counted (their records exist), and the oldest are pruned once
// gone, a page a read.
import { expect, test } from "bun:test";
import { Admin } from "../lib/admin/admin.ts";
import { WORKERS_READ } from "../lib/admin/workers.ts";
import type { QueueKeys } from "../lib/engine/keys.ts";
import {
  openQueue,
  type RawRedis,
  rawRedis,
  redisTime,
  redisUrl,
  runCli,
  testPrefix,
} from "./helpers.ts";

const LIVE = WORKERS_READ + 200;
const GONE = 50;

/** `LIVE` workers beating now and `GONE` whose records expired long ago, in every shard. */
async function plant(r: RawRedis, shards: QueueKeys[]): Promise<void> {
  const now = await redisTime(r);
  for (const keys of shards) {
    const members: string[] = [];
    for (let i = 0; i < LIVE; i++) members.push(String(now - i), `w${i}`);
    for (let i = 0; i < GONE; i++) members.push(String(now - 3_600_000 - i), `gone${i}`);
    await r.sendCommand(["ZADD", keys.workers, ...members]);
    await Promise.all(
      Array.from({ length: LIVE }, (_, i) =>
        r.sendCommand(["HSET", keys.worker(`w${i}`), "host", "h", "pid", "1", "beat_ms", "5000"]),
      ),
    );
  }
}

test("more workers than a read lists: all live counted, the gone ones past the rows pruned", async () => {
  const prefix = testPrefix();
  await using q = await openQueue({ prefix, queue: "q" });
  await q.enqueue("t", null);
  await using r = await rawRedis();
  const admin = await Admin.connect({ redisUrl: redisUrl(), prefix, queue: "q" });
  try {
    const shards = await admin.shards();
    await plant(r, shards);
    const metrics = (await admin.metrics()).split("\n");
    expect(metrics).toContain(`courier_workers_live{queue="q"} ${LIVE}`);
    expect(await admin.workers()).toHaveLength(WORKERS_READ);

    const json = await runCli("info", ["--prefix", prefix, "--queue", "q", "--json"]);
    const [report] = JSON.parse(json.stdout).queues;
    expect(report.workers).toHaveLength(WORKERS_READ);
    expect(report.workersBeyond).toBe(LIVE - WORKERS_READ);
    // The read pruned the gone ones, which are the oldest: past its rows.
    for (const keys of shards) expect(await r.sendCommand(["ZCARD", keys.workers])).toBe(LIVE);
    const text = await runCli("info", ["--prefix", prefix, "--queue", "q"]);
    expect(text.stdout).toContain(
      `  workers: ${LIVE} live (the ${WORKERS_READ} latest heartbeats listed)\n`,
    );
  } finally {
    await admin.close();
  }
});

test("as many workers as a read lists: none counted past them, the line as before", async () => {
  const prefix = testPrefix();
  await using q = await openQueue({ prefix, queue: "q" });
  await q.enqueue("t", null);
  const admin = await Admin.connect({ redisUrl: redisUrl(), prefix, queue: "q" });
  await using r = await rawRedis();
  try {
    const now = await redisTime(r);
    for (const keys of await admin.shards()) {
      await r.sendCommand(["ZADD", keys.workers, String(now), "w1"]);
      await r.sendCommand(["HSET", keys.worker("w1"), "host", "h", "beat_ms", "5000"]);
    }
    expect((await admin.metrics()).split("\n")).toContain('courier_workers_live{queue="q"} 1');
    const text = await runCli("info", ["--prefix", prefix, "--queue", "q"]);
    expect(text.stdout).toContain("  workers: 1 live\n");
    const json = await runCli("info", ["--prefix", prefix, "--queue", "q", "--json"]);
    expect(JSON.parse(json.stdout).queues[0].workersBeyond).toBeUndefined();
  } finally {
    await admin.close();
  }
});

/** Counts each command `admin`'s client sends on a workers set or a worker's record, by name. */
function spyCalls(admin: Admin): Map<string, number> {
  const calls = new Map<string, number>();
  const client = admin.client as unknown as { sendCommand: (...a: unknown[]) => Promise<unknown> };
  const send = client.sendCommand.bind(client);
  client.sendCommand = (...args: unknown[]) => {
    const [name, key] = (args[0] as string[]).map(String);
    if (/:worker(s|:)/.test(key ?? "")) {
      calls.set(name!.toUpperCase(), (calls.get(name!.toUpperCase()) ?? 0) + 1);
    }
    return send(...args);
  };
  return calls;
}

test("gone workers among the latest beats: every read counts each live one, pruning or not", async () => {
  const prefix = testPrefix();
  await using q = await openQueue({ prefix, queue: "q" });
  await q.enqueue("t", null);
  await using r = await rawRedis();
  const admin = await Admin.connect({ redisUrl: redisUrl(), prefix, queue: "q" });
  try {
    // 1,500 names beating now, every fifth without a record (gone), spread among the others:
    // a pruning read removes the rows' gone ones, and those past the rows move up.
    const now = await redisTime(r);
    for (const keys of await admin.shards()) {
      const members: string[] = [];
      for (let i = 0; i < 1_500; i++) members.push(String(now - ((i * 7_919) % 1_500)), `w${i}`);
      await r.sendCommand(["ZADD", keys.workers, ...members]);
      await Promise.all(
        Array.from({ length: 1_500 }, (_, i) =>
          i % 5 === 0
            ? null
            : r.sendCommand(["HSET", keys.worker(`w${i}`), "host", "h", "beat_ms", "600000"]),
        ),
      );
    }
    // Counted after the prune, by index, those moved into the rows' places were skipped:
    // 1040, 1168, 1194 live.
    for (let read = 0; read < 3; read++) {
      const text = await runCli("info", ["--prefix", prefix, "--queue", "q"]);
      expect(/ workers: (\d+) live \(the /.exec(text.stdout)?.[1]).toBe("1200");
    }
    expect((await admin.metrics()).split("\n")).toContain('courier_workers_live{queue="q"} 1200');
  } finally {
    await admin.close();
  }
});

test("stale names past the rows: /metrics reads a few calls, and prunes the oldest", async () => {
  const prefix = testPrefix();
  await using q = await openQueue({ prefix, queue: "q" });
  await q.enqueue("t", null);
  await using r = await rawRedis();
  const admin = await Admin.connect({ redisUrl: redisUrl(), prefix, queue: "q" });
  try {
    const STALE = 5_000;
    const now = await redisTime(r);
    const shards = await admin.shards();
    for (const keys of shards) {
      const members: string[] = [];
      for (let i = 0; i < WORKERS_READ; i++) members.push(String(now - i), `w${i}`);
      for (let i = 0; i < STALE; i++) members.push(String(now - 3_600_000 - i), `stale${i}`);
      await r.sendCommand(["ZADD", keys.workers, ...members]);
      await Promise.all(
        Array.from({ length: WORKERS_READ }, (_, i) =>
          r.sendCommand(["HSET", keys.worker(`w${i}`), "host", "h", "beat_ms", "5000"]),
        ),
      );
    }
    const calls = spyCalls(admin);
    expect((await admin.metrics()).split("\n")).toContain(
      `courier_workers_live{queue="q"} ${WORKERS_READ}`,
    );
    // A page of names and one EXISTS per 1,000 past the rows: 5 of each a shard, every scrape.
    expect(calls.get("EXISTS") ?? 0).toBe(0);
    expect(calls.get("ZRANGE") ?? 0).toBeLessThanOrEqual(2 * shards.length);
    // Nothing pruned them when only /metrics read: the set grew with every restart.
    for (const keys of shards) {
      expect(await r.sendCommand(["ZCARD", keys.workers])).toBe(WORKERS_READ + STALE - 100);
    }
  } finally {
    await admin.close();
  }
});
