// `bun bin/schedule.ts`: add (checked before Redis: one line, exit 2), list (text and --json),
// pause, resume, remove (exit 4 for no such schedule), --help of each, and `run`, a standalone
// scheduler that fires a due schedule and stops on SIGTERM.
import { describe, expect, test } from "bun:test";
import { scheduleJobId, scheduleKeys } from "../lib/engine/keys.ts";
import { LATE_MS } from "../lib/schedule/ticks.ts";
import { runUsage } from "./fixtures/cli/in-process.ts";
import {
  onOneServer,
  openQueue,
  rawRedis,
  redisTime,
  runCli,
  spawnCli,
  testPrefix,
  until,
  waitForLine,
} from "./helpers.ts";

const sched = (prefix: string, args: string[]) => runCli("schedule", [...args, "--prefix", prefix]);

/** How many of the prefix's schedule keys exist (read in-process: a `list` spawn per case cost more than the case). */
async function scheduleKeysWritten(prefix: string): Promise<number> {
  const k = scheduleKeys(prefix);
  await using r = await rawRedis();
  return Number(
    await r.sendCommand(["EXISTS", k.defs, k.where, k.queues, k.failing, k.next("default")]),
  );
}

describe("add", () => {
  test.each([
    [["add", "n", "--task", "t"], "give one of --every"],
    [["add", "n", "--every", "5m", "--cron", "* * * * *", "--task", "t"], "give one of --every"],
    [["add", "n", "--every", "5m"], "give one of --url"],
    [["add", "n", "--every", "5m", "--url", "https://e.org/", "--task", "t"], "give one of --url"],
    [["add", "n", "--every", "5m", "--tz", "Europe/Paris", "--task", "t"], "--tz goes with --cron"],
    [["add", "n", "--every", "100ms", "--task", "t"], "every must be from 1s"],
    [["add", "n", "--every", "often", "--task", "t"], "is not a duration"],
    [["add", "n", "--cron", "99 * * * *", "--task", "t"], "is not a cron expression"],
    [
      ["add", "n", "--cron", "* * * * *", "--tz", "Nowhere/Land", "--task", "t"],
      "is not a time zone",
    ],
    [["add", "n", "--every", "5m", "--task", "t", "--payload", "{"], "--payload is not JSON"],
    [["add", "n", "--every", "5m", "--url", "ftp://e.org/"], "invalid URL"],
    // The word-count task by name: its payload checked as --url and `trigger --task` check it
    // (a URL with a password was stored, shown by `list --json`, and failed every tick).
    [
      [
        "add",
        "n",
        "--every",
        "5m",
        "--task",
        "wordcount",
        "--payload",
        '{"url":"http://u:pw@e.org/"}',
      ],
      'invalid URL "http://***@e.org/": it contains a user name or password',
    ],
    [
      ["add", "n", "--every", "5m", "--task", "wordcount", "--payload", '{"nourl":1}'],
      'task wordcount takes the payload {"url": "…"} (or use --url)',
    ],
    [["add", "a/b", "--every", "5m", "--task", "t"], "schedule name must be"],
    [
      ["add", "n", "--every", "5m", "--task", "t", "--missed", "never"],
      "--missed must be once or skip",
    ],
    [["add", "n", "--every", "5m", "--task", "t", "--queue", "a#b"], "no queue name"],
    [["add", "n", "--every", "1.5s", "--task", "t"], "every must be whole seconds"],
    [["add", "n", "--cron", "0 0 0 1 1 * 2030", "--task", "t"], "it has 7 fields"],
    // `run --queue ,,,` meant every queue, silently.
    [["run", "--queue", ",,,"], "--queue: a queue name in the list is empty"],
    [["run", "--queue", "a,,b"], "--queue: a queue name in the list is empty"],
  ])("%j: one line, exit 2, nothing written", async (args, message) => {
    const prefix = testPrefix();
    // The first through a real process (as the ones with Redis out of reach below), the others
    // in this one (runUsage: the same runCli; refused before Redis, they need no process).
    const real = JSON.stringify(args) === JSON.stringify(["add", "n", "--task", "t"]);
    const r = real
      ? await sched(prefix, args)
      : await runUsage("schedule", [...args, "--prefix", prefix]);
    expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 2, stdout: "" });
    const [first] = r.stderr.split("\n");
    expect(first).toContain(message);
    expect(r.stderr).not.toContain("    at ");
    expect(await scheduleKeysWritten(prefix)).toBe(0);
  });

  // No Redis at all (a closed port): nothing a cluster changes, so not in the cluster pass.
  test.skipIf(!onOneServer).each([
    [["bad name", "--every", "5m", "--task", "t"], "schedule name must be"],
    [["n", "--cron", "* * * * *", "--tz", "Nowhere/Land", "--task", "t"], "is not a time zone"],
    [["n", "--every", "1.5s", "--task", "t"], "every must be whole seconds"],
  ])(
    "add %j with Redis out of reach: the mistake, exit 2 (never a connect error)",
    async (args, message) => {
      const r = await runCli("schedule", ["add", ...args, "--redis-url", "redis://127.0.0.1:1"]);
      expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 2, stdout: "" });
      expect(r.stderr.split("\n")[0]).toContain(message);
      expect(r.stderr).not.toContain("connect");
    },
  );

  test("the same definition added again while paused: unchanged, and says it is paused", async () => {
    const prefix = testPrefix();
    const add = ["add", "n", "--every", "5m", "--task", "t"];
    expect((await sched(prefix, add)).code).toBe(0);
    expect((await sched(prefix, ["pause", "n"])).code).toBe(0);
    const again = await sched(prefix, add);
    expect(again.code).toBe(0);
    expect(again.stdout).toBe(
      "schedule n exists already, unchanged, and paused (schedule.ts resume n runs it); next run none\n",
    );
  });

  test("a paused schedule replaced stays paused: no tick fires until resume", async () => {
    const prefix = testPrefix();
    expect((await sched(prefix, ["add", "n", "--every", "5m", "--task", "t"])).code).toBe(0);
    expect((await sched(prefix, ["pause", "n"])).code).toBe(0);
    const replaced = await sched(prefix, ["add", "n", "--every", "1m", "--task", "t", "--replace"]);
    expect({ code: replaced.code, out: replaced.stdout }).toEqual({
      code: 0,
      out: "schedule n replaced, and still paused (schedule.ts resume n runs it); next run none\n",
    });
    const [s] = JSON.parse((await sched(prefix, ["list", "--json"])).stdout).schedules;
    expect(s).toMatchObject({ name: "n", every_ms: 60_000, paused: true, next: null });
    expect((await sched(prefix, ["resume", "n"])).code).toBe(0);
    const [resumed] = JSON.parse((await sched(prefix, ["list", "--json"])).stdout).schedules;
    expect(resumed).toMatchObject({ every_ms: 60_000, paused: false, next: expect.any(String) });
  });

  test("the same definition again changes nothing; another is refused unless --replace", async () => {
    const prefix = testPrefix();
    const add = ["add", "n", "--every", "5m", "--task", "t", "--payload", '{"a":1}'];
    const first = await sched(prefix, add);
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/^schedule n added; next run \d{4}-\d\d-\d\dT/);
    const again = await sched(prefix, add);
    expect({ code: again.code, out: again.stdout }).toMatchObject({ code: 0 });
    expect(again.stdout).toContain("exists already, unchanged");
    const other = await sched(prefix, ["add", "n", "--every", "10m", "--task", "t"]);
    expect(other.code).toBe(2);
    expect(other.stderr).toContain("exists with another definition");
    const replaced = await sched(prefix, [
      "add",
      "n",
      "--every",
      "10m",
      "--task",
      "t",
      "--replace",
      "--json",
    ]);
    expect(JSON.parse(replaced.stdout)).toMatchObject({
      name: "n",
      every_ms: 600_000,
      created: true,
    });
  });
});

