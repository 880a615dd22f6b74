// A documented call given a value of the wrong kind (a JavaScript caller, or `as any`) is
// refused with a Courier error in one line naming what was wrong, nothing sent: before, these
// threw raw TypeErrors from deep inside ("specs is not an Object", "Cannot destructure property
// 'inFlight'", "null is not an object (evaluating 'config.queue')", node-redis' "arguments[2]
// must be of type string", "text.trim is not a function").
import { expect, test } from "bun:test";
import { parseDuration } from "../lib/admin/duration.ts";
import { parseRate } from "../lib/engine/rates.ts";
import { ConfigError, InputError } from "../lib/errors.ts";
import { Schedules } from "../lib/schedule/schedules.ts";
import { Worker } from "../lib/worker/worker.ts";
import { openQueue, redisUrl, testPrefix } from "./helpers.ts";

// biome-ignore lint/suspicious/noExplicitAny: the calls are given what their types forbid
const bad = (v: unknown) => v as any;

/** What `call` threw or rejected with (null: it did neither). */
async function refusal(call: () => unknown): Promise<unknown> {
  try {
    await call();
    return null;
  } catch (err) {
    return err;
  }
}

/** Drains an async iterable (the stream calls refuse at their first step). */
async function drain(items: AsyncIterable<unknown>): Promise<void> {
  for await (const _ of items);
}

test("the Queue's stream and batch calls refuse a source that is no iterable, nothing sent", async () => {
  await using q = await openQueue({ prefix: testPrefix() });
  const then = { task: "done", payload: null };
  const cases: [() => unknown, string][] = [
    [() => drain(q.enqueueStream(bad(null))), "enqueueStream takes an iterable of job specs"],
    [() => drain(q.enqueueStream(bad("ab"))), "enqueueStream takes an iterable of job specs"],
    // One spec where a list of them goes: an object, but no iterable.
    [() => drain(q.enqueueStream(bad(then))), "enqueueStream takes an iterable of job specs"],
    [() => drain(q.enqueueBatches(bad(5))), "enqueueBatches takes an iterable of job specs"],
    [() => q.enqueueBatch(bad(null), { then }), "enqueueBatch takes an iterable of job specs"],
    [() => q.enqueueBatch([], bad(undefined)), "enqueueBatch takes an object, got undefined"],
    [() => q.enqueueBatch([], bad({})), "enqueueBatch needs { then }"],
  ];
  for (const [call, line] of cases) {
    const err = await refusal(call);
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toStartWith(line);
    expect((err as Error).message).not.toContain("\n");
  }
  expect(await q.client.sendCommand(["EXISTS", q.keys.stream])).toBe(0);
});

test("Worker.start, Schedules' calls and the parse helpers refuse values of the wrong kind", async () => {
  const prefix = testPrefix();
  const s = await Schedules.connect({ redisUrl: redisUrl(), prefix });
  try {
    const cases: [() => unknown, typeof InputError | typeof ConfigError, string][] = [
      [() => Worker.start(bad(null)), ConfigError, "options must be an object, got null"],
      [() => Schedules.connect(bad(null)), ConfigError, "options must be an object, got null"],
      [() => s.get(bad(5)), InputError, "get: a schedule name must be a string, got 5"],
      [() => s.remove(bad(null)), InputError, "remove: a schedule name must be a string"],
      [() => s.pause(bad(undefined)), InputError, "pause: a schedule name must be a string"],
      [() => s.resume(bad({})), InputError, "resume: a schedule name must be a string"],
      [() => s.add(bad(null)), InputError, "a schedule must be an object { name, task, … }"],
      [() => parseDuration(bad(5)), InputError, "a duration is text (e.g. 5m), got 5"],
      [() => parseRate(bad(null)), InputError, "a rate is text (e.g. 100/s), got null"],
    ];
    for (const [call, kind, line] of cases) {
      const err = await refusal(call);
      expect(err).toBeInstanceOf(kind);
      expect((err as Error).message).toStartWith(line);
    }
  } finally {
    await s.close();
  }
});

// add's options: `replace: "no"` (or the string "yes" in their place, whose `replace` is a
// String method) read as true and replaced the schedule; null threw a TypeError.
test("Schedules.add's options refuse what is not { replace: boolean }, nothing replaced", async () => {
  const prefix = testPrefix();
  const s = await Schedules.connect({ redisUrl: redisUrl(), prefix });
  try {
    await s.add({ name: "a", every: "1h", task: "t" });
    const cases: [unknown, string][] = [
      [{ replace: "no" }, "add's replace must be true or false, got "],
      ["yes", "add takes an object, got "],
      [null, "add takes an object, got null"],
      [{ repalce: true }, "add: "],
    ];
    for (const [o, line] of cases) {
      const err = await refusal(() => s.add({ name: "a", every: "2h", task: "t" }, bad(o)));
      expect(err).toBeInstanceOf(InputError);
      expect((err as Error).message).toStartWith(line);
    }
    expect((await s.get("a"))?.def?.every_ms).toBe(3_600_000);
    expect((await s.add({ name: "a", every: "2h", task: "t" }, { replace: true })).created).toBe(
      true,
    );
  } finally {
    await s.close();
  }
});
