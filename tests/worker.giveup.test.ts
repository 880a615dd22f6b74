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
import { pinShards, rawRedis } from "./helpers.ts";

pinShards(1); // a queue built by hand (freshQueue)

for (const kind of ["finish", "fail"] as const) {
  test(`a ${kind} given up over its record: the next run is a claim's, attempt and fence one up`, async () => {
    await using r = await rawRedis();
    const keys = await freshQueue(r);
    const [queued] = await enqueue(r, keys, jobs(1, { id: "kept-1" }));
    const [[entry]] = (await take(r, keys, "w", 1)) as [[string, string[]]];
    expect(await r.sendCommand(["TYPE", keys.record(queued!.id)])).toBe("hash");
    // Redis refuses this job's outcome call over its record, every time.
    const refusing = {
      sendCommand: (args: string[]) =>
        args[0] === "EVALSHA" && args.includes(entry)
          ? Promise.reject(new ErrorReply("ERR user_script:1: attempt to index a nil value"))
          : r.sendCommand(args),
    } as unknown as Redis;
    const replies: number[] = [];
    const o = resolveOptions({ name: "w", reconnectMaxMs: 10 });
    const outcomes = new Outcomes(
      () => [refusing],
      keys,
      o,
      (_, reply) => replies.push(reply),
      () => {},
    );
    const job = {
      ...{ entryId: entry, jobId: queued!.id, task: "t", payload: "null", attempt: 1 },
      ...{ maxAttempts: 3, runNo: 1, hasRecord: true, deliveries: 1 },
    };
    const given: Outcome =
      kind === "finish"
        ? { kind, entryId: entry, jobId: job.jobId, job, runMs: 1, result: "null" }
        : { kind, entryId: entry, jobId: job.jobId, job, runMs: 1, error: "x", retryInMs: 0 };
    outcomes.add(given);
    await outcomes.drained();
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
// written.
for (const kind of ["finish", "fail"] as const) {
  test(`a ${kind} refused over a job with no record: dead-lettered with the refusal`, async () => {
    await using r = await rawRedis();
    const keys = await freshQueue(r);
    const [queued] = await enqueue(r, keys, jobs(1));
    const [[entry]] = (await take(r, keys, "w", 1)) as [[string, string[]]];
    expect(await r.sendCommand(["TYPE", keys.record(queued!.id)])).toBe("none");
    // The outcome's own call is refused (its text carries the outcome); a burial is not.
    const refusing = {
      sendCommand: (args: string[]) =>
        args[0] === "EVALSHA" && args.some((a) => a.includes("poison"))
          ? Promise.reject(new ErrorReply("ERR string exceeds maximum allowed size"))
          : r.sendCommand(args),
    } as unknown as Redis;
    const replies: number[] = [];
    const o = resolveOptions({ name: "w", reconnectMaxMs: 10 });
    const outcomes = new Outcomes(
      () => [refusing],
      keys,
      o,
      (_, reply) => replies.push(reply),
      () => {},
    );
    const job = {
      ...{ entryId: entry, jobId: queued!.id, task: "t", payload: "null", attempt: 1 },
      ...{ maxAttempts: 3, runNo: 1, hasRecord: false, deliveries: 1 },
    };
    const given: Outcome =
      kind === "finish"
        ? { kind, entryId: entry, jobId: job.jobId, job, runMs: 1, result: '"poison"' }
        : { kind, entryId: entry, jobId: job.jobId, job, runMs: 1, error: "poison", retryInMs: 0 };
    outcomes.add(given);
    await outcomes.drained();
    expect(replies).toEqual([BURIED]);
    const letters = (await r.sendCommand(["XRANGE", keys.dead, "-", "+"])) as [string, string[]][];
    expect(letters).toHaveLength(1);
    const fields = Object.fromEntries(
      letters[0]![1].flatMap((v, i, a) => (i % 2 === 0 ? [[v, a[i + 1]]] : [])),
    );
    expect(fields).toMatchObject({ id: queued!.id, task: "t" });
    expect(fields.error).toBe(
      "corrupt record: outcome not recorded: ERR string exceeds maximum allowed size",
    );
    expect(await pendingCount(r, keys)).toBe(0);
  });
}

// The burial refused too (the dead stream broken): the job is kept, its entry handed over for a
// claim, not acknowledged.
test("a refused outcome whose burial is refused too: the entry is kept for a claim", async () => {
  await using r = await rawRedis();
  const keys = await freshQueue(r);
  const [queued] = await enqueue(r, keys, jobs(1));
  const [[entry]] = (await take(r, keys, "w", 1)) as [[string, string[]]];
  const refusing = {
    sendCommand: (args: string[]) =>
      args[0] === "EVALSHA" && args.includes(entry)
        ? Promise.reject(new ErrorReply("ERR courier: stream dead has no ids left"))
        : r.sendCommand(args),
  } as unknown as Redis;
  const replies: number[] = [];
  const o = resolveOptions({ name: "w", reconnectMaxMs: 10 });
  const outcomes = new Outcomes(
    () => [refusing],
    keys,
    o,
    (_, reply) => replies.push(reply),
    () => {},
  );
  const job = {
    ...{ entryId: entry, jobId: queued!.id, task: "t", payload: "null", attempt: 1 },
    ...{ maxAttempts: 3, runNo: 1, hasRecord: false, deliveries: 1 },
  };
  outcomes.add({
    kind: "fail",
    entryId: entry,
    jobId: job.jobId,
    job,
    runMs: 1,
    error: "x",
    retryInMs: 0,
  });
  await outcomes.drained();
  expect(replies).toEqual([UNRECORDED]);
  const pending = (await r.sendCommand(["XPENDING", keys.stream, GROUP, "-", "+", "10"])) as [
    string,
    string,
  ][];
  expect(pending.map(([e, owner]) => [e, owner])).toEqual([[entry, "w~gone"]]);
});