describe("list, pause, resume, remove", () => {
  test("a worker's queue list in COURIER_QUEUE is nothing to refuse: they name no queue (R112)", async () => {
    const prefix = testPrefix();
    const env = { COURIER_QUEUE: "high,default,low" };
    const add = await runCli("schedule", [
      "add",
      "nightly",
      "--every",
      "1h",
      "--task",
      "t",
      "--queue",
      "q",
      "--prefix",
      prefix,
    ]);
    expect(add.code).toBe(0);
    const list = await runCli("schedule", ["list", "--prefix", prefix], { env });
    expect(list.stderr).toBe("");
    expect(list.code).toBe(0);
    expect(list.stdout).toContain("nightly");
    const pause = await runCli("schedule", ["pause", "nightly", "--prefix", prefix], { env });
    expect(pause.code).toBe(0);
    const remove = await runCli("schedule", ["remove", "nightly", "--prefix", prefix], { env });
    expect(remove.code).toBe(0);
  });

  test("text and JSON; pause and resume say what changed; remove; unknown names exit 4", async () => {
    const prefix = testPrefix();
    expect(
      (await sched(prefix, ["add", "web", "--every", "1h", "--url", "https://example.org/"])).code,
    ).toBe(0);
    const cron = [
      "add",
      "paris",
      "--cron",
      "30 2 * * *",
      "--tz",
      "Europe/Paris",
      "--task",
      "report",
      "--queue",
      "reports",
      "--missed",
      "skip",
    ];
    expect((await sched(prefix, cron)).code).toBe(0);
    const text = await sched(prefix, ["list"]);
    expect(text.code).toBe(0);
    const lines = text.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^NAME\s+QUEUE\s+WHEN\s+TASK\s+MISSED\s+NEXT$/);
    expect(lines[1]).toMatch(
      /^paris\s+reports\s+cron 30 2 \* \* \* \(Europe\/Paris\)\s+report\s+skip\s+\d{4}-.*T\d\d:30:00\.000Z$/,
    );
    expect(lines[2]).toMatch(/^web\s+default\s+every 1h\s+wordcount\s+once\s+\d{4}-/);
    const json = JSON.parse((await sched(prefix, ["list", "--json", "--queue", "default"])).stdout);
    expect(json.schedules).toHaveLength(1);
    expect(json.schedules[0]).toMatchObject({
      name: "web",
      queue: "default",
      every_ms: 3_600_000,
      task: "wordcount",
      payload: { url: "https://example.org/" },
      missed: "once",
      paused: false,
    });

    expect((await sched(prefix, ["pause", "web"])).stdout).toBe("schedule web paused\n");
    expect((await sched(prefix, ["pause", "web"])).stdout).toBe("schedule web already paused\n");
    expect((await sched(prefix, ["list"])).stdout).toMatch(/web .*paused\n/);
    expect(JSON.parse((await sched(prefix, ["resume", "web", "--json"])).stdout)).toEqual({
      name: "web",
      changed: true,
    });
    expect((await sched(prefix, ["remove", "web"])).stdout).toBe("schedule web removed\n");
    for (const verb of ["remove", "pause", "resume"]) {
      const r = await sched(prefix, [verb, "web"]);
      expect({ verb, code: r.code, err: r.stderr }).toEqual({
        verb,
        code: 4,
        err: `schedule: no schedule web (prefix ${prefix})\n`,
      });
    }
  });

  // Answered before Redis is reached: nothing a cluster changes (not in the cluster pass).
  test.skipIf(!onOneServer)("--help of each subcommand, exit 0", async () => {
    for (const sub of ["add", "list", "remove", "pause", "resume", "run"]) {
      const r = await runCli("schedule", [sub, "--help"]);
      expect({ sub, code: r.code }).toEqual({ sub, code: 0 });
      expect(r.stdout).toContain(`schedule ${sub}`);
    }
    const add = await runCli("schedule", ["add", "--help"]);
    for (const o of [
      "--every",
      "--cron",
      "--tz",
      "--url",
      "--task",
      "--payload",
      "--queue",
      "--missed",
    ]) {
      expect(add.stdout).toContain(o);
    }
    const top = await runCli("schedule", ["--help"]);
    expect(top.stdout).toContain("add NAME, list, remove NAME, pause NAME, resume NAME, run");
  });
});

