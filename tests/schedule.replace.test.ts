// A replace (lib/schedule/replace.ts, as pause and resume) is a compare and set: a pause landing between its read of
// the stored definition and its write is read again, so the schedule stays paused; a write
// that overwrote whatever was there (the `put` it replaced) ran the schedule again.
import { expect, test } from "bun:test";
import { scheduleKeys } from "../lib/engine/keys.ts";
import type { Redis } from "../lib/redis/connect.ts";
import { replaceSchedule } from "../lib/schedule/replace.ts";
import { Schedules } from "../lib/schedule/schedules.ts";
import { parseDef } from "../lib/schedule/spec.ts";
import { openQueue, testPrefix } from "./helpers.ts";

test("a pause landing while a replace is under way holds: the replace reads again", async () => {
  const prefix = testPrefix();
  await using q = await openQueue({ prefix });
  const schedules = new Schedules(q.client, prefix, "default");
  await schedules.add({ name: "n", every: "5m", task: "t" });
  const k = scheduleKeys(prefix);
  let reads = 0;
  // The replace's first read is answered, then the pause is written before the replace's own.
  const racing = {
    sendCommand: async (args: readonly string[]) => {
      const reply = await q.client.sendCommand(args as string[]);
      if (args[0] === "HGET" && reads++ === 0) await schedules.pause("n");
      return reply;
    },
  } as unknown as Redis;
  const stored = parseDef(await q.client.sendCommand<string>(["HGET", k.defs, "n"]))!;
  const def = { ...stored, every_ms: 60_000, created_at: Date.now() };
  const replaced = await replaceSchedule(racing, k, "n", def);
  expect(reads).toBe(2);
  expect(replaced).toMatchObject({ next: null, def: { every_ms: 60_000, paused: true } });
  const now = await schedules.get("n");
  expect(now).toMatchObject({ next: null, def: { every_ms: 60_000, paused: true } });
});
