// An outcome no call could record over its one record (a script error), whose job has a record
// to keep (docs/internals.md, "Fenced runs"): its entry is not acknowledged but handed over to
// `<name>~gone`, so that the job's next run comes through a claim, one delivery up, with a
// higher attempt and fence. Left pending on the worker's name, the worker's own claims would
// skip it and its own read would run it again with the same count: the same attempt and fence.
import { expect, test } from "bun:test";
import { ErrorReply } from "redis";
import { claimLapsed, readOwnPending } from "../lib/engine/claim.ts";
import { GROUP } from "../lib/engine/keys.ts";
import { compareFences, fenceOf } from "../lib/fence/fence.ts";
import { resolveOptions } from "../lib/options.ts";
import type { Redis } from "../lib/redis/connect.ts";
import { sortClaimed } from "../lib/worker/entries.ts";
import { BURIED, type Outcome, Outcomes, UNRECORDED } from "../lib/worker/outcomes.ts";
import { asClient, enqueue, freshQueue, jobs, pendingCount, take } from "./fixtures/engine.ts";
import { pinShards, type RawRedis, rawRedis } from "./helpers.ts";

pinShards(1); // a queue built by hand (freshQueue)

/** One job enqueued (with caller id `id`, or an auto id) and delivered to worker `w`. */
async function delivered(r: RawRedis, id?: string) {
  const keys = await freshQueue(r);
  const [queued] = await enqueue(r, keys, jobs(1, id === undefined ? {} : { id }));
  const [[entry]] = (await take(r, keys, "w", 1)) as [[string, string[]]];
  return { keys, entry, jobId: queued!.id };
}

/**
 * Writes the job's outcome of `kind` (its result or error `text`) through a worker's Outcomes on
 * a connection that refuses the calls `refused` picks with `reply`; returns what it reported.
 */
async function writeRefused(
  r: RawRedis,
  d: Awaited<ReturnType<typeof delivered>>,
  o: { kind: "finish" | "fail"; hasRecord: boolean; text: string },
  refused: (args: string[]) => boolean,
  reply: string,
): Promise<number[]> {
  const refusing = {
    sendCommand: (args: string[]) =>
      refused(args) ? Promise.reject(new ErrorReply(reply)) : r.sendCommand(args),
  } as unknown as Redis;
  const replies: number[] = [];
  const options = resolveOptions({ name: "w", reconnectMaxMs: 10 });
  const onWritten = (_: Outcome, code: number) => replies.push(code);
  const outcomes = new Outcomes(
    () => [refusing],
    d.keys,
    options,
    onWritten,
    () => {},
  );
  const job = {
    ...{ entryId: d.entry, jobId: d.jobId, task: "t", payload: "null", attempt: 1 },
    ...{ maxAttempts: 3, runNo: 1, hasRecord: o.hasRecord, deliveries: 1 },
  };
  const base = { entryId: d.entry, jobId: d.jobId, job, runMs: 1 };
  outcomes.add(
    o.kind === "finish"
      ? { ...base, kind: "finish", result: o.text }
      : { ...base, kind: "fail", error: o.text, retryInMs: 0 },
  );
  await outcomes.drained();
  return replies;
}

for (const kind of ["finish", "fail"] as const) {
  test(`a ${kind} given up over its record: the next run is a claim's, attempt and fence one up`, async () => {
    await using r = await rawRedis();
    const d = await delivered(r, "kept-1");
    const { keys, entry } = d;
    expect(await r.sendCommand(["TYPE", keys.record(d.jobId)])).toBe("hash");
    // Redis refuses this job's outcome call over its record, every time.
    const replies = await writeRefused(
      r,
      d,
      { kind, hasRecord: true, text: kind === "finish" ? "null" : "x" },
      (args) => args[0] === "EVALSHA" && args.includes(entry),
      "ERR user_script:1: attempt to index a nil value",
    );
    expect(replies).toEqual([UNRECORDED]);
    // Not the worker's own any more: its own read finds nothing, its claim takes it.
    const c = asClient(r);
    expect((await readOwnPending(c, keys, { consumer: "w", count: 10 })).claimed).toEqual([]);
    const claimOptions = { consumer: "w", minIdleMs: 0, count: 10, failureTtlS: 60 };
    const limits = { deadMaxLen: 100, eventsMaxLen: 100 };
    const claimed = await claimLapsed(c, keys, { ...claimOptions, ...limits });
    const [next] = sortClaimed(claimed.claimed, new Set(["t"])).run;
    expect(next).toMatchObject({ entryId: entry, attempt: 2, deliveries: 2 });
    expect(compareFences(fenceOf(entry, next!.deliveries), fenceOf(entry, 1))).toBe(1);
    const pending = (await r.sendCommand(["XPENDING", keys.stream, GROUP, "-", "+", "10"])) as [
      string,
      string,
      number,
      number,
    ][];
    expect(pending.map(([e, owner, , n]) => [e, owner, n])).toEqual([[entry, "w", 2]]);
  });
}

