// `bun bench/id-moves.ts [jobs] [--kb N]`: the calls that move jobs by id (release at a stop,
// give-back of held entries, claims of lapsed and of own entries, `dead requeue ID…`) on jobs
// of N KB (default 500 jobs of 256 KB; give-back 100, the most a worker holds), on a
// redis-server of its own (persistence off). One JSON line per path: script calls, the longest
// calls' Redis time (SLOWLOG, every command logged), the largest reply a claim carried, the
// wall time, and how far the process' RSS rose above its start (sampled every 5 ms).
// docs/performance.md, "Calls that move jobs by id".
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Admin } from "../lib/admin/admin.ts";
import { buryEntries } from "../lib/engine/bury.ts";
import { claimLapsed, readOwnPending } from "../lib/engine/claim.ts";
import { giveBackEntries } from "../lib/engine/give-back.ts";
import { GROUP, type QueueKeys, queueKeys } from "../lib/engine/keys.ts";
import { scripts } from "../lib/engine/lua.ts";
import { releaseAll } from "../lib/engine/release.ts";
import { connect } from "../lib/redis/connect.ts";
import { findFreePort, startRedisServer } from "../lib/stack/redis-server.ts";

const argv = process.argv.slice(2);
const kbAt = argv.indexOf("--kb");
const KB = kbAt >= 0 ? Number(argv[kbAt + 1]) : 256;
const rest = argv.filter((_, i) => kbAt < 0 || (i !== kbAt && i !== kbAt + 1));
const JOBS = rest.length > 0 ? Number(rest[0]) : 500;
// Checked before a server starts: `--kb abc` ran on NaN-byte payloads.
if (![KB, JOBS].every((n) => Number.isInteger(n) && n > 0) || rest.length > 1) {
  console.error("usage: bun bench/id-moves.ts [jobs] [--kb N] (whole numbers above 0)");
  process.exit(2);
}
const PAYLOAD = JSON.stringify("x".repeat(KB * 1024 - 2));

const dir = mkdtempSync(join(tmpdir(), "courier-id-moves-"));
const server = await startRedisServer({
  port: await findFreePort(),
  dataDir: dir,
  persistence: false,
});
const client = await connect(server.url);
const send = (cmd: string[]) => client.sendCommand<unknown>(cmd);
// Loaded first, so that no call is counted twice (an EVALSHA refused NOSCRIPT, then its EVAL).
for (const s of Object.values(scripts)) await send(["SCRIPT", "LOAD", s.source]);

/** Fresh keys with `n` entries of PAYLOAD delivered to `consumer`; their entry ids. */
async function delivered(n: number, consumer: string): Promise<{ k: QueueKeys; ids: string[] }> {
  await send(["FLUSHALL", "SYNC"]);
  const k = queueKeys("bench", "q");
  await send(["XGROUP", "CREATE", k.stream, GROUP, "0", "MKSTREAM"]);
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    ids.push(
      String(await send(["XADD", k.stream, "*", "t", "echo", "p", PAYLOAD, "a", "0", "m", "3"])),
    );
  }
  await send([
    "XREADGROUP",
    "GROUP",
    GROUP,
    consumer,
    "COUNT",
    String(n),
    "STREAMS",
    k.stream,
    ">",
  ]);
  return { k, ids };
}

/** Runs `fn` with every command logged: its script calls, the longest ones, wall ms, RSS rise. */
async function measured(path: string, fn: () => Promise<{ moved: number; replyBytes?: number }>) {
  await send(["CONFIG", "SET", "slowlog-log-slower-than", "0", "slowlog-max-len", "100000"]);
  await send(["SLOWLOG", "RESET"]);
  Bun.gc(true);
  const rss = process.memoryUsage().rss;
  let peak = rss;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 5);
  const t0 = performance.now();
  const { moved, replyBytes } = await fn();
  const wall = performance.now() - t0;
  clearInterval(sampler);
  const grown = Math.max(peak, process.memoryUsage().rss) - rss;
  const log = (await send(["SLOWLOG", "GET", "100000"])) as [number, number, number, string[]][];
  await send(["CONFIG", "SET", "slowlog-log-slower-than", "10000"]);
  const calls = log.filter((e) => /^EVAL/i.test(String(e[3][0])));
  const us = calls.map((e) => Number(e[2])).sort((a, b) => b - a);
  const ms = (n = 0) => Math.round(n) / 1000;
  const row = { path, jobs: JOBS, kb: KB, moved, calls: calls.length, longestCallMs: ms(us[0]) };
  const next = { secondCallMs: ms(us[1]), medianCallMs: ms(us[Math.floor(us.length / 2)]) };
  const mb = (n: number) => Math.round((n / 1_048_576) * 10) / 10;
  console.log(
    JSON.stringify({
      ...row,
      ...next,
      replyMB: mb(replyBytes ?? 0),
      wallMs: Math.round(wall),
      peakRssGrowthMB: mb(grown),
    }),
  );
}

/** The bytes of a claim reply's fields, as the worker receives them. */
function fieldBytes(claimed: { kind: string; fields?: Record<string, string> }[]): number {
  let n = 0;
  for (const c of claimed)
    for (const [f, v] of Object.entries(c.fields ?? {})) n += f.length + v.length;
  return n;
}

async function release(): Promise<void> {
  const { k } = await delivered(JOBS, "w1");
  await measured("release", async () => ({
    moved: (await releaseAll(client, k, "w1", { most: 10_000 })) ?? 0,
  }));
}

async function giveBack(): Promise<void> {
  const { k, ids } = await delivered(100, "w1");
  await measured("give-back (100)", async () => {
    const verdicts = await giveBackEntries(client, k, "w1", ids);
    return { moved: verdicts.filter((v) => v === "back").length };
  });
}

/** Claims from 0-0 until the scan ends, as a worker with JOBS free slots. */
async function claims(mode: "others" | "own"): Promise<void> {
  const { k } = await delivered(JOBS, "w0");
  const lapsed = { minIdleMs: 0, failureTtlS: 900, deadMaxLen: 10_000, eventsMaxLen: 1000 };
  await measured(`claim ${mode}`, async () => {
    let cursor = "0-0";
    let moved = 0;
    let replyBytes = 0;
    do {
      const reply =
        mode === "own"
          ? await readOwnPending(client, k, { consumer: "w0", cursor, count: JOBS })
          : await claimLapsed(client, k, { consumer: "w1", cursor, count: JOBS, ...lapsed });
      moved += reply.claimed.length;
      replyBytes = Math.max(replyBytes, fieldBytes(reply.claimed));
      cursor = reply.cursor;
    } while (cursor !== "0-0");
    return { moved, replyBytes };
  });
}

async function requeueIds(): Promise<void> {
  const { k, ids } = await delivered(JOBS, "w1");
  const burials = ids.map((entryId) => ({ entryId, id: entryId, problem: "boom" }));
  const o = { consumer: "w1", failureTtlS: 900, deadMaxLen: 10_000, eventsMaxLen: 1000 };
  for (let i = 0; i < burials.length; i += 50)
    await buryEntries(client, k, o, burials.slice(i, i + 50));
  const admin = await Admin.connect({ redisUrl: server.url, prefix: "bench", queue: "q" });
  try {
    await measured("dead requeue ID…", async () => {
      const done = await admin.requeue(ids);
      return { moved: done.filter((d) => d.verdict === "requeued").length };
    });
  } finally {
    await admin.close();
  }
}

try {
  await release();
  await giveBack();
  await claims("others");
  await claims("own");
  await requeueIds();
} finally {
  await client.close();
  await server.stop(5_000);
  rmSync(dir, { recursive: true, force: true });
}
