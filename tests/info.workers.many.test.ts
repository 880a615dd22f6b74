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
