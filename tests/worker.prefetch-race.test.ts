// Prefetch (lib/worker/prefetch.ts): a held entry whose give-back is out never starts here,
// even when the worker reads its own pending entries again meanwhile (after a connection
// blip): the give-back decides, and the job runs once. Its own file: the give-back call is
// mocked to hold it out at a point the test chooses.
import { afterAll, expect, mock, test } from "bun:test";
import * as claim from "../lib/engine/claim.ts";
import * as giveBack from "../lib/engine/give-back.ts";
import { GROUP } from "../lib/engine/keys.ts";
import type { Task } from "../lib/types.ts";
import { enqueue, freshQueue, jobs } from "./fixtures/engine.ts";
import { onOneServer, pinShards, rawRedis, startWorker, until } from "./helpers.ts";

pinShards(1);

const out = Promise.withResolvers<void>();
const allow = Promise.withResolvers<void>();
const landed = Promise.withResolvers<void>();
// The mocks outlive this file (`bun test --no-isolate` runs the next files in this process):
// they hold nothing back but while this file's test runs, and let every call through after it
// (or when the test is skipped, in the cluster pass).
let holding = false;
afterAll(() => {
  holding = false;
  allow.resolve();
});
const giveBackEntries = giveBack.giveBackEntries;
mock.module("../lib/engine/give-back.ts", () => ({
  giveBackEntries: async (...args: Parameters<typeof giveBackEntries>) => {
    if (!holding) return giveBackEntries(...args);
    out.resolve();
    await allow.promise; // the call is slow to go out (a busy connection)
    const verdicts = await giveBackEntries(...args);
    landed.resolve();
    return verdicts;
  },
}));

// The worker's read of its own pending entries (after the blip) came back.
const reread = Promise.withResolvers<void>();
const readOwnPending = claim.readOwnPending;
mock.module("../lib/engine/claim.ts", () => ({
  ...claim,
  readOwnPending: async (...args: Parameters<typeof readOwnPending>) => {
    const reply = await readOwnPending(...args);
    if (holding) reread.resolve();
    return reply;
  },
}));

// One server: the blip is a CLIENT KILL there (a cluster's worker talks to other nodes too).
test.if(onOneServer)(
  "an own re-read while a give-back is out does not start the entry: it runs once",
  async () => {
    await using r = await rawRedis();
    const keys = await freshQueue(r);
    const prefix = keys.stream.split(":{")[0]!;
    const got = await enqueue(r, keys, jobs(2));
    const gate = Promise.withResolvers<void>();
    const runs: number[] = [];
    const task: Task = {
      name: "t",
      run: async (p) => {
        const n = (p as { n: number }).n;
        runs.push(n);
        if (n === 0) await gate.promise;
        else await landed.promise; // a run started before the give-back landed outlasts it
        return p;
      },
    };
    const o = { prefix, queue: "q", name: "w1", tasks: [task], concurrency: 1 };
    holding = true;
    const w = await startWorker({
      ...o,
      heartbeatEveryMs: 60_000,
      claimIdleMs: 60_000,
      prefetch: 1,
      prefetchWaitMs: 100,
    });
    await out.promise; // job 1's entry held past 100 ms: its give-back is out
    // A connection blip: the worker reconnects and reads its own pending entries again.
    await r.sendCommand(["CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"]);
    gate.resolve(); // job 0 ends: its slot frees, the loop reads (own entries first)
    await reread.promise;
    allow.resolve(); // the give-back lands now
    await until(
      async () => (await r.sendCommand(["GET", keys.result(got[1]!.id)])) !== null,
      "job 1 done",
    );
    await until(
      async () => ((await r.sendCommand(["XPENDING", keys.stream, GROUP])) as [number])[0] === 0,
      "none pending",
    );
    await w.stop();
    holding = false;
    expect(runs).toEqual([0, 1]);
  },
);
