// Schedules.list over many schedules (lib/schedule/schedules.ts): every schedule and its next
// run read back right, in calls of a bounded size (no reply grows with the schedule count) and
// one next-run read per queue, not one per schedule.
import { expect, test } from "bun:test";
import { scheduleKeys } from "../lib/engine/keys.ts";
import type { Redis } from "../lib/redis/connect.ts";
import { Schedules } from "../lib/schedule/schedules.ts";
import { openQueue, testPrefix } from "./helpers.ts";

/** `client` with every command it sends recorded. */
function recorded(client: Redis): { client: Redis; sent: string[][] } {
  const sent: string[][] = [];
  const spy = new Proxy(client, {
    get(target, prop, receiver) {
      if (prop !== "sendCommand") return Reflect.get(target, prop, receiver);
      return (args: string[]) => {
        sent.push([...args]);
        return target.sendCommand(args);
      };
    },
  });
  return { client: spy, sent };
}

test("1,100 schedules on two queues: all listed with their next runs, in bounded calls", async () => {
  const prefix = testPrefix();
  await using q = await openQueue({ prefix });
  const writer = new Schedules(q.client, prefix, "q");
  const names = Array.from({ length: 1_100 }, (_, i) => `s${String(i).padStart(4, "0")}`);
  // Every third on queue r; each a minute apart from the next, so a next run read for the
  // wrong name would not match.
  const added = await Promise.all(
    names.map((name, i) =>
      writer.add({ name, every: `${i + 1}m`, task: "t", ...(i % 3 === 0 ? { queue: "r" } : {}) }),
    ),
  );
  const sk = scheduleKeys(prefix);
  // A paused one has no next run: a null in the middle of a queue's reply.
  expect(await writer.pause("s0500")).toBe(true);

  const { client, sent } = recorded(q.client);
  const list = await new Schedules(client, prefix, "q").list();
  expect(list.map((s) => s.name)).toEqual(names);
  for (const [i, s] of list.entries()) {
    const score = await q.client.sendCommand<string | null>([
      "ZSCORE",
      sk.next(i % 3 === 0 ? "r" : "q"),
      s.name,
    ]);
    expect(s.next).toBe(score === null ? null : Number(score));
    expect(s.def?.queue).toBe(i % 3 === 0 ? "r" : "q");
    if (s.name !== "s0500") expect(s.next).toBe(added[i]!.next);
  }
  expect(list[500]!.next).toBeNull();
  // Bounded: no call names more than 500 schedules; the next runs in one call per queue per
  // 500 names (3 chunks x 2 queues), not one per schedule.
  const reads = sent.filter((c) => c[0] !== "HKEYS");
  expect(Math.max(...reads.map((c) => c.length))).toBeLessThanOrEqual(502);
  const nextReads = sent.filter((c) => c[0] === "ZMSCORE" || c[0] === "ZSCORE");
  expect(nextReads.length).toBe(6);

  // One queue's: only its own, with the same next runs.
  const onR = await new Schedules(q.client, prefix, "q").list("r");
  expect(onR.map((s) => s.name)).toEqual(names.filter((_, i) => i % 3 === 0));
  expect(onR.map((s) => s.next)).toEqual(list.filter((_, i) => i % 3 === 0).map((s) => s.next));
});
