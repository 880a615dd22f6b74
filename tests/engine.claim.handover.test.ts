// Entries a restarted worker handed over to `<name>~gone` (lib/worker/presence.ts): the claim that
// takes them writes the abandoned run under the worker that ran it, `<name>`, not the consumer.
import { expect, test } from "bun:test";
import { claimLapsed } from "../lib/engine/claim.ts";
import { handOverPredecessor } from "../lib/worker/presence.ts";
import { deliver, engineQueue, hgetall, plant } from "./fixtures/plant.ts";

const OPTS = { minIdleMs: 0, count: 10, failureTtlS: 600, deadMaxLen: 1000, eventsMaxLen: 1000 };

test("a handed-over run is written under its worker's own name, run and buried alike", async () => {
  await using v = await engineQueue();
  await plant(v, { i: "job-run", a: 0, m: 3 });
  await plant(v, { i: "job-last", a: 0, m: 1 });
  await deliver(v, "w0");
  expect(await handOverPredecessor(v.client, v.k, "w0")).toBe(2);
  await claimLapsed(v.client, v.k, { ...OPTS, consumer: "w1" });
  const rec = await hgetall(v, `${v.k.recordPrefix}job-run`);
  expect(rec["h:1"]).toBe("1  w0");
  // The job buried on its last attempt: its failed value names w0 as the worker.
  const value = String(await v.r.sendCommand(["GET", `${v.k.resultPrefix}job-last`]));
  expect(value.split("\n")[0]).toEndWith(' "w0"');
});

test("a worker name that only contains the suffix, or is the suffix, is written as it is", async () => {
  await using v = await engineQueue();
  await plant(v, { i: "job-a" });
  await deliver(v, "~gone");
  await plant(v, { i: "job-b" });
  await deliver(v, "x~gonex");
  await claimLapsed(v.client, v.k, { ...OPTS, consumer: "w1" });
  expect((await hgetall(v, `${v.k.recordPrefix}job-a`))["h:1"]).toBe("1  ~gone");
  expect((await hgetall(v, `${v.k.recordPrefix}job-b`))["h:1"]).toBe("1  x~gonex");
});
