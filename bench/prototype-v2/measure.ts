// PROTOTYPE (not imported by anything): Redis time per job of Engine v2's proposed commands vs
// the current scripts, from INFO commandstats (top-level commands only: a script's usec already
// includes the commands it runs) and INFO cpu, on a throwaway redis-server (persistence off).
// Sequential calls on one connection: this measures Redis' cost per job, not throughput.
//   bun bench/prototype-v2/measure.ts [jobs] [batch]
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runScript, script } from "../../lib/engine/lua.ts";
import { connect, type Redis } from "../../lib/redis/connect.ts";
import { findFreePort, startRedisServer } from "../../lib/stack/redis-server.ts";
import enqueueV2 from "./enqueue.lua" with { type: "text" };
import finishV2 from "./finish.lua" with { type: "text" };
// v1's enqueue script, kept here for this comparison only (the library enqueues through v2).
import enqueueV1Src from "./v1-enqueue.lua" with { type: "text" };

const enqueueV1Script = script("enqueue", enqueueV1Src, 3, "v1-enqueue.lua");

const N = Number(process.argv[2] ?? 40_000);
const BATCH = Number(process.argv[3] ?? 128);
const ENQ_BATCH = 500;
const PAYLOAD = JSON.stringify({ url: "https://www.example.org/articles/100000" });
const RESULT = JSON.stringify({ ok: true });
const S = "courier:{q}:stream";
const K = [
  "courier:{q}:stream",
  "courier:{q}:events",
  "courier:{q}:stats",
  "courier:{q}:stats:minutes",
  "courier:{q}:stats:durations",
];

type Stats = Map<string, { calls: number; usec: number }>;
async function stats(r: Redis): Promise<Stats> {
  const text = String(await r.sendCommand(["INFO", "commandstats"]));
  const out: Stats = new Map();
  for (const m of text.matchAll(/^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/gm))
    out.set(m[1]!, { calls: Number(m[2]), usec: Number(m[3]) });
  return out;
}
async function cpu(r: Redis): Promise<number> {
  const t = String(await r.sendCommand(["INFO", "cpu"]));
  const g = (k: string) => Number(new RegExp(`${k}:([\\d.]+)`).exec(t)![1]);
  return g("used_cpu_user") + g("used_cpu_sys");
}
/**
 * µs per job from commandstats, counting only the named top-level commands: the usec of a script
 * (evalsha) or of EXEC includes the commands it runs, which are also listed under their own names.
 */
async function phase(r: Redis, name: string, top: string[], fn: () => Promise<void>) {
  await r.sendCommand(["CONFIG", "RESETSTAT"]);
  const c0 = await cpu(r);
  const t0 = performance.now();
  await fn();
  const ms = performance.now() - t0;
  const c1 = await cpu(r);
  const s = await stats(r);
  let usec = 0;
  const parts: string[] = [];
  for (const [cmd, v] of s) {
    if (top.includes(cmd)) usec += v.usec;
    if (!["info", "config"].includes(cmd))
      parts.push(`${cmd} ${(v.calls / N).toFixed(3)}/${(v.usec / N).toFixed(2)}`);
  }
  console.log(
    JSON.stringify({
      phase: name,
      jobs: N,
      usecPerJob: +(usec / N).toFixed(2),
      cpuUsPerJob: +(((c1 - c0) * 1e6) / N).toFixed(2),
      wallMs: Math.round(ms),
      commands: parts.join(", "),
    }),
  );
}
const sha = (src: string) => new Bun.CryptoHasher("sha1").update(src).digest("hex");
async function evalsha(
  r: Redis,
  src: string,
  keys: string[],
  args: (string | number)[],
): Promise<unknown> {
  const tail = [String(keys.length), ...keys, ...args.map(String)];
  try {
    return await r.sendCommand(["EVALSHA", sha(src), ...tail]);
  } catch {
    return await r.sendCommand(["EVAL", src, ...tail]);
  }
}

