// Admin's reads and actions check what they are given before Redis is asked: a state that is
// no listing's ("queued", a job's status word), a limit or count that is no whole number in
// bounds (NaN passed through to Redis; -1 is Redis' "no limit"), an age that is negative (all
// letters "older" than the future) or NaN, a change that is null, an id list that is a string.
import { expect, test } from "bun:test";
import { Admin } from "../lib/admin/admin.ts";
import { InputError } from "../lib/errors.ts";
import { redisUrl, testPrefix } from "./helpers.ts";

// biome-ignore lint/suspicious/noExplicitAny: the calls are given what their types forbid
const bad = (v: unknown) => v as any;
const open = (prefix = testPrefix()) => Admin.connect({ redisUrl: redisUrl(), prefix });

test.each([
  [
    "jobs state queued",
    (a: Admin) => a.jobs({ state: bad("queued"), limit: 5 }),
    "jobs' state must be one of waiting",
  ],
  ["jobs no query", (a: Admin) => a.jobs(bad(null)), "jobs takes an object, got null"],
  ...[Number.NaN, 1.5, -1, 0, 1e9].map((limit) => [
    `jobs limit ${limit}`,
    (a: Admin) => a.jobs({ state: "waiting", limit }),
    "jobs' limit must be a whole number from 1 to 500",
  ]),
  ...[Number.NaN, -5, 501].map((limit) => [
    `deadLetters limit ${limit}`,
    (a: Admin) => a.deadLetters({ limit }),
    "deadLetters' limit must be a whole number from 1 to 500",
  ]),
  ...[Number.NaN, -1, 0, 1e9].map((count) => [
    `heldKeys ${count}`,
    (a: Admin) => a.heldKeys(count),
    "heldKeys' count must be a whole number from 1 to 500",
  ]),
  ...[Number.NaN, -60_000].map((ms) => [
    `purgeDead ${ms}`,
    (a: Admin) => a.purgeDead(ms),
    "purgeDead's olderThanMs must be a number of ms, 0 or more",
  ]),
  [
    "recentFailures NaN",
    (a: Admin) => a.recentFailures(Number.NaN),
    "recentFailures' limit must be",
  ],
  ["setLimits null", (a: Admin) => a.setLimits(bad(null)), "setLimits takes an object, got null"],
  ["requeue 'abc'", (a: Admin) => a.requeue(bad("abc")), "requeue takes an array of job ids"],
  ["deleteDead [42]", (a: Admin) => a.deleteDead(bad([42])), "deleteDead: each job id must be"],
  ["cancel 'abc'", (a: Admin) => a.cancel(bad("abc")), "cancel takes an array of job ids"],
  // Every option checked by value, its kind named (a truthy "no" would prune).
  [
    "workers prune 'no'",
    (a: Admin) => a.workers(bad({ prune: "no" })),
    `workers' prune must be true or false, got the string "no"`,
  ],
  [
    "deadLetters cursor 5",
    (a: Admin) => a.deadLetters(bad({ cursor: 5 })),
    "deadLetters' cursor must be a string (a page's next), got the number 5",
  ],
  [
    "setLimits tell 5",
    (a: Admin) => a.setLimits({}, bad(5)),
    "setLimits' tell must be a function, got the number 5",
  ],
  [
    "deadLetter 5",
    (a: Admin) => a.deadLetter(bad(5)),
    "deadLetter: each job id must be a string, got the number 5",
  ],
  ["job 5", (a: Admin) => a.job(bad(5)), "job: each job id must be a string, got the number 5"],
  [
    "holdKey 'x'",
    (a: Admin) => a.holdKey("k", bad("x")),
    `a hold must be a number of milliseconds from 0, got the string "x"`,
  ],
  [
    "holdKey key 5",
    (a: Admin) => a.holdKey(bad(5), 10),
    "limitKey must be a string, got the number 5",
  ],
] as [string, (a: Admin) => Promise<unknown>, string][])(
  "%s: InputError",
  async (_name, call, message) => {
    const a = await open();
    try {
      const err = await call(a).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InputError);
      expect((err as Error).message).toContain(message);
    } finally {
      await a.close();
    }
  },
);

test("values in bounds are taken", async () => {
  const a = await open();
  try {
    await expect(a.purgeDead(-60_000)).rejects.toThrow(InputError);
    expect(await a.purgeDead(0)).toBe(0); // a whole age in bounds: taken
    // Past every letter, or not whole, as `dead purge --older-than 36600d` gives it (R113).
    expect(await a.purgeDead(36_600 * 86_400_000)).toBe(0);
    expect(await a.purgeDead(1.5)).toBe(0);
    expect(await a.jobs({ state: "waiting", limit: 500 })).toMatchObject({ jobs: [] });
  } finally {
    await a.close();
  }
});
