// A worker reads its own pending entries again after a connection came back: an entry whose
// outcome it is still writing is pending too, and the read's reply may arrive after that write
// landed. Such an entry is not lost and must not run again ("finished (duplicate run, first
// result kept)"; guarded by lib/worker/written.ts). On a real 3+3 cluster, the reply of the
// read held back until the outcome is written.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { defaults, type WorkerOptions } from "../lib/config.ts";
import { shardKeys } from "../lib/engine/keys.ts";
import { Queue } from "../lib/queue/queue.ts";
import { destroy } from "../lib/redis/close.ts";
import { connect, type Redis } from "../lib/redis/connect.ts";
import { type LocalCluster, startCluster } from "../lib/stack/cluster.ts";
import type { Task } from "../lib/types.ts";
import { ensureGroup } from "../lib/worker/entries.ts";
import { Jobs } from "../lib/worker/running.ts";
import { Source } from "../lib/worker/take.ts";
import { logRecorder, testPrefix, until } from "./helpers.ts";

let cluster: LocalCluster;
let client: Redis;

beforeAll(async () => {
  cluster = await startCluster({ fullCoverage: false });
  client = await connect(cluster.seedUrl, { persistent: true });
});

afterAll(async () => {
  if (client) destroy(client);
  await cluster?.stop();
});

test("a re-read of own pending entries skips one whose outcome was written meanwhile", async () => {
  const prefix = testPrefix();
  const all = shardKeys(prefix, "q", 6);
  for (const k of all) await ensureGroup(client, k);
  const queue = await Queue.connect({ redisUrl: cluster.seedUrl, prefix, queue: "q", shards: 6 });
  const id = await queue.enqueue("hold", {});
  await queue.close();
  const keys = all[Number(id.split(":").pop())]!;

  // The claim script's reply (mode "own") is held until `release`; the rest passes.
  let release = () => {};
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });
  let holding = false;
  const gated: Redis = Object.create(client);
  gated.sendCommand = async <T>(args: readonly string[]) => {
    const reply = await client.sendCommand<T>(args);
    if (holding && args.includes("own")) await held;
    return reply;
  };

  const o: WorkerOptions = { ...defaults, name: "w1", redisUrl: cluster.seedUrl, prefix };
  let done = () => {};
  const hold: Task = {
    name: "hold",
    run: () => new Promise((resolve) => (done = () => resolve("ok"))),
  };
  const log = logRecorder();
  const jobs = new Jobs(
    () => [client],
    keys,
    o,
    new Map([["hold", hold]]),
    log,
    () => {},
  );
  const source = new Source(
    { o, keys, tasks: new Set(["hold"]), compact: () => false },
    { client: () => gated, reader: () => gated },
    log,
    () => {},
    () => false,
    jobs.written,
  );
  const lane = { client: () => gated, stalled: () => {} };

  const first = await source.next(10, lane, false);
  expect(first.toRun.map((j) => j.jobId)).toEqual([id]);
  jobs.launch(first.toRun[0]!, "read");

  source.readLost(); // a connection came back
  holding = true;
  const again = source.next(10, lane, false); // the read is sent while the job runs
  done(); // the job ends; its outcome is written while the read's reply is held
  await until(() => jobs.processed === 1, "the outcome written");
  release();
  const reread = await again;
  // What the read loops start (lib/worker/lane-starts.ts): none whose outcome was written meanwhile.
  const started = reread.toRun.filter((j) => !reread.seen?.written.has(j.entryId));
  reread.seen?.done();
  expect(started).toEqual([]);
});
