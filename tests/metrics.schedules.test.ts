// /metrics' gauges of recurring schedules against real Redis (lib/admin/metrics.ts, read by
// info-schedules.ts): an active, a paused and an overdue schedule's next run, paused and
// lateness; a name written by hand that would break the text format; a queue with none.
import { expect, test } from "bun:test";
import { Admin } from "../lib/admin/admin.ts";
import { infoReader, type QueueReport } from "../lib/admin/info.ts";
import { SCHEDULES_SHOWN } from "../lib/admin/info-schedules.ts";
import { scheduleKeys } from "../lib/engine/keys.ts";
import { LIMIT_KEY_MAX_BYTES } from "../lib/engine/limits.ts";
import { Schedules } from "../lib/schedule/schedules.ts";
import { openQueue, redisTime, redisUrl, testPrefix } from "./helpers.ts";

async function setup(queue = "q") {
  const prefix = testPrefix();
  const q = await openQueue({ prefix, queue });
  await q.enqueue("t", null); // the queue exists
  const admin = await Admin.connect({ redisUrl: redisUrl(), prefix, queue });
  const schedules = new Schedules(q.client, prefix, queue);
  const metrics = async () => (await admin.metrics()).split("\n");
  return {
    prefix,
    q,
    schedules,
    metrics,
    admin,
    sk: scheduleKeys(prefix),
    [Symbol.asyncDispose]: async () => {
      await admin.close();
      await q.close();
    },
  };
}

/** The sample of `name` for `schedule` of queue q: its value, or undefined when there is none. */
function gaugeOf(lines: string[], name: string, schedule: string): number | undefined {
  const head = `courier_${name}{queue="q",schedule="${schedule}"} `;
  const line = lines.find((l) => l.startsWith(head));
  return line === undefined ? undefined : Number(line.slice(head.length));
}

test("an active, a paused and an overdue schedule: next run, paused, seconds late", async () => {
  await using s = await setup();
  const active = await s.schedules.add({ name: "active", every: "1h", task: "t" });
  await s.schedules.add({ name: "held", every: "1h", task: "t" });
  await s.schedules.pause("held");
  await s.schedules.add({ name: "late", every: "1h", task: "t" });
  // Overdue by 90 s at least: its next run written in the past, as a stopped scheduler leaves it.
  const due = (await redisTime(s.q.client)) - 90_000;
  await s.q.client.sendCommand(["ZADD", s.sk.next("q"), String(due), "late"]);
  const before = await redisTime(s.q.client);
  const lines = await s.metrics();
  const after = await redisTime(s.q.client);

  expect(lines).toContain(
    "# HELP courier_schedule_next_run_seconds When the schedule runs next, Unix seconds by Redis' clock (none when paused or ended).",
  );
  for (const name of ["next_run_seconds", "paused", "overdue_seconds"]) {
    expect(lines).toContain(`# TYPE courier_schedule_${name} gauge`);
  }
  expect(gaugeOf(lines, "schedule_next_run_seconds", "active")).toBe(active.next! / 1_000);
  expect(gaugeOf(lines, "schedule_paused", "active")).toBe(0);
  expect(gaugeOf(lines, "schedule_overdue_seconds", "active")).toBe(0);

  expect(gaugeOf(lines, "schedule_next_run_seconds", "held")).toBeUndefined();
  expect(gaugeOf(lines, "schedule_paused", "held")).toBe(1);
  expect(gaugeOf(lines, "schedule_overdue_seconds", "held")).toBe(0);

  expect(gaugeOf(lines, "schedule_next_run_seconds", "late")).toBe(due / 1_000);
  expect(gaugeOf(lines, "schedule_paused", "late")).toBe(0);
  const late = gaugeOf(lines, "schedule_overdue_seconds", "late")!;
  expect(late).toBeGreaterThanOrEqual((before - due) / 1_000);
  expect(late).toBeLessThanOrEqual((after - due) / 1_000);
});

test("a schedule name with a quote, backslashes, a newline and ESC is escaped as labels are", async () => {
  await using s = await setup();
  await s.schedules.add({ name: "plain", every: "1h", task: "t" });
  // Only a definition written by hand has such a name (`schedule.ts add` refuses it): a copy.
  const hostile = 'a"b\\c\nd\x1be';
  const c = s.q.client;
  const def = await c.sendCommand<string>(["HGET", s.sk.defs, "plain"]);
  await c.sendCommand(["HSET", s.sk.defs, hostile, def]);
  await c.sendCommand(["HSET", s.sk.where, hostile, "q"]);
  await c.sendCommand(["ZADD", s.sk.names("q"), "0", hostile]);
  await c.sendCommand(["ZADD", s.sk.next("q"), "1700000000000", hostile]);
  const lines = await s.metrics();

  expect(lines).toContain(
    'courier_schedule_next_run_seconds{queue="q",schedule="a\\"b\\\\c\\nd\\\\x1be"} 1700000000',
  );
  expect(lines).toContain('courier_schedule_paused{queue="q",schedule="a\\"b\\\\c\\nd\\\\x1be"} 0');
  // Every line is still a comment or one whole sample: no raw newline, quote or control byte.
  const sampleLine =
    /^courier_[a-z_]+(\{[a-z_]+="(?:[^"\\\n\x00-\x1f]|\\[\\"n])*"(,[a-z_]+="(?:[^"\\\n\x00-\x1f]|\\[\\"n])*")*\})? \S+$/;
  const bad = lines.filter((l) => l !== "" && !l.startsWith("# ") && !sampleLine.test(l));
  expect(bad).toEqual([]);
  expect(lines.filter((l) => l.includes('schedule="'))).toHaveLength(6);
});

