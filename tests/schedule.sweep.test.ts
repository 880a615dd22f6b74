// A scheduler of every queue reads `queues` a page at a time (schedule-due.lua's SSCAN, the
// cursor carried by lib/schedule/fire.ts and loop.ts): no call walks every queue, and a sweep
// over more queues than a page still fires every due schedule, each once.
import { expect, test } from "bun:test";
import { scheduleKeys } from "../lib/engine/keys.ts";
import { readDue } from "../lib/engine/schedule.ts";
import { silentLogger } from "../lib/log.ts";
import { TickEnqueuer } from "../lib/schedule/enqueue.ts";
import { firePass, PASS_MOST } from "../lib/schedule/fire.ts";
import { ScheduleLoop } from "../lib/schedule/loop.ts";
import { Schedules } from "../lib/schedule/schedules.ts";
import { openQueue, redisTime, testPrefix, until } from "./helpers.ts";

const QUEUES = 150; // a set of strings this large is a hashtable: SSCAN's COUNT is heeded
const PAGE = 20;

/**
 * QUEUES queues with one schedule each (`s<i>` on `q<i>`), and `big` more on queue `big`, all
 * made due a second ago (on time: each fires its tick, then its next is an hour on).
 */
async function setup(big = 0) {
  const prefix = testPrefix();
  const q = await openQueue({ prefix });
  const s = new Schedules(q.client, prefix);
  const sk = scheduleKeys(prefix);
  const specs = [
    ...Array.from({ length: QUEUES }, (_, i) => ({ name: `s${i}`, queue: `q${i}` })),
    ...Array.from({ length: big }, (_, i) => ({ name: `b${i}`, queue: "big" })),
  ];
  await Promise.all(specs.map((x) => s.add({ ...x, every: "1h", task: "t" })));
  const due = String((await redisTime(q.client)) - 1_000);
  await Promise.all(
    specs.map((x) => q.client.sendCommand(["ZADD", sk.next(x.queue), due, x.name])),
  );
  /** Schedules still due (their score not moved on past now). */
  const left = async () => {
    const now = await redisTime(q.client);
    const scores = await Promise.all(
      specs.map((x) => q.client.sendCommand<string>(["ZSCORE", sk.next(x.queue), x.name])),
    );
    return scores.filter((v) => Number(v) <= now).length;
  };
  return { prefix, q, sk, specs, left, [Symbol.asyncDispose]: () => q.close() };
}

test("a due read of every queue walks a page of queues per call; the cursor covers all once", async () => {
  await using s = await setup();
  const seen: string[] = [];
  let cursor = "0";
  let calls = 0;
  do {
    const r = await readDue(s.q.client, s.sk, 1_000, [], { cursor, size: PAGE });
    // SSCAN's COUNT is a hint (a bucket's chain comes whole): about a page, never every queue.
    expect(r.due.length).toBeLessThanOrEqual(2 * PAGE);
    seen.push(...r.due.map((d) => d.name));
    cursor = r.cursor;
    calls++;
  } while (cursor !== "0");
  expect(calls).toBeGreaterThanOrEqual(QUEUES / (2 * PAGE));
  expect(seen.length).toBe(QUEUES);
  expect(new Set(seen).size).toBe(QUEUES);
});

test("one sweep of passes fires every due schedule once, a page fuller than a pass read again", async () => {
  // `big` has more due than one pass handles: its page is read again before the cursor moves.
  await using s = await setup(PASS_MOST + 20);
  const enqueuer = new TickEnqueuer(s.q.client, s.prefix);
  let cursor = "0";
  let fired = 0;
  let full = false;
  // A sweep: passes until the cursor is back at 0, a full page's pass (read again) included.
  do {
    const r = await firePass({
      ...{ client: s.q.client, prefix: s.prefix, enqueuer, queues: [] },
      ...{ cursor, queuesPage: PAGE },
    });
    expect(r.stuck).toEqual([]);
    fired += r.fired;
    full = r.fired === PASS_MOST;
    // A full pass may have left due schedules in its page: it is read again, the cursor kept.
    if (full) expect(r.cursor).toBe(cursor);
    cursor = r.cursor;
  } while (cursor !== "0" || full);
  expect(fired).toBe(s.specs.length);
  expect(await s.left()).toBe(0);
  // A second sweep finds nothing due: no tick fired twice.
  do {
    const r = await firePass({
      ...{ client: s.q.client, prefix: s.prefix, enqueuer, queues: [] },
      ...{ cursor, queuesPage: PAGE },
    });
    expect(r.fired).toBe(0);
    cursor = r.cursor;
  } while (cursor !== "0");
});

test("the loop of every queue carries the cursor: each queue's due schedule fires", async () => {
  await using s = await setup();
  const loop = new ScheduleLoop({
    ...{ client: () => s.q.client, prefix: s.prefix, queues: [], log: silentLogger },
    queuesPage: PAGE,
  });
  loop.start();
  try {
    await until(async () => (await s.left()) === 0, "every queue's schedule to fire");
  } finally {
    await loop.stop();
  }
});

test("a page that stays full is read again once, then the sweep moves on: the other pages' schedules fire", async () => {
  // `big` keeps more due schedules than a pass fires (made due again after every pass: a
  // backlog that never drains). Read again for as long as it is full, its page would hold the
  // cursor for ever and no other page's schedule would fire.
  await using s = await setup(PASS_MOST + 50);
  const bigOnes = s.specs.filter((x) => x.queue === "big");
  const dueAgain = async () => {
    const due = String((await redisTime(s.q.client)) - 1_000);
    await Promise.all(
      bigOnes.map((x) => s.q.client.sendCommand(["ZADD", s.sk.next("big"), due, x.name])),
    );
  };
  const enqueuer = new TickEnqueuer(s.q.client, s.prefix);
  let sweep = { cursor: "0", readAgain: false };
  let fullReadAgain = 0;
  // Two sweeps' worth of pages, two passes for a full one: enough for every page to be read.
  for (let pass = 0; pass < 4 * Math.ceil(QUEUES / PAGE) + 4; pass++) {
    const r = await firePass({
      ...{ client: s.q.client, prefix: s.prefix, enqueuer, queues: [] },
      ...{ ...sweep, queuesPage: PAGE },
    });
    if (r.fired === PASS_MOST && sweep.readAgain) fullReadAgain++;
    // A full pass read again moves on all the same.
    if (r.fired === PASS_MOST && sweep.readAgain) expect(r.readAgain).toBe(false);
    sweep = { cursor: r.cursor, readAgain: r.readAgain };
    await dueAgain();
  }
  expect(fullReadAgain).toBeGreaterThan(0); // the busy page was met, full, twice in a row
  const now = await redisTime(s.q.client);
  const others = s.specs.filter((x) => x.queue !== "big");
  const scores = await Promise.all(
    others.map((x) => s.q.client.sendCommand<string>(["ZSCORE", s.sk.next(x.queue), x.name])),
  );
  expect(scores.filter((v) => Number(v) <= now)).toEqual([]);
});
