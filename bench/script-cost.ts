// `bun bench/script-cost.ts [rounds] [--against <tree>]`: where a script's Redis time goes when
// a batch of one pays it alone (docs/performance.md, "Where a script's time goes"). On a private
// redis-server holding every script (as a queue's Redis does), variants of finish.lua, called
// the way a worker at concurrency 1 calls it (a batch of one that takes the next entry), and
// single Lua operations repeated in a loop, take turns for `rounds` rounds of 500 calls; each
// row gives `INFO commandstats` µs per EVALSHA (the commands a script runs included): the
// lowest round (other processes only ever add time) and the median, and the commands' own µs.
// `--against <tree>` adds that tree's finish.lua and enqueue.lua (another checkout's root);
// `--cold <MB>`: between calls the client writes to that much memory, pushing Redis' out of the
// CPU caches as a worker's own work, the kernel and other processes do between its calls.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "redis";
import { GROUP, MINUTES_KEPT, queueKeys } from "../lib/engine/keys.ts";
import { scripts } from "../lib/engine/lua.ts";
import { runTail } from "../lib/engine/outcome.ts";
import { findFreePort, startRedisServer } from "../lib/stack/redis-server.ts";
import { type Kind, variants } from "./_script-variants.ts";

const CALLS = 500;
const args = process.argv.slice(2);
const at = args.indexOf("--against");
const against = at >= 0 ? args[at + 1] : undefined;
const coldAt = args.indexOf("--cold");
const junk = new Int32Array(coldAt >= 0 ? Number(args[coldAt + 1]) * 262_144 : 0);
const rounds = Number(args.find((a, i) => /^\d+$/.test(a) && !args[i - 1]?.startsWith("--")) ?? 9);

const dir = mkdtempSync(join(tmpdir(), "courier-script-cost-"));
const server = await startRedisServer({
  port: await findFreePort(),
  dataDir: dir,
  persistence: false,
});
const redis = createClient({ url: server.url, RESP: 2 });
await redis.connect();
const send = (cmd: string[]) => redis.sendCommand(cmd);
const keys = queueKeys("cost", "q");
const finishKeys = [keys.stream, keys.events, keys.stats, keys.minutes, keys.durations, keys.dead];
finishKeys.push(keys.hasDependents, keys.endedParents);
// As finishRuns (lib/engine/finish.ts) writes a job's tail: run ms, attempt, max, enqueue time
// unknown, worker, task, payload, result.
const tail = runTail(0, 1, 3, null, "host-1234-abcd", "noop", '{"i":1}', "null");
// ARGV as lib/engine/finish.ts builds them for one auto-id job, taking one entry.
const finishArgs = (entry: string) => [
  ...[keys.resultPrefix, keys.recordPrefix, GROUP, "w1", "3600", "10000", String(MINUTES_KEPT)],
  ...["1", "1", "10000", "604800", "", entry, "", "0", "0", tail],
];

async function commandStats(): Promise<{ script: number; calls: number; inner: number }> {
  const text = String(await send(["INFO", "commandstats"]));
  const out = { script: 0, calls: 0, inner: 0 };
  for (const m of text.matchAll(/^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/gm)) {
    if (m[1] === "evalsha") [out.calls, out.script] = [Number(m[2]), Number(m[3])];
    else if (m[1] !== "config" && m[1] !== "info") out.inner += Number(m[3]);
  }
  return out;
}

async function fillStream(n: number): Promise<void> {
  await send(["DEL", keys.stream]);
  await send(["XGROUP", "CREATE", keys.stream, GROUP, "$", "MKSTREAM"]);
  for (let i = 0; i < n; i += 500) {
    const m = redis.multi();
    for (let j = 0; j < 500; j++) {
      m.addCommand([
        "XADD",
        keys.stream,
        "*",
        "t",
        "noop",
        "p",
        `{"i":${i + j}}`,
        "a",
        "0",
        "m",
        "3",
      ]);
    }
    await m.exec();
  }
}

