// When outcomes are written (lib/worker/outcomes.ts, Outcomes.add): an outcome no other can
// join (nothing else running here: concurrency 1, or one job at a time) goes out before the
// event loop's next turn; outcomes of jobs running side by side still wait for that turn and
// share one call.
import { describe, expect, test } from "bun:test";
import { queueKeys } from "../lib/engine/keys.ts";
import { scripts } from "../lib/engine/lua.ts";
import { resolveOptions } from "../lib/options.ts";
import { connect, type Redis } from "../lib/redis/connect.ts";
import type { Task } from "../lib/types.ts";
import { type Outcome, Outcomes } from "../lib/worker/outcomes.ts";
import { enqueue, freshQueue, jobs } from "./fixtures/engine.ts";
import { nodeUrlOf, pinShards, rawRedis, startWorker, until } from "./helpers.ts";

pinShards(1);

/** Answers finish calls with 1 per outcome (and nothing taken), and records every call. */
function fakeRedis() {
  const calls: string[][] = [];
  const client = {
    sendCommand: async (args: string[]) => {
      calls.push(args);
      return [args.filter((a) => a.startsWith("e-")).map(() => 1), []];
    },
  };
  return { client: client as unknown as Redis, calls };
}

const finish = (n: string): Outcome => ({
  kind: "finish",
  entryId: `e-${n}`,
  jobId: n,
  job: {
    ...{ entryId: `e-${n}`, jobId: n, task: "t", payload: "null", attempt: 1, maxAttempts: 3 },
    ...{ runNo: 1, hasRecord: false, deliveries: 1 },
  },
  runMs: 1,
  result: "null",
});

function outcomes(client: Redis) {
  const o = resolveOptions({ reconnectMaxMs: 10 });
  return new Outcomes(
    () => [client],
    queueKeys("t", "q"),
    o,
    () => {},
    () => {},
  );
}

/** How many calls were made by the time the event loop's next turn came. */
async function callsAtNextTurn(calls: unknown[], add: () => void): Promise<number> {
  const atTurn = new Promise<number>((resolve) => setImmediate(() => resolve(calls.length)));
  add();
  return atTurn;
}

describe("when an outcome is written", () => {
  test("alone: before the event loop's next turn", async () => {
    const { client, calls } = fakeRedis();
    const s = outcomes(client);
    expect(await callsAtNextTurn(calls, () => s.add(finish("a"), true))).toBe(1);
    await s.drained();
  });

  test("not alone: at the next turn, in one call with those added meanwhile", async () => {
    const { client, calls } = fakeRedis();
    const s = outcomes(client);
    const atTurn = callsAtNextTurn(calls, () => s.add(finish("a")));
    await null;
    s.add(finish("b"));
    await null;
    s.add(finish("c"));
    expect(await atTurn).toBe(0);
    await s.drained();
    expect(calls.length).toBe(1);
    expect(calls[0]!.filter((a) => a.startsWith("e-"))).toEqual(["e-a", "e-b", "e-c"]);
  });
});

/** Finish calls Redis ran for keys under `prefix` while `during` ran (MONITOR). */
async function finishCalls(prefix: string, during: () => Promise<void>): Promise<number> {
  // MONITOR is node-redis' own (one server's client), not part of Courier's Redis interface.
  const m = (await connect(await nodeUrlOf(queueKeys(prefix, "q").stream))) as Redis & {
    monitor: (listener: (line: string) => void) => Promise<void>;
  };
  let calls = 0;
  await m.monitor((line: string) => {
    if (line.includes(prefix) && line.includes(`"${scripts.finish.sha}"`)) calls++;
  });
  try {
    await during();
  } finally {
    m.destroy();
  }
  return calls;
}

describe("jobs running side by side", () => {
  test("that end in one turn, each a few steps after the other, are written in one call", async () => {
    await using r = await rawRedis();
    const keys = await freshQueue(r);
    const prefix = keys.stream.split(":{")[0]!;
    await enqueue(r, keys, jobs(8));
    // Job n ends n microtasks after the first: none ends in the same step as another.
    const staggered: Task = {
      name: "t",
      run: async (p) => {
        for (let i = 0; i < (p as { n: number }).n; i++) await null;
        return p;
      },
    };
    const timers = { heartbeatEveryMs: 60_000, promoteEveryMs: 60_000, claimIdleMs: 60_000 };
    const calls = await finishCalls(prefix, async () => {
      const w = await startWorker({
        prefix,
        queue: "q",
        tasks: [staggered],
        concurrency: 8,
        ...timers,
      });
      await until(() => w.processed === 8, "8 jobs finished");
      await w.stop();
    });
    expect(calls).toBe(1);
  });
});
