// `info`, /metrics and the dashboard's panel (read every second) show a queue's first
// SCHEDULES_SHOWN schedules, never their payloads, which may be 1 MiB each: each read took every
// payload whole (20 MiB a snapshot; a dashboard open on such a queue: 206 MB of RSS and 20 MB a
// second out of Redis). They now read each definition without its payload (schedule-brief.lua);
// what they show is the same. A spy counts the bytes of every reply on the connection.
import { expect, test } from "bun:test";
import { readQueueSchedules, scheduleReports } from "../lib/admin/info-schedules.ts";
import { scheduleKeys } from "../lib/engine/keys.ts";
import type { Redis } from "../lib/redis/connect.ts";
import { Schedules } from "../lib/schedule/schedules.ts";
import { SCHEDULE_PAYLOAD_MAX_BYTES } from "../lib/schedule/spec.ts";
import { spy } from "./fixtures/reply-bytes.ts";
import { type RawRedis, rawRedis, testPrefix } from "./helpers.ts";

/** A payload of about 1 MiB whose own keys are those of a definition. */
function bigPayload(): Record<string, unknown> {
  const blob = "x".repeat(SCHEDULE_PAYLOAD_MAX_BYTES - 200);
  return { payload: { missed: "skip" }, blob, paused: true, missed: "skip", end: '"}' };
}

test("payloads of 1 MiB: the shown schedules read without them, shown as before", async () => {
  const prefix = testPrefix();
  await using r = await rawRedis();
  const client = r as unknown as Redis;
  const s = new Schedules(client, prefix, "q");
  const payload = bigPayload();
  await s.add({ name: "a-every", every: "5m", task: "t", payload });
  await s.add({ name: "b-cron", cron: "0 6 * * *", tz: "Europe/Paris", task: "t", payload });
  await s.add({ name: "c-skip", every: "1h", task: "t", payload, missed: "skip" });
  await s.pause("c-skip");
  await s.add({ name: "d-small", every: "1h", task: "t", payload: { x: 1 } });
  const seen = spy(r);
  const read = await readQueueSchedules(client, prefix, "q");
  expect(seen.total).toBeLessThan(20_000);
  const reports = scheduleReports(read)!;
  expect(reports.map(({ next: _, ...rest }) => rest)).toEqual([
    { name: "a-every", when: "every 5m", task: "t", missed: "once", paused: false, overdue: false },
    {
      name: "b-cron",
      when: "cron 0 6 * * * (Europe/Paris)",
      task: "t",
      missed: "once",
      paused: false,
      overdue: false,
    },
    { name: "c-skip", when: "every 1h", task: "t", missed: "skip", paused: true, overdue: false },
    { name: "d-small", when: "every 1h", task: "t", missed: "once", paused: false, overdue: false },
  ]);
  // The listing still has each payload whole.
  expect((await s.get("a-every"))?.def?.payload).toEqual(payload);
});

test("a long definition Courier did not write is shown as such, not misread", async () => {
  const prefix = testPrefix();
  await using r = await rawRedis();
  const client = r as unknown as Redis;
  const k = scheduleKeys(prefix);
  const junk = `{"queue":"q","task":"t","note":"${"x".repeat(200_000)}"}`;
  await r.sendCommand(["HSET", k.defs, "odd", junk]);
  await r.sendCommand(["HSET", k.where, "odd", "q"]);
  await r.sendCommand(["ZADD", k.names("q"), "0", "odd"]);
  await r.sendCommand(["ZADD", k.next("q"), "1700000000000", "odd"]);
  const seen = spy(r);
  const read = await readQueueSchedules(client, prefix, "q");
  expect(seen.total).toBeLessThan(100_000);
  expect(read?.total).toBe(1);
  expect(read?.shown.map((x) => [x.name, x.def])).toEqual([["odd", null]]);
});

/** A long definition `text` of schedule `name` in queue q, as a hand edit leaves it. */
async function plantDef(r: RawRedis, prefix: string, name: string, text: string): Promise<void> {
  const k = scheduleKeys(prefix);
  await r.sendCommand(["HSET", k.defs, name, text]);
  await r.sendCommand(["HSET", k.where, name, "q"]);
  await r.sendCommand(["ZADD", k.names("q"), "0", name]);
}

test.each([
  ["paused before missed", '"paused":true,"missed":"once","created_at":1}'],
  ["a key after created_at", '"missed":"once","paused":false,"created_at":1,"paused":true}'],
  ["the payload's own tail", '"missed":"once","paused":false,"created_at":1}}'],
])(
  "a long definition whose keys past the payload are not Courier's (%s) reads as none, never misread",
  async (_, tail) => {
    const prefix = testPrefix();
    await using r = await rawRedis();
    const client = r as unknown as Redis;
    const payload = JSON.stringify({ big: "x".repeat(20_000) });
    await plantDef(
      r,
      prefix,
      "s1",
      `{"queue":"q","every_ms":60000,"task":"t","payload":${payload},${tail}`,
    );
    const read = await readQueueSchedules(client, prefix, "q");
    // It was read with the key before "missed" dropped: not paused, where `schedule list` (and
    // JSON) says paused.
    expect(read?.shown.map((x) => [x.name, x.def])).toEqual([["s1", null]]);
  },
);

test("a definition of 5 MB before its payload (a task written by hand) is read cut, not whole", async () => {
  const prefix = testPrefix();
  await using r = await rawRedis();
  const client = r as unknown as Redis;
  const task = "x".repeat(5_000_000);
  const text = `{"queue":"q","every_ms":60000,"task":"${task}","payload":1,"missed":"once","paused":false,"created_at":1}`;
  await plantDef(r, prefix, "s1", text);
  const seen = spy(r);
  const read = await readQueueSchedules(client, prefix, "q");
  expect(seen.total).toBeLessThan(100_000);
  expect(read?.shown.map((x) => [x.name, x.def])).toEqual([["s1", null]]);
});
