// A worker started under a dead predecessor's name hands the entries pending on that name to
// `<name>~gone` (lib/worker/presence.ts), so a claim counts the runs that killed it: one
// variadic XCLAIM per page of pending entries, none made claimable sooner than it was.
import { expect, test } from "bun:test";
import { GROUP } from "../lib/engine/keys.ts";
import { handOverPredecessor } from "../lib/worker/presence.ts";
import { deliver, engineQueue, plant } from "./fixtures/plant.ts";
import { commandCalls } from "./helpers.ts";

test("a predecessor's entries move to <name>~gone in one XCLAIM, none less idle than the least idle", async () => {
  await using v = await engineQueue();
  const entries = [await plant(v), await plant(v), await plant(v)];
  await deliver(v, "w0");
  // The dead w1's entries, each with its own idle time (its leases stopped at different times).
  for (const [i, entry] of entries.entries()) {
    const idle = String(60_000 + i * 1_000);
    await v.r.sendCommand(["XCLAIM", v.k.stream, GROUP, "w1", "0", entry, "IDLE", idle, "JUSTID"]);
  }
  const claims = await commandCalls(v.r, "xclaim", v.k.stream);
  expect(await handOverPredecessor(v.client, v.k, "w1")).toBe(3);
  expect(await commandCalls(v.r, "xclaim", v.k.stream)).toBe(claims + 1);

  const rows = (await v.r.sendCommand(["XPENDING", v.k.stream, GROUP, "-", "+", "10"])) as [
    string,
    string,
    number,
    number,
  ][];
  expect(rows.map(([entry, owner, , deliveries]) => [entry, owner, deliveries])).toEqual(
    entries.map((entry) => [entry, "w1~gone", 1]),
  );
  // Not made fresh (a claim takes them as soon as it would have), never claimable sooner.
  for (const [, , idle] of rows) expect(idle).toBeGreaterThanOrEqual(60_000);
  for (const [i, [, , idle]] of rows.entries()) expect(idle).toBeLessThan(61_000 + i * 1_000);
});
