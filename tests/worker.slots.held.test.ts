// A worker's held entries (lib/worker/slots.ts) without Redis: with prefetch on (`holdMs`),
// one held past its bound is never started when a slot frees but handed to the give-back.
import { expect, test } from "bun:test";
import type { Startable } from "../lib/worker/entries.ts";
import type { Jobs } from "../lib/worker/running.ts";
import { Slots } from "../lib/worker/slots.ts";

test("a held entry past holdMs is not started when a slot frees; onStale is told", async () => {
  const jobs = { size: 1, inFlight: 1, held: new Map<string, Startable>() };
  const fake = jobs as unknown as Jobs;
  const slots = new Slots(1);
  slots.join(fake);
  const started: string[] = [];
  const start = (name: string) => () => {
    started.push(name);
    jobs.held.delete(name);
    jobs.size++;
    jobs.inFlight++;
    return true;
  };
  const job = { entryId: "A" } as unknown as Startable;
  slots.admit(fake, job, start("A")); // every slot busy: held
  expect(started).toEqual([]);
  slots.holdMs = 5;
  let stale = 0;
  slots.onStale = () => void stale++;
  const since = performance.now();
  while (performance.now() - since <= 6) await Bun.sleep(1); // past the bound (a clock, not an event)
  jobs.size = 0; // the running job ended: a slot frees
  jobs.inFlight = 0;
  slots.wake();
  expect(started).toEqual([]);
  expect(stale).toBe(1);
  expect(slots.takeStale(performance.now() - 5).map((h) => h.job.entryId)).toEqual(["A"]);
});

test("on resume, held entries wait afresh: one kept past its bound by a pause starts", async () => {
  const jobs = { size: 1, inFlight: 1, held: new Map<string, Startable>() };
  const fake = jobs as unknown as Jobs;
  const slots = new Slots(1);
  slots.join(fake);
  const started: string[] = [];
  slots.admit(fake, { entryId: "A" } as unknown as Startable, () => {
    started.push("A");
    jobs.held.delete("A");
    return true;
  });
  slots.holdMs = 5;
  const since = performance.now();
  while (performance.now() - since <= 6) await Bun.sleep(1); // kept past the bound (paused)
  slots.rewait(performance.now()); // resumed
  jobs.size = 0;
  jobs.inFlight = 0;
  slots.wake();
  expect(started).toEqual(["A"]);
});
