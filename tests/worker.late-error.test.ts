// A finish or fail call that Redis refuses after it wrote (Redis does not roll a script back):
// the events stream with no ids left fails the scripts' event XADD, after the outcome. The
// writer (lib/worker/outcome-writes.ts #giveUp, outcome-calls.ts writtenAnyway) finds the outcome and
// says WRITTEN, the entry acknowledged, not "corrupt record … (see dead letters)" nor "left
// pending for a claim".
import { describe, expect, test } from "bun:test";
import { GROUP, type QueueKeys } from "../lib/engine/keys.ts";
import { resolveOptions } from "../lib/options.ts";
import { type Outcome, Outcomes, WRITTEN } from "../lib/worker/outcomes.ts";
import { asClient, enqueue, freshQueue, take } from "./fixtures/engine.ts";
import { pendingCount, type RawRedis, rawRedis } from "./helpers.ts";

const MAX_ID = "18446744073709551615-18446744073709551615";

/** The events stream at the last id a stream can hold: every XADD '*' to it fails. */
async function eventsFull(r: RawRedis, keys: QueueKeys): Promise<void> {
  await r.sendCommand(["XADD", keys.events, MAX_ID, "x", "y"]);
  await r.sendCommand(["XDEL", keys.events, MAX_ID]);
}

function outcome(kind: "finish" | "fail", entryId: string, jobId: string): Outcome {
  const job = { entryId, jobId, task: "t", payload: "1", attempt: 1, maxAttempts: 1 };
  const started = { ...job, runNo: 1, hasRecord: jobId !== entryId, deliveries: 1 };
  return kind === "finish"
    ? { kind, entryId, jobId, job: started, runMs: 1, result: "1" }
    : { kind, entryId, jobId, job: started, runMs: 1, error: "boom", retryInMs: null };
}

describe("a call refused after it wrote", () => {
  for (const kind of ["finish", "fail"] as const) {
    for (const caller of [false, true]) {
      test(`${kind}, ${caller ? "a caller id (a record)" : "an auto id"}: WRITTEN, the outcome kept, the entry acknowledged`, async () => {
        await using r = await rawRedis();
        const keys = await freshQueue(r);
        await enqueue(r, keys, [
          { task: "t", payload: "1", maxAttempts: 1, ...(caller ? { id: "c-1" } : {}) },
        ]);
        const [[entryId]] = (await take(r, keys, "w1", 1)) as [[string, string[]]];
        const jobId = caller ? "c-1" : entryId;
        await eventsFull(r, keys);
        const replies: number[] = [];
        const errors: unknown[] = [];
        const o = resolveOptions({ name: "w1", reconnectMaxMs: 10 });
        const s = new Outcomes(
          () => [asClient(r)],
          keys,
          o,
          (_, reply) => replies.push(reply),
          (err) => errors.push(err),
        );
        s.add(outcome(kind, entryId, jobId));
        await s.drained();
        expect(replies).toEqual([WRITTEN]);
        expect(errors).toEqual([]);
        expect(await r.sendCommand(["TYPE", keys.result(jobId)])).toBe("string");
        expect(await pendingCount(r, keys)).toBe(0);
        expect(await r.sendCommand(["XLEN", keys.stream])).toBe(0);
        expect(await r.sendCommand(["XINFO", "GROUPS", keys.stream])).toContainEqual(
          expect.arrayContaining([GROUP]),
        );
      });
    }
  }
});