const dir = mkdtempSync(join(tmpdir(), "courier-v2-proto-"));
const server = await startRedisServer({
  port: await findFreePort(),
  dataDir: dir,
  persistence: false,
});
const r = await connect(server.url);
try {
  const flush = () => r.sendCommand(["FLUSHALL", "SYNC"]);
  const group = () => r.sendCommand(["XGROUP", "CREATE", S, "workers", "0", "MKSTREAM"]);
  // --- enqueue
  const xaddArgs = () => [S, "*", "t", "noop", "p", PAYLOAD, "a", "0", "m", "3"];
  await flush();
  await phase(r, "enqueue v2: pipelined XADD", ["xadd"], async () => {
    for (let i = 0; i < N; i += ENQ_BATCH)
      await Promise.all(
        Array.from({ length: Math.min(ENQ_BATCH, N - i) }, () =>
          r.sendCommand(["XADD", ...xaddArgs()]),
        ),
      );
  });
  await flush();
  await phase(r, "enqueue v2: MULTI + XADD per batch", ["multi", "exec"], async () => {
    for (let i = 0; i < N; i += ENQ_BATCH) {
      const m = r.multi();
      for (let j = 0; j < Math.min(ENQ_BATCH, N - i); j++) m.addCommand(["XADD", ...xaddArgs()]);
      await m.exec();
    }
  });
  await flush();
  await phase(
    r,
    "enqueue v2: one script per batch (XADD per job, receipt)",
    ["evalsha", "eval"],
    async () => {
      for (let i = 0; i < N; i += ENQ_BATCH) {
        const args: string[] = ["600000"];
        for (let j = 0; j < Math.min(ENQ_BATCH, N - i); j++) args.push("noop", PAYLOAD, "0", "3");
        await evalsha(r, enqueueV2, [S, `courier:{q}:receipt:${Bun.randomUUIDv7()}`], args);
      }
    },
  );
  await flush();
  const jobPrefix = "courier:{q}:job:";
  const enqueueV1 = async () => {
    for (let i = 0; i < N; i += ENQ_BATCH) {
      const args: string[] = [jobPrefix, "0"];
      for (let j = 0; j < Math.min(ENQ_BATCH, N - i); j++)
        args.push(Bun.randomUUIDv7(), "noop", PAYLOAD, "3", "0");
      await runScript(r, enqueueV1Script, [S, "courier:{q}:delayed", "courier:{q}:stats"], args);
    }
  };
  await phase(r, "enqueue v1: enqueue-3.lua (fresh ids, no check)", ["evalsha", "eval"], enqueueV1);

  // --- processing, current scripts: take (start-7) + finish-5 per batch
  await group();
  // (The v1 processing phase, start-7 take + finish-5, went with those scripts when the
  // worker moved to v2; its figures are in docs/internals.md, "Decisions and departures" and results-run*.jsonl.)

  // --- processing, v2: plain XREADGROUP + finish script; and finish that takes the next
  await flush();
  await phase(r, "(v2 enqueue for the next phase)", [], async () => {
    for (let i = 0; i < N; i += ENQ_BATCH)
      await Promise.all(
        Array.from({ length: Math.min(ENQ_BATCH, N - i) }, () =>
          r.sendCommand(["XADD", ...xaddArgs()]),
        ),
      );
  });
  await group();
  const resPrefix = "courier:{q}:r:";
  const finishArgs = (entries: [string, string[]][], take: number) => {
    const a: (string | number)[] = [resPrefix, "workers", "w1", 3600, 10000, take];
    // What `result` shows of a finished job rides in its result value: attempt, max, worker,
    // enqueued ms (the entry id), task, payload, result.
    for (const [id, f] of entries)
      a.push(id, id, 1, `1 3 w1 ${id.split("-")[0]} ${f[1]}\n${f[3]}\n${RESULT}`);
    return a;
  };
  await phase(
    r,
    `process v2: XREADGROUP COUNT ${BATCH} + finish (SET NX EX)`,
    ["evalsha", "eval", "xreadgroup"],
    async () => {
      for (let done = 0; done < N; ) {
        const read = (await r.sendCommand([
          "XREADGROUP",
          "GROUP",
          "workers",
          "w1",
          "COUNT",
          String(BATCH),
          "STREAMS",
          S,
          ">",
        ])) as [string, [string, string[]][]][];
        const entries = read[0]![1];
        await evalsha(r, finishV2, K, finishArgs(entries, 0));
        done += entries.length;
      }
    },
  );
  await flush();
  await phase(r, "(v2 enqueue for the next phase)", [], async () => {
    for (let i = 0; i < N; i += ENQ_BATCH)
      await Promise.all(
        Array.from({ length: Math.min(ENQ_BATCH, N - i) }, () =>
          r.sendCommand(["XADD", ...xaddArgs()]),
        ),
      );
  });
  await group();
  await phase(
    r,
    `process v2: finish takes the next ${BATCH} (one call per batch; the first XREADGROUP, 1 call, not counted)`,
    ["evalsha", "eval"],
    async () => {
      const first = (await r.sendCommand([
        "XREADGROUP",
        "GROUP",
        "workers",
        "w1",
        "COUNT",
        String(BATCH),
        "STREAMS",
        S,
        ">",
      ])) as [string, [string, string[]][]][];
      let entries = first[0]![1];
      for (let done = 0; done < N; ) {
        const reply = (await evalsha(r, finishV2, K, finishArgs(entries, BATCH))) as [
          number[],
          [string, string[]][],
        ];
        done += entries.length;
        entries = reply[1];
        if (entries.length === 0) break;
      }
    },
  );
  // concurrency 1: one job per call, the finish taking the next
  const N1 = Math.min(N, 10_000);
  await flush();
  for (let i = 0; i < N1; i += ENQ_BATCH)
    await Promise.all(
      Array.from({ length: Math.min(ENQ_BATCH, N1 - i) }, () =>
        r.sendCommand(["XADD", ...xaddArgs()]),
      ),
    );
  await group();
  const t1 = performance.now();
  await r.sendCommand(["CONFIG", "RESETSTAT"]);
  const first = (await r.sendCommand([
    "XREADGROUP",
    "GROUP",
    "workers",
    "w1",
    "COUNT",
    "1",
    "STREAMS",
    S,
    ">",
  ])) as [string, [string, string[]][]][];
  let one = first[0]![1];
  let done = 0;
  while (one.length > 0) {
    const reply = (await evalsha(r, finishV2, K, finishArgs(one, 1))) as [
      number[],
      [string, string[]][],
    ];
    done += one.length;
    one = reply[1];
  }
  const s1 = await stats(r);
  const us1 = ((s1.get("evalsha")?.usec ?? 0) + (s1.get("eval")?.usec ?? 0)) / done;
  console.log(
    JSON.stringify({
      phase: "process v2, concurrency 1: finish takes the next (one call per job)",
      jobs: done,
      usecPerJob: +us1.toFixed(2),
      callsPerJobSequential:
        +(((performance.now() - t1) * 1000) / done).toFixed(1) +
        " µs wall per job (no task, one connection)",
    }),
  );
  // memory: per queued entry and per kept result
  await flush();
  const mem = async () =>
    Number(/used_memory:(\d+)/.exec(String(await r.sendCommand(["INFO", "memory"])))![1]);
  await group();
  const m0 = await mem();
  for (let i = 0; i < N; i += ENQ_BATCH)
    await Promise.all(
      Array.from({ length: Math.min(ENQ_BATCH, N - i) }, () =>
        r.sendCommand(["XADD", ...xaddArgs()]),
      ),
    );
  const m1 = await mem();
  for (let done2 = 0; done2 < N; ) {
    const read = (await r.sendCommand([
      "XREADGROUP",
      "GROUP",
      "workers",
      "w1",
      "COUNT",
      String(BATCH),
      "STREAMS",
      S,
      ">",
    ])) as [string, [string, string[]][]][];
    const entries = read[0]![1];
    await evalsha(r, finishV2, K, finishArgs(entries, 0));
    done2 += entries.length;
  }
  const m2 = await mem();
  console.log(
    JSON.stringify({
      phase: "memory v2",
      queuedBytesPerJob: Math.round((m1 - m0) / N),
      keptResultBytesPerJob: Math.round((m2 - m0) / N),
      result: RESULT,
      payloadChars: PAYLOAD.length,
    }),
  );
  // delivery counts: does re-reading own pending (XREADGROUP … 0) bump them?
  await flush();
  await group();
  await r.sendCommand(["XADD", ...xaddArgs()]);
  await r.sendCommand(["XREADGROUP", "GROUP", "workers", "w1", "COUNT", "1", "STREAMS", S, ">"]);
  await r.sendCommand(["XREADGROUP", "GROUP", "workers", "w1", "COUNT", "1", "STREAMS", S, "0"]);
  const p = (await r.sendCommand(["XPENDING", S, "workers", "-", "+", "1"])) as [
    string,
    string,
    number,
    number,
  ][];
  const e = p[0]![0];
  await r.sendCommand(["XCLAIM", S, "workers", "w1", "0", e, "JUSTID"]);
  const p2 = (await r.sendCommand(["XPENDING", S, "workers", "-", "+", "1"])) as [
    string,
    string,
    number,
    number,
  ][];
  await r.sendCommand(["XAUTOCLAIM", S, "workers", "w2", "0", "0-0"]);
  const p3 = (await r.sendCommand(["XPENDING", S, "workers", "-", "+", "1"])) as [
    string,
    string,
    number,
    number,
  ][];
  console.log(
    JSON.stringify({
      phase: "delivery counts",
      afterReadThenOwnReread: p[0]![3],
      afterXclaimJustid: p2[0]![3],
      afterXautoclaim: p3[0]![3],
    }),
  );
} finally {
  r.destroy();
  await server.stop(5_000);
  rmSync(dir, { recursive: true, force: true });
}
