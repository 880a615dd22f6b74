// Redis time per job of the BUILT v2 engine (lib/engine/: enqueueJobs, finishJobs), measured
// as measure.ts measures the prototype: INFO commandstats (top-level commands only: a script's
// usec includes the commands it runs) and INFO cpu, on a throwaway redis-server (persistence
// off), calls in a row on one connection (Redis' cost per job, not throughput). Not a test.
//   bun bench/prototype-v2/measure-lib.ts [jobs] [batch]
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { enqueueJobs, prepareBatch } from "../../lib/engine/enqueue.ts";
import { parseEntry } from "../../lib/engine/entry.ts";
import { type FinishItem, finishJobs, type TakenEntry } from "../../lib/engine/finish.ts";
import { GROUP, queueKeys } from "../../lib/engine/keys.ts";
import { connect, type Redis } from "../../lib/redis/connect.ts";
import { findFreePort, startRedisServer } from "../../lib/stack/redis-server.ts";

const N = Number(process.argv[2] ?? 40_000);
const BATCH = Number(process.argv[3] ?? 128);
const ENQ_BATCH = 500;
const PAYLOAD = JSON.stringify({ url: "https://www.example.org/articles/100000" });
const RESULT = JSON.stringify({ ok: true });
const keys = queueKeys("courier", "q");
const W = { consumer: "w1", resultTtlS: 3600, eventsMaxLen: 10_000 };

async function info(r: Redis, section: string): Promise<string> {
  return String(await r.sendCommand(["INFO", section]));
}
const num = (text: string, k: string) => Number(new RegExp(`${k}:([\\d.]+)`).exec(text)![1]);

async function phase(r: Redis, name: string, top: string[], fn: () => Promise<void>) {
  await r.sendCommand(["CONFIG", "RESETSTAT"]);
  const c0 = await info(r, "cpu");
  const m0 = num(await info(r, "memory"), "used_memory");
  await fn();
  const c1 = await info(r, "cpu");
  const m1 = num(await info(r, "memory"), "used_memory");
  const cpu = (t: string) => num(t, "used_cpu_user") + num(t, "used_cpu_sys");
  let usec = 0;
  const calls: string[] = [];
  for (const m of (await info(r, "commandstats")).matchAll(
    /^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/gm,
  )) {
    if (top.includes(m[1]!)) usec += Number(m[3]);
    if (!["info", "config"].includes(m[1]!)) calls.push(`${m[1]} ${(Number(m[2]) / N).toFixed(3)}`);
  }
  const line = {
    phase: name,
    jobs: N,
    usecPerJob: +(usec / N).toFixed(2),
    cpuUsPerJob: +(((cpu(c1) - cpu(c0)) * 1e6) / N).toFixed(2),
    memoryBytesPerJob: Math.round((m1 - m0) / N),
    callsPerJob: calls.join(", "),
  };
  console.log(JSON.stringify(line));
}

const item = ([entryId, fields]: TakenEntry): FinishItem => {
  const c = parseEntry(entryId, fields);
  if (!c.ok) throw new Error(c.problem);
  const j = c.job;
  return {
    entryId,
    jobId: j.jobId,
    hasRecord: j.hasRecord,
    runMs: 1,
    attempt: j.attemptsBefore + 1,
    maxAttempts: j.maxAttempts,
    enqueuedAt: null,
    worker: W.consumer,
    task: j.task,
    payload: j.payload,
    result: RESULT,
  };
};

async function enqueueAll(r: Redis) {
  for (let i = 0; i < N; i += ENQ_BATCH) {
    const n = Math.min(ENQ_BATCH, N - i);
    const jobs = Array.from({ length: n }, () => ({
      task: "noop",
      payload: PAYLOAD,
      maxAttempts: 3,
    }));
    await enqueueJobs(r, keys, prepareBatch(jobs));
  }
}

async function read(r: Redis): Promise<TakenEntry[]> {
  const args = ["XREADGROUP", "GROUP", GROUP, "w1", "COUNT", String(BATCH), "STREAMS"];
  const reply = await r.sendCommand<[string, TakenEntry[]][] | null>([...args, keys.stream, ">"]);
  return reply ? reply[0]![1] : [];
}

const dir = mkdtempSync(join(tmpdir(), "courier-v2-lib-"));
const server = await startRedisServer({
  port: await findFreePort(),
  dataDir: dir,
  persistence: false,
});
const r = await connect(server.url);
try {
  const fresh = async () => {
    await r.sendCommand(["FLUSHALL", "SYNC"]);
    await r.sendCommand(["XGROUP", "CREATE", keys.stream, GROUP, "0", "MKSTREAM"]);
  };
  await fresh();
  await phase(r, "enqueue v2 lib: enqueueJobs, batches of 500", ["evalsha", "eval"], () =>
    enqueueAll(r),
  );
  await phase(
    r,
    `process v2 lib: XREADGROUP ${BATCH} + finishJobs`,
    ["evalsha", "eval", "xreadgroup"],
    async () => {
      for (let got = await read(r); got.length > 0; got = await read(r)) {
        await finishJobs(r, keys, W, got.map(item));
      }
    },
  );
  await fresh();
  await enqueueAll(r);
  await phase(
    r,
    `process v2 lib: finishJobs taking the next ${BATCH}`,
    ["evalsha", "eval", "xreadgroup"],
    async () => {
      for (let got = await read(r); got.length > 0; ) {
        got = (await finishJobs(r, keys, W, got.map(item), BATCH)).taken;
      }
    },
  );
  await fresh();
  await enqueueAll(r);
  const t0 = performance.now();
  await phase(
    r,
    "process v2 lib, concurrency 1: finishJobs taking the next 1",
    ["evalsha", "eval", "xreadgroup"],
    async () => {
      const first = await r.sendCommand<[string, TakenEntry[]][]>([
        "XREADGROUP",
        "GROUP",
        GROUP,
        "w1",
        "COUNT",
        "1",
        "STREAMS",
        keys.stream,
        ">",
      ]);
      for (let got = first[0]![1]; got.length > 0; ) {
        got = (await finishJobs(r, keys, W, got.map(item), 1)).taken;
      }
    },
  );
  console.log(
    JSON.stringify({
      phase: "concurrency 1, wall per call in a row (no task)",
      usPerJob: +(((performance.now() - t0) * 1000) / N).toFixed(1),
    }),
  );
} finally {
  r.destroy();
  await server.stop(2_000);
  rmSync(dir, { recursive: true, force: true });
}
