// The slots of a worker of several queues (lib/worker/slots.ts) without Redis: which rank a
// free slot goes to, in strict and weighted order (lib/worker/order.ts). Ranks are the queues'
// places in the list, 0 first.
import { describe, expect, test } from "bun:test";
import type { Startable } from "../lib/worker/entries.ts";
import { orderOptions } from "../lib/worker/order.ts";
import type { Jobs } from "../lib/worker/running.ts";
import { Slots } from "../lib/worker/slots.ts";

/** A shard's jobs as Slots sees them: how many run, and the entries held for a slot. */
function fakeJobs(): Jobs & { size: number } {
  return { size: 0, inFlight: 0, held: new Map<string, Startable>() } as unknown as Jobs & {
    size: number;
  };
}

/** Slots of `concurrency` over one fake shard; `jobs.size` is what runs. */
function slotsOf(concurrency: number, order = orderOptions(3)) {
  const jobs = fakeJobs();
  const slots = new Slots(concurrency, order);
  slots.join(jobs);
  return { slots, jobs };
}

/** An entry held for a slot: starting it makes one more job run and records its name. */
function hold(
  slots: Slots,
  jobs: Jobs & { size: number },
  name: string,
  rank: number,
  log: string[],
) {
  const job = { entryId: name } as unknown as Startable;
  slots.admit(
    jobs,
    job,
    () => {
      log.push(name);
      jobs.held.delete(name);
      (jobs as { size: number }).size++;
      return true;
    },
    rank,
  );
}

describe("strict order", () => {
  test("a later rank sees no free slot while an earlier one waits in the line or reads", () => {
    const { slots } = slotsOf(3);
    expect(slots.free(2)).toBe(3);
    const ticket = slots.ticket(0); // rank 0 waits for a slot
    expect(slots.free(2)).toBe(0);
    expect(slots.free(0)).toBe(3);
    slots.served(ticket, 0); // it got its slots: the line is empty again
    expect(slots.free(2)).toBe(3);
    slots.reading(0, 1); // rank 0 reads with slots in hand: it may bring more of its jobs
    expect(slots.free(1)).toBe(0);
    slots.reading(0, -1); // its read came back
    expect(slots.free(1)).toBe(3);
    // A later rank waiting does not hold an earlier one up.
    slots.ticket(2);
    expect(slots.free(0)).toBe(3);
    expect(slots.free(1)).toBe(3);
  });

  test("held entries start by rank, oldest first within one; a waiting earlier loop goes first", () => {
    const { slots, jobs } = slotsOf(1);
    jobs.size = 1; // every slot busy
    const started: string[] = [];
    hold(slots, jobs, "low-1", 2, started);
    hold(slots, jobs, "default-1", 1, started);
    hold(slots, jobs, "low-2", 2, started);
    hold(slots, jobs, "default-2", 1, started);
    expect(started).toEqual([]);
    const order: string[] = [];
    for (let k = 0; k < 4; k++) {
      jobs.size--; // a job ends, its slot frees
      slots.wake();
      order.push(started[started.length - 1] ?? "none");
    }
    expect(order).toEqual(["default-1", "default-2", "low-1", "low-2"]);

    // A held entry of rank 1 waits while a loop of rank 0 is in the line for the slot.
    hold(slots, jobs, "default-3", 1, started);
    const ticket = slots.ticket(0);
    jobs.size--;
    slots.wake();
    expect(started).not.toContain("default-3");
    slots.served(ticket, 0); // the loop took its slot… and its read came back empty
    slots.wake();
    expect(started).toContain("default-3");
  });

  test("one queue: no order, nothing gated", () => {
    const jobs = fakeJobs();
    const slots = new Slots(2);
    slots.join(jobs);
    slots.ticket(0);
    expect(slots.free(1)).toBe(2);
  });
});

describe("weighted order", () => {
  test("the drawn rank keeps the turn until it is served; the next turn is drawn afresh", () => {
    const draws = [0.99, 0.1];
    const { slots } = slotsOf(
      1,
      orderOptions(2, "weighted", [3, 1], () => draws.shift() ?? 0),
    );
    slots.ticket(0);
    const late = slots.ticket(1);
    // 0.99 of a total weight of 4 falls in rank 1's share: rank 0 sees no slot, as often as it asks.
    expect(slots.free(0)).toBe(0);
    expect(slots.free(0)).toBe(0);
    expect(slots.free(1)).toBe(1);
    slots.served(late, 1);
    // Rank 1 served (out of the line): rank 0 is the only one wanting, whatever is drawn.
    expect(slots.free(0)).toBe(1);
    expect(draws).toEqual([0.1]); // one draw for the contested turn, none while it was held
  });
});