async function readOne(): Promise<string> {
  const r = (await send([
    "XREADGROUP",
    "GROUP",
    GROUP,
    "w1",
    "COUNT",
    "1",
    "STREAMS",
    keys.stream,
    ">",
  ])) as unknown as [string, [string, string[]][]][] | null;
  return r?.[0]?.[1]?.[0]?.[0] ?? "0-1";
}

/**
 * µs per call of one variant over CALLS calls, and of the commands it ran. `finish`: each call
 * finishes the entry the last one took; `static`: finish's keys and arguments, nothing taken.
 */
async function round(sha: string, kind: Kind): Promise<[number, number]> {
  await fillStream(CALLS + 10);
  let entry = await readOne();
  await send(["CONFIG", "RESETSTAT"]);
  for (let i = 0; i < CALLS; i++) {
    for (let k = 0; k < junk.length; k += 16) junk[k] = i; // one write per 64-byte line
    if (kind === "bare") await send(["EVALSHA", sha, "0"]);
    else if (kind === "enqueue") await send(enqueueCall(sha, i));
    else if (kind === "static")
      await send(["EVALSHA", sha, "8", ...finishKeys, ...finishArgs(entry)]);
    else {
      const reply = (await send([
        "EVALSHA",
        sha,
        "8",
        ...finishKeys,
        ...finishArgs(entry),
      ])) as unknown;
      entry = (Array.isArray(reply) ? (reply[1] as [string][])?.[0]?.[0] : undefined) ?? entry;
    }
  }
  const s = await commandStats();
  return [s.script / s.calls, s.inner / s.calls];
}

let batches = 0; // every call a new batch: a receipt met again would answer at once
// One job per call, as Queue.enqueue sends it (lib/engine/enqueue.ts), each with its own receipt.
function enqueueCall(sha: string, i: number): string[] {
  const k = [
    keys.stream,
    keys.delayed,
    keys.stats,
    keys.receipt(`b${++batches}`),
    keys.meta,
    keys.events,
  ];
  const job = ["", "noop", `{"i":${i}}`, "3", "0", ""];
  return ["EVALSHA", sha, "6", ...k, keys.recordPrefix, "60000", "2", "", "6", ...job];
}

const rows = await variants(scripts, against);
for (const s of Object.values(scripts)) await send(["SCRIPT", "LOAD", s.source]);
for (let i = 0; i < 100; i++) {
  await send([
    "XADD",
    keys.events,
    "MAXLEN",
    "~",
    "10000",
    "*",
    "type",
    "finished",
    "ids",
    `${i}-0`,
  ]);
}
const shas = await Promise.all(
  rows.map(async (r) => String(await send(["SCRIPT", "LOAD", r.lua]))),
);
const times = rows.map(() => [] as [number, number][]);
for (let r = 0; r < rounds; r++) {
  for (const [i, row] of rows.entries()) times[i]!.push(await round(shas[i]!, row.kind));
}
const load = (await Bun.file("/proc/loadavg").text()).split(" ").slice(0, 3).join(" ");
const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;
const lowest = (i: number) => Math.min(...times[i]!.map((x) => x[0]));
const mid = (i: number, k: 0 | 1) => median(times[i]!.map((x) => x[k]));
console.log(`Load average ${load}; ${rounds} rounds of ${CALLS} calls per row, taking turns.`);
console.log("A row `per op` is (its time - the first `static` row's) / its repeats.\n");
console.log(
  "| variant | µs per call: lowest round | median | its commands' own µs |\n|---|--:|--:|--:|",
);
const base = rows.findIndex((r) => r.kind === "static");
for (const [i, row] of rows.entries()) {
  const [d, per] = row.repeats ? [base, row.repeats] : [-1, 1];
  const less = (v: (j: number) => number) => (v(i) - (d >= 0 ? v(d) : 0)) / per;
  const cells = [less(lowest), less((j) => mid(j, 0)), less((j) => mid(j, 1))];
  console.log(`| ${row.name} | ${cells.map((c) => c.toFixed(2)).join(" | ")} |`);
}
await redis.quit();
await server.stop(5_000);
rmSync(dir, { recursive: true, force: true });