test("run: a standalone scheduler fires a due schedule, and stops on SIGTERM", async () => {
  const prefix = testPrefix();
  await using q = await openQueue({ prefix });
  await q.enqueue("t", null); // the queue exists, with its shards (6 in the cluster pass)
  const added = JSON.parse(
    (await sched(prefix, ["add", "s", "--every", "1s", "--task", "t", "--json"])).stdout,
  );
  const tick = Date.parse(added.next);
  const proc = spawnCli("schedule", ["run", "--prefix", prefix, "--log-format", "json"]);
  await waitForLine(proc.stdout, /"scheduler started"/);
  await until(
    async () => (await q.getJob(scheduleJobId("s", tick))) !== null,
    "the first tick's job",
  );
  proc.kill("SIGTERM");
  expect(await proc.exited).toBe(0);
});

test("info shows each queue's schedules and their next runs; OVERDUE when nothing fires one", async () => {
  const prefix = testPrefix();
  await using q = await openQueue({ prefix });
  await q.enqueue("t", null); // the queue exists
  const added = JSON.parse(
    (await sched(prefix, ["add", "daily", "--cron", "0 6 * * *", "--task", "t", "--json"])).stdout,
  );
  const gone = JSON.parse(
    (await sched(prefix, ["add", "gone", "--every", "1s", "--task", "t", "--json"])).stdout,
  );
  await sched(prefix, ["add", "other", "--every", "1h", "--task", "t", "--queue", "elsewhere"]);
  // Nothing runs here, so the 1 s schedule's tick goes by unfired. Its stored tick is moved back
  // to one over LATE_MS past (on Redis' clock, the one info reads; a tick of its own grid), as
  // LATE_MS of waiting would leave it: overdue.
  const past = Date.parse(gone.next) - LATE_MS - 2_000;
  const moved = ["ZADD", scheduleKeys(prefix).next("default"), "XX", "CH", String(past), "gone"];
  expect(await q.client.sendCommand(moved)).toBe(1);
  const json = JSON.parse(
    (await runCli("info", ["--prefix", prefix, "--queue", "default", "--json"])).stdout,
  );
  const [report] = json.queues;
  expect(report.schedules.map((s: { name: string }) => s.name)).toEqual(["daily", "gone"]);
  expect(report.schedules[0]).toEqual({
    name: "daily",
    when: "cron 0 6 * * *",
    task: "t",
    missed: "once",
    paused: false,
    next: added.next,
    overdue: false,
  });
  expect(report.schedules[1]).toMatchObject({
    name: "gone",
    next: new Date(past).toISOString(),
    overdue: true,
  });
  const text = (await runCli("info", ["--prefix", prefix, "--queue", "default"])).stdout;
  expect(text).toMatch(/gone\s+every 1s\s+t\s+\S+ OVERDUE: nothing fires it/);
  expect(text).toContain("  schedules  2, 1 OVERDUE (schedule.ts list)");
  expect(text).toMatch(/ {4}daily\s+cron 0 6 \* \* \*\s+t\s+\d{4}-\d\d-\d\dT06:00:00\.000Z\n/);
}, 30_000);