// A job with no record (an auto id: its entry is all there is of it) whose outcome Redis refuses
// over that job alone (a result too large for Redis, a failure whose letter a key refused): it
// is dead-lettered from its entry, the letter saying why, never acknowledged unlettered. Its
// entry was acknowledged and deleted, and the log said "see dead letters" of a letter never
// written. Its failed value is written under the job's id, auto or not: an auto id
// sent as none left the job unknown to `result` and to waits, whatever the letter said.
for (const kind of ["finish", "fail"] as const) {
  test(`a ${kind} refused over a job with no record: dead-lettered with the refusal`, async () => {
    await using r = await rawRedis();
    const d = await delivered(r);
    const { keys } = d;
    expect(await r.sendCommand(["TYPE", keys.record(d.jobId)])).toBe("none");
    // The outcome's own call is refused (its text carries the outcome); a burial is not.
    const replies = await writeRefused(
      r,
      d,
      { kind, hasRecord: false, text: kind === "finish" ? '"poison"' : "poison" },
      (args) => args[0] === "EVALSHA" && args.some((a) => a.includes("poison")),
      "ERR string exceeds maximum allowed size",
    );
    expect(replies).toEqual([BURIED]);
    const letters = (await r.sendCommand(["XRANGE", keys.dead, "-", "+"])) as [string, string[]][];
    expect(letters).toHaveLength(1);
    const fields = Object.fromEntries(
      letters[0]![1].flatMap((v, i, a) => (i % 2 === 0 ? [[v, a[i + 1]]] : [])),
    );
    // The attempt that ran (the entry's `a` is the attempts used before it: 0).
    expect(fields).toMatchObject({ id: d.jobId, task: "t", attempts: "1" });
    expect(fields.error).toBe(
      "corrupt record: outcome not recorded: ERR string exceeds maximum allowed size",
    );
    expect(await pendingCount(r, keys)).toBe(0);
    // The job failed for good under its auto id, as a buried entry's does: `result ID` says
    // failed and waitForJobs sees it end, where only a letter was written and the job read
    // back as unknown.
    const failed = String(await r.sendCommand(["GET", keys.result(d.jobId)]));
    expect(failed.startsWith("X")).toBe(true);
    expect(failed.split(" ")[2]).toBe("1"); // the outcome's attempt (lib/engine/outcome.ts)
    expect(failed).toContain("outcome not recorded");
  });
}

// The burial refused too (the dead stream broken): the job is kept, its entry handed over for a
// claim, not acknowledged.
test("a refused outcome whose burial is refused too: the entry is kept for a claim", async () => {
  await using r = await rawRedis();
  const d = await delivered(r);
  const { keys, entry } = d;
  const replies = await writeRefused(
    r,
    d,
    { kind: "fail", hasRecord: false, text: "x" },
    (args) => args[0] === "EVALSHA" && args.includes(entry),
    "ERR courier: stream dead has no ids left",
  );
  expect(replies).toEqual([UNRECORDED]);
  const pending = (await r.sendCommand(["XPENDING", keys.stream, GROUP, "-", "+", "10"])) as [
    string,
    string,
  ][];
  expect(pending.map(([e, owner]) => [e, owner])).toEqual([[entry, "w~gone"]]);
});
