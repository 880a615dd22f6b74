// Outcomes (the writer, on the finish and fail scripts) against a scripted fake connection: a batched write that Redis refuses over one
// bad outcome is split so that only that outcome is isolated (and, its job having no record,
// dead-lettered: tests/worker.giveup.test.ts against Redis); a write refused for Redis' own
// state (out of memory) is retried whole, not split.
import { describe, expect, test } from "bun:test";
import { ErrorReply } from "redis";
import { queueKeys } from "../lib/engine/keys.ts";
import { scripts } from "../lib/engine/lua.ts";
import { resolveOptions } from "../lib/options.ts";
import type { Redis } from "../lib/redis/connect.ts";
import { BURIED, type Outcome, Outcomes, UNRECORDED } from "../lib/worker/outcomes.ts";

/**
 * Answers script calls with 1 per outcome, other commands with 1 (so TYPE says the job key is
 * not a hash: a record with nothing to lose), and refuses what `refuse` picks.
 */
function fakeRedis(refuse: (args: string[]) => Error | null) {
  const calls: string[][] = [];
  const client = {
    sendCommand: async (args: string[]) => {
      calls.push(args);
      const err = refuse(args);
      if (err) throw err;
      if (args[0] !== "EVALSHA") return 1;
      const codes = args.filter((a) => a.startsWith("e-")).map(() => 1);
      return args[1] === scripts.finish.sha ? [codes, []] : codes; // finish also says what it took
    },
  };
  return { client: client as unknown as Redis, calls };
}

/** An outcome's own call (finish or fail), not the burial of one given up. */
const outcomeCall = (args: string[]) =>
  args[0] === "EVALSHA" && (args[1] === scripts.finish.sha || args[1] === scripts.fail.sha);

/** The entries and job ids the worker buried (bury.lua's triples after its 9 arguments). */
function burials(calls: string[][]): string[][] {
  return calls
    .filter((c) => c[0] === "EVALSHA" && c[1] === scripts.bury.sha)
    .map((c) => {
      const args = c.slice(3 + Number(c[2]));
      return [args[9]!, args[10]!];
    });
}

const job = (n: string) => ({
  entryId: `e-${n}`,
  jobId: n,
  task: "t",
  payload: "null",
  attempt: 1,
  maxAttempts: 3,
  runNo: 1,
  hasRecord: false,
  deliveries: 1,
});
const finish = (n: string): Outcome => ({
  kind: "finish",
  entryId: `e-${n}`,
  jobId: n,
  job: job(n),
  runMs: 1,
  result: "null",
});
const failure = (n: string): Outcome => ({
  kind: "fail",
  entryId: `e-${n}`,
  jobId: n,
  job: job(n),
  runMs: 1,
  error: "boom",
  retryInMs: null,
});

function outcomes(client: Redis) {
  const replies = new Map<string, number>();
  const errors: unknown[] = [];
  const o = resolveOptions({ reconnectMaxMs: 10 });
  const s = new Outcomes(
    () => [client],
    queueKeys("t", "q"),
    o,
    (outcome, reply) => replies.set(outcome.jobId, reply),
    (err) => errors.push(err),
  );
  return { s, replies, errors };
}

describe("settling a batch with one bad outcome", () => {
  for (const make of [finish, failure]) {
    test(`a script error over one ${make("x").kind} settles the rest; the bad one is dead-lettered`, async () => {
      const { client, calls } = fakeRedis((args) =>
        outcomeCall(args) && args.includes("poison")
          ? new ErrorReply("ERR user_script:1: attempt to concatenate a nil value")
          : null,
      );
      const { s, replies, errors } = outcomes(client);
      for (const id of ["a", "b", "poison", "c"]) s.add(make(id));
      await s.drained();
      expect(Object.fromEntries(replies)).toEqual({ a: 1, b: 1, c: 1, poison: BURIED });
      expect(errors).toEqual([]);
      expect(burials(calls)).toEqual([["e-poison", "poison"]]);
      expect(calls.some((c) => c[0] === "XACK")).toBe(false);
      expect(s.size).toBe(0);
    });
  }

  test("the bad one of 64 is found by halving: 13 calls (1 + 2 per halving), not 65", async () => {
    const { client, calls } = fakeRedis((args) =>
      outcomeCall(args) && args.includes("poison") ? new ErrorReply("ERR boom") : null,
    );
    const { s, replies } = outcomes(client);
    const ids = Array.from({ length: 64 }, (_, i) => (i === 41 ? "poison" : `j${i}`));
    for (const id of ids) s.add(finish(id));
    await s.drained();
    expect(calls.filter(outcomeCall).length).toBe(1 + 2 * Math.log2(64));
    expect(replies.size).toBe(64);
    expect(replies.get("poison")).toBe(BURIED);
    expect([...replies.values()].filter((r) => r === 1).length).toBe(63);
    expect(burials(calls)).toEqual([["e-poison", "poison"]]);
  });

  test("one refused on its own whose job record is a hash is left pending, not acknowledged", async () => {
    const { client, calls } = fakeRedis((args) =>
      args[0] === "EVALSHA" && args.includes("poison") ? new ErrorReply("ERR boom") : null,
    );
    const typed = {
      sendCommand: (args: string[]) =>
        args[0] === "TYPE" ? Promise.resolve("hash") : client.sendCommand(args),
    } as unknown as Redis;
    const { s, replies } = outcomes(typed);
    for (const id of ["a", "poison"]) s.add(failure(id));
    await s.drained();
    expect(Object.fromEntries(replies)).toEqual({ a: 1, poison: UNRECORDED });
    expect(calls.some((c) => c[0] === "XACK")).toBe(false);
  });

  test("a refusal over a queue-wide key is retried whole: not split, nothing acknowledged", async () => {
    let refusals = 2;
    const { client, calls } = fakeRedis((args) =>
      args[0] === "EVALSHA" && refusals-- > 0
        ? new ErrorReply("ERR courier: key t:{q}:delayed holds a string, not a zset")
        : null,
    );
    const { s, replies, errors } = outcomes(client);
    for (const id of ["a", "b", "c"]) s.add(failure(id));
    await s.drained();
    expect(Object.fromEntries(replies)).toEqual({ a: 1, b: 1, c: 1 });
    expect(errors.length).toBe(2);
    expect(calls.filter((c) => c[0] === "EVALSHA").length).toBe(3);
    expect(calls.some((c) => c[0] === "XACK" || c[0] === "TYPE")).toBe(false);
  });

  test("an out-of-memory refusal is retried whole, not split", async () => {
    let oom = 2;
    const { client, calls } = fakeRedis((args) =>
      args[0] === "EVALSHA" && oom-- > 0 ? new ErrorReply("OOM command not allowed") : null,
    );
    const { s, replies, errors } = outcomes(client);
    for (const id of ["a", "b", "c"]) s.add(finish(id));
    await s.drained();
    expect(Object.fromEntries(replies)).toEqual({ a: 1, b: 1, c: 1 });
    expect(errors.length).toBe(2);
    // Three whole-batch calls (two refused), never one call per outcome.
    expect(calls.filter((c) => c[0] === "EVALSHA").length).toBe(3);
    expect(calls.some((c) => c[0] === "XACK")).toBe(false);
  });
});