// A schedule whose queue has no key yet (no job so far: a mistyped queue, no worker): `info`
// left it out, and `info --queue ops` said "no queue ops" (exit 4), though the README says
// info marks a schedule nothing fires OVERDUE.
test("a schedule of a queue with no key yet: info shows it, OVERDUE once late", async () => {
  const prefix = testPrefix();
  const gone = JSON.parse(
    (
      await sched(prefix, [
        "add",
        "ping",
        "--every",
        "1s",
        "--task",
        "t",
        "--queue",
        "ops",
        "--json",
      ])
    ).stdout,
  );
  await using r = await rawRedis();
  const past = Date.parse(gone.next) - LATE_MS - 2_000;
  await r.sendCommand(["ZADD", scheduleKeys(prefix).next("ops"), "XX", String(past), "ping"]);
  for (const args of [[], ["--queue", "ops"]]) {
    const run = await runCli("info", ["--prefix", prefix, ...args, "--json"]);
    expect(run.code).toBe(0);
    const ops = JSON.parse(run.stdout).queues.find((q: { queue: string }) => q.queue === "ops");
    expect(ops?.schedulesOverdue).toBe(1);
    expect(ops?.schedules?.[0]).toMatchObject({ name: "ping", overdue: true });
  }
});

test("a schedules key of another type: info shows the queue (no schedules), exit 0", async () => {
  const prefix = testPrefix();
  await using q = await openQueue({ prefix });
  await q.enqueue("t", null);
  await q.client.sendCommand(["SET", scheduleKeys(prefix).defs, "not a hash"]);
  const r = await runCli("info", ["--prefix", prefix, "--queue", "default", "--json"]);
  expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
  const [report] = JSON.parse(r.stdout).queues;
  expect(report).toMatchObject({ queue: "default", waiting: 1 });
  expect(report.schedules).toBeUndefined();
});

test("worker --no-schedules fires none; a worker without it fires its queue's", async () => {
  const prefix = testPrefix();
  await using q = await openQueue({ prefix });
  await q.enqueue("t", null); // the queue exists, with its shards
  const added = JSON.parse(
    (await sched(prefix, ["add", "s", "--every", "1s", "--task", "t", "--json"])).stdout,
  );
  const tick = Date.parse(added.next);
  const quiet = spawnCli("worker", ["--prefix", prefix, "--no-schedules", "--log-format", "json"]);
  await waitForLine(quiet.stdout, /"worker started"/);
  // Two ticks come and go with only the quiet worker: no job.
  await until(async () => (await redisTime(q.client)) > tick + 2_100, "two ticks", 5_000);
  expect(await q.getJob(scheduleJobId("s", tick))).toBeNull();
  const firing = spawnCli("worker", ["--prefix", prefix, "--log-format", "json"]);
  await waitForLine(firing.stdout, /"worker started"/);
  // Its ticks are late now, some missed: one of the first ten gets its job.
  await until(() => anyTick(), "a tick's job");
  for (const p of [quiet, firing]) p.kill("SIGTERM");
  expect(await Promise.all([quiet.exited, firing.exited])).toEqual([0, 0]);

  async function anyTick(): Promise<boolean> {
    const ids = Array.from({ length: 10 }, (_, i) => scheduleJobId("s", tick + i * 1_000));
    return (await q.getJobs(ids)).some((j) => j !== null);
  }
}, 30_000);
