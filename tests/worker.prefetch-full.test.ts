// Prefetch (lib/worker/prefetch.ts) on a Redis full past the memory budget, without Redis: a
// held entry is kept, as in a pause (a give-back would write a record), and given back once
// there is room again.
import { expect, test } from "bun:test";
import type { WorkerOptions } from "../lib/config.ts";
import type { QueueKeys } from "../lib/engine/keys.ts";
import { silentLogger } from "../lib/log.ts";
import type { Startable } from "../lib/worker/entries.ts";
import { Prefetch } from "../lib/worker/prefetch.ts";
import type { Jobs } from "../lib/worker/running.ts";
import { Slots } from "../lib/worker/slots.ts";
import { until } from "./helpers.ts";

test("Redis full: a held entry past its bound is kept, given back once there is room", async () => {
  const held = new Map<string, Startable>();
  const jobs = { size: 1, inFlight: 1, waits: { size: 0 }, held, givingBack: new Set<string>() };
  const fake = jobs as unknown as Jobs;
  const slots = new Slots(1);
  slots.join(fake);
  slots.admit(fake, { entryId: "A", jobId: "J" } as unknown as Startable, () => false);
  let full = true;
  let looked = 0; // how often the give-back timer asked whether Redis is full
  let calls = 0; // give-back calls (each fails here: no Redis)
  const prefetch = new Prefetch(
    {
      o: { prefetchWaitMs: 5, name: "w1" } as WorkerOptions,
      start: "",
      keys: {} as QueueKeys,
      jobs: fake,
      slots,
      log: silentLogger,
      client: () => {
        calls++;
        throw new Error("no Redis here");
      },
      stopping: () => false,
      paused: () => false,
      refrain: () => true,
      full: () => {
        looked++;
        return full;
      },
    },
    1,
  );
  prefetch.watch();
  await until(() => looked >= 3, "the timer looked three times while Redis is full");
  expect(calls).toBe(0);
  expect(held.has("A")).toBe(true);
  full = false;
  await until(() => calls >= 1, "given back once there is room");
  prefetch.close();
});