test("a schedule name of 1 MB written by hand is one label cut past any name or limit key, not 1 MB a line", async () => {
  await using s = await setup();
  await s.schedules.add({ name: "plain", every: "1h", task: "t" });
  const huge = `${"S".repeat(LIMIT_KEY_MAX_BYTES - 1)}😀${"S".repeat(1_000_000)}`;
  const c = s.q.client;
  const def = await c.sendCommand<string>(["HGET", s.sk.defs, "plain"]);
  await c.sendCommand(["HSET", s.sk.defs, huge, def]);
  await c.sendCommand(["HSET", s.sk.where, huge, "q"]);
  await c.sendCommand(["ZADD", s.sk.names("q"), "0", huge]);
  await c.sendCommand(["ZADD", s.sk.next("q"), "1700000000000", huge]);
  const lines = await s.metrics();
  const label = `schedule="${"S".repeat(LIMIT_KEY_MAX_BYTES - 1)}…"`;
  expect(lines).toContain(`courier_schedule_next_run_seconds{queue="q",${label}} 1700000000`);
  expect(Math.max(...lines.map((l) => l.length))).toBeLessThan(LIMIT_KEY_MAX_BYTES + 100);
});

test("a queue without schedules: the families' HELP and TYPE, no sample", async () => {
  await using s = await setup();
  // Another queue's schedule is not this queue's.
  await s.schedules.add({ name: "elsewhere", every: "1h", task: "t", queue: "other" });
  const lines = await s.metrics();
  for (const name of ["next_run_seconds", "paused", "overdue_seconds"]) {
    expect(lines).toContain(`# TYPE courier_schedule_${name} gauge`);
  }
  expect(lines.filter((l) => l.startsWith("courier_schedule_"))).toEqual([]);
});

test("many schedules: /metrics and info give the count, the overdue count and the first 20", async () => {
  await using s = await setup();
  const names = Array.from(
    { length: SCHEDULES_SHOWN + 5 },
    (_, i) => `s${String(i).padStart(2, "0")}`,
  );
  await Promise.all(names.map((name) => s.schedules.add({ name, every: "1h", task: "t" })));
  await s.schedules.add({ name: "elsewhere", every: "1h", task: "t", queue: "other" });
  // The last one by name overdue (not among those shown): counted all the same.
  const late = String((await redisTime(s.q.client)) - 90_000);
  await s.q.client.sendCommand(["ZADD", s.sk.next("q"), late, names.at(-1)!]);
  const lines = await s.metrics();
  expect(lines).toContain(`courier_schedules{queue="q"} ${names.length}`);
  expect(lines).toContain('courier_schedules_overdue{queue="q"} 1');
  const shown = lines.filter((l) => l.startsWith("courier_schedule_paused{"));
  expect(shown.map((l) => /schedule="([^"]+)"/.exec(l)?.[1])).toEqual(
    names.slice(0, SCHEDULES_SHOWN),
  );

  const [report] = (await infoReader(s.admin, ["q"])()).queues as QueueReport[];
  expect(report!.schedules!.map((x) => x.name)).toEqual(names.slice(0, SCHEDULES_SHOWN));
  expect([report!.schedulesTotal, report!.schedulesOverdue]).toEqual([names.length, 1]);
});

// A key of the queue's schedules of another type (another program's): the families were left
// out unsaid, `courier_queue_unreadable` 0, so an alert on overdue schedules went quiet for good.
test.each([
  ["names", "zset"],
  ["next", "zset"],
  ["defs", "hash"],
  ["where", "hash"],
])(
  "the schedules' %s key of another type: said in a comment, counted unreadable",
  async (part, want) => {
    await using s = await setup();
    await s.schedules.add({ name: "s1", every: "1h", task: "t" });
    const key =
      part === "names"
        ? s.sk.names("q")
        : part === "next"
          ? s.sk.next("q")
          : s.sk[part as "defs" | "where"];
    await s.q.client.sendCommand(["DEL", key]);
    await s.q.client.sendCommand(["SET", key, "junk"]);
    const lines = await s.metrics();
    expect(lines.filter((l) => l.startsWith("courier_schedule"))).toEqual([]);
    expect(lines).toContain(
      `# schedules left out: queue q cannot be read: key ${key} holds a string where Courier keeps a ${want}; another program uses these keys: give Courier its own --prefix, or delete that key`,
    );
    expect(lines).toContain('courier_queue_unreadable{queue="q"} 1');
  },
);
