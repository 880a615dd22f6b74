// `trigger --task NAME` through the real CLIs against Redis: any task with a JSON payload (from
// --payload, a file or stdin) run by a worker that has it, jobs scheduled for later (--delay,
// --at: `result` says scheduled and when they run, by Redis' clock), idempotency by --id, and
// each mistake refused in one line with nothing enqueued.
import { describe, expect, test } from "bun:test";
import { rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { lostReplyHint } from "../lib/cli/trigger.ts";
import { shardKeys } from "../lib/engine/keys.ts";
import { defineTask } from "../lib/types.ts";
import { runUsage } from "./fixtures/cli/in-process.ts";
import {
  onOneServer,
  openQueue,
  rawRedis,
  redisTime,
  runCli,
  startWorker,
  testPrefix,
  testShards,
  until,
} from "./helpers.ts";

const SHARDS = testShards() ?? 1;

/** Jobs anywhere in the default queue: entries in its streams plus jobs in its delayed sets. */
async function jobsIn(prefix: string): Promise<number> {
  await using r = await rawRedis();
  let n = 0;
  for (const k of shardKeys(prefix, "default", SHARDS)) {
    n += Number(await r.sendCommand(["XLEN", k.stream]));
    n += Number(await r.sendCommand(["ZCARD", k.delayed]));
  }
  return n;
}

/** A task of the test's own, run by a worker in this process: the payload comes back. */
const echo = defineTask({ name: "echo", run: async (payload: unknown) => ({ echoed: payload }) });

/** A worker with the echo task, stopped when the test's scope ends (`await using`). */
async function echoWorker(prefix: string) {
  const w = await startWorker({ prefix, tasks: [echo] });
  return { [Symbol.asyncDispose]: () => w.stop() };
}

const trigger = (prefix: string, args: string[], stdin?: string) =>
  runCli("trigger", ["--prefix", prefix, ...args], { stdin });
const result = (prefix: string, args: string[]) => runCli("result", ["--prefix", prefix, ...args]);

describe("any task from the command line", () => {
  test("--task with --payload: the worker that has the task runs it (--wait --json)", async () => {
    const prefix = testPrefix();
    await using _worker = await echoWorker(prefix);
    const r = await trigger(prefix, ["--task", "echo", "--payload", '{"n":1}', "--wait", "--json"]);
    expect(r.stderr).toContain("enqueued, waiting for it");
    expect(r.stderr).not.toContain("no live worker");
    expect(r.code).toBe(0);
    const job = JSON.parse(r.stdout);
    expect(job).toMatchObject({ task: "echo", status: "finished", payload: { n: 1 } });
    expect(job.result).toEqual({ echoed: { n: 1 } });
  });

  test("--task --wait for a task no live worker has says so: the wait would not end", async () => {
    const prefix = testPrefix();
    const r = await trigger(prefix, ["--task", "nobody-has", "--wait", "0"]);
    expect(r.code).toBe(5);
    expect(r.stderr).toContain(
      'trigger: no live worker has task "nobody-has" now: the job waits for one (a mistyped --task?)\n',
    );
  });

  test("a wait for a word count with no worker running says so, and result --wait too; with one, nothing", async () => {
    const prefix = testPrefix();
    const url = "http://127.0.0.1:9/page";
    const r = await trigger(prefix, ["--url", url, "--wait", "0"]);
    expect(r.code).toBe(5);
    const note =
      'no live worker has task "wordcount" now: the job waits for one (start one: worker)';
    expect(r.stderr).toContain(`trigger: ${note}\n`);
    const id = r.stdout.split("\n")[0]!.replace(/^id: +/, "");
    const waited = await result(prefix, [id, "--wait", "0"]);
    expect(waited.code).toBe(5);
    expect(waited.stderr).toStartWith(`result: ${note}\n`);
    // Another queue is named in the hint; a queued job read without --wait says nothing.
    const other = await trigger(prefix, ["--url", url, "--wait", "0", "--queue", "other"]);
    expect(other.stderr).toContain("waits for one (start one: worker --queue other)\n");
    expect((await result(prefix, [id])).stderr).toBe("");
    // A live worker that has the task (the word count, in the tasks hash as CLI workers write it).
    await using queue = await openQueue({ prefix });
    const aliveUntil = (await redisTime(queue.client)) + 60_000;
    const field = "alive_until:wordcount";
    await queue.client.sendCommand(["HSET", queue.keys.tasks, field, String(aliveUntil)]);
    const served = await trigger(prefix, ["--url", url, "--wait", "0"]);
    expect(served.stderr).not.toContain("no live worker");
    expect((await result(prefix, [id, "--wait", "0"])).stderr).not.toContain("no live worker");
  });

  test("--payload-file from a file and from stdin; no payload is null", async () => {
    const prefix = testPrefix();
    const file = join(tmpdir(), `${prefix}.json`);
    writeFileSync(file, '{\n  "from": "file"\n}\n');
    try {
      const fromFile = await trigger(prefix, ["--task", "echo", "--payload-file", file]);
      const fromStdin = await trigger(prefix, ["--task", "echo", "--payload-file", "-"], '["in"]');
      const none = await trigger(prefix, ["--task", "echo", "--max-attempts", "2"]);
      for (const r of [fromFile, fromStdin, none]) expect(r.code).toBe(0);
      await using _worker = await echoWorker(prefix);
      const ids = [fromFile, fromStdin, none].map((r) => r.stdout.trim());
      const read = await Promise.all(
        ids.map((id) => result(prefix, [id, "--wait", "10", "--json"])),
      );
      expect(read.map((r) => JSON.parse(r.stdout).result)).toEqual([
        { echoed: { from: "file" } },
        { echoed: ["in"] },
        { echoed: null },
      ]);
      expect(JSON.parse(read[2]!.stdout).maxAttempts).toBe(2);
    } finally {
      rmSync(file, { force: true });
    }
  });

  test("a task no worker has is enqueued all the same: it waits, queued", async () => {
    const prefix = testPrefix();
    const r = await trigger(prefix, ["--task", "resize-later", "--payload", '"x.png"', "--json"]);
    expect(r.code).toBe(0);
    const { id, task, created } = JSON.parse(r.stdout);
    expect({ task, created }).toEqual({ task: "resize-later", created: true });
    const shown = await result(prefix, [id, "--json"]);
    expect(shown.code).toBe(3);
    expect(JSON.parse(shown.stdout)).toMatchObject({ status: "queued", payload: "x.png" });
  });

  test("the built-in task by name takes its payload checked as --url does", async () => {
    const prefix = testPrefix();
    const args = ["--task", "wordcount", "--payload", '{"url":"www.example.org"}', "--json"];
    const r = await trigger(prefix, args);
    expect(r.code).toBe(0);
    const shown = await result(prefix, [JSON.parse(r.stdout).id, "--json"]);
    expect(JSON.parse(shown.stdout).payload).toEqual({ url: "https://www.example.org/" });
  });
});

describe("trigger refuses, in one line, enqueuing nothing", () => {
  // biome-ignore format: a table
  const cases: [string, string[], string][] = [
    ["--url and --task", ["--url", "a.org", "--task", "echo"], "give either --task NAME or a URL (--url, --file), not both"],
    ["--file and --task", ["--file", "-", "--task", "echo"], "give either --task NAME or a URL (--url, --file), not both"],
    ["--payload without --task", ["--url", "a.org", "--payload", "1"], "--payload goes with --task"],
    ["--payload-file without --task", ["--url", "a.org", "--payload-file", "-"], "--payload-file goes with --task"],
    ["--payload not JSON", ["--task", "echo", "--payload", "{n:1}"], "--payload is not JSON"],
    ["a bare word as payload", ["--task", "echo", "--payload", "hello"], `--payload is not JSON: an unexpected character where a value should be at line 1, column 1; a string needs its quotes: --payload '"text"'`],
    ["both payloads", ["--task", "echo", "--payload", "1", "--payload-file", "-"], "give --payload or --payload-file, not both"],
    ["a payload file not JSON", ["--task", "echo", "--payload-file", "-"], "the payload in standard input is not JSON: an unexpected character where a value should be at line 1, column 1"],
    ["a missing payload file", ["--task", "echo", "--payload-file", "/nonexistent/p.json"], "cannot read /nonexistent/p.json: no such file"],
    ["a task name with a space", ["--task", "send mail"], '"send mail" is not a task name: no spaces or control characters'],
    ["a task name with a right-to-left override", ["--task", "a\u202eb"], '"a\\u202eb" is not a task name: no spaces or control characters'],
    ["a task name with a tag character", ["--task", "a\u{e0041}b"], '"a\\u{e0041}b" is not a task name: no spaces or control characters'],
    ["a task name too long", ["--task", "t".repeat(101)], "a task name is at most 100 characters"],
    ["the built-in task, a bad payload", ["--task", "wordcount", "--payload", "{}"], 'task wordcount takes the payload {"url": "…"} (or use --url)'],
    ["--delay and --at", ["--task", "echo", "--delay", "1m", "--at", "2026-12-01T09:00Z"], "give --delay or --at, not both"],
    ["--delay with no unit", ["--task", "echo", "--delay", "10"], '--delay: "10" is not a duration'],
    ["--delay past a year", ["--task", "echo", "--delay", "366d"], "--delay is at most a year (365d)"],
    ["--at with no zone", ["--task", "echo", "--at", "2026-12-01T09:00"], '--at "2026-12-01T09:00" is not a time: use ISO 8601 with a zone'],
    ["--at out of range", ["--task", "echo", "--at", "2026-02-30T09:00Z"], '--at "2026-02-30T09:00Z" is not a time'],
    ["--at past a year", ["--task", "echo", "--at", "2999-01-01T00:00Z"], "--at is at most a year ahead"],
    ["--id with --file", ["--file", "-", "--id", "k1"], "--id names one job: with --file use --id-from-url"],
    ["--id with --id-from-url", ["--url", "a.org", "--id", "k1", "--id-from-url"], "give --id or --id-from-url, not both"],
    ["--id-from-url with --task", ["--task", "echo", "--id-from-url"], "--id-from-url goes with --url/--file (use --id KEY with --task)"],
    ["--id-from-url with --task and a payload", ["--task", "echo", "--payload", '{"a":1}', "--id-from-url"], "--id-from-url goes with --url/--file (use --id KEY with --task)"],
    ["--id-from-url and --id with --task", ["--task", "echo", "--id", "k1", "--id-from-url"], "--id-from-url goes with --url/--file (use --id KEY with --task)"],
    ["--id of Courier's form", ["--task", "echo", "--id", "123-4"], '--id: job id "123-4" has the form of an id Courier makes'],
    ["--id with a space", ["--task", "echo", "--id", "a b"], '--id: job id "a b" must be 1-128 letters'],
    ["--skip with --task", ["--task", "echo", "--skip", "1"], "--skip goes with --file"],
    ["neither --task nor a URL", ["--json"], "give --task NAME --payload JSON, or --url URL or --file PATH"],
  ];
  test.each(cases)("%s: exit 2", async (_, args, message) => {
    const prefix = testPrefix();
    // Those that read standard input (-) through a real process; the others, refused before
    // Redis, in this one (runUsage: the same runCli, ~0.2 s of CPU less each).
    const r = args.includes("-")
      ? await trigger(prefix, args, "not json, and a URL list\nhttps://example.org/\n")
      : await runUsage("trigger", ["--prefix", prefix, ...args]);
    expect(r.stdout).toBe("");
    const line = r.stderr.split("\n")[0]!;
    expect(line).toStartWith("trigger: ");
    expect(line).toContain(message);
    expect(r.code).toBe(2);
    expect(await jobsIn(prefix)).toBe(0);
  });

  test("a payload file over 1 MiB is refused without reading it all", async () => {
    const prefix = testPrefix();
    const big = `"${"x".repeat(1024 * 1024)}"`;
    const r = await trigger(prefix, ["--task", "echo", "--payload-file", "-"], big);
    expect(r.code).toBe(2);
    expect(r.stderr.split("\n")[0]).toBe(
      "trigger: the payload in standard input is over 1048576 bytes (1 MiB): keep big data elsewhere and pass a reference to it",
    );
    expect(await jobsIn(prefix)).toBe(0);
  });
});

describe("scheduled for later", () => {
  test("--delay 1h: result says scheduled and when it runs (exit 3); a worker does not run it", async () => {
    const prefix = testPrefix();
    await using _worker = await echoWorker(prefix);
    const r = await trigger(prefix, ["--task", "echo", "--payload", "1", "--delay", "1h"]);
    expect(r.code).toBe(0);
    const id = r.stdout.trim();
    const json = await result(prefix, [id, "--json"]);
    expect(json.code).toBe(3);
    const job = JSON.parse(json.stdout);
    expect(job.status).toBe("scheduled");
    // Due an hour after its enqueue, both read from Redis' clock in the same script call.
    expect(Date.parse(job.runAt) - Date.parse(job.enqueuedAt)).toBe(3_600_000);
    const text = await result(prefix, [id]);
    expect(text.code).toBe(3);
    expect(text.stdout).toMatch(/^status:\s+scheduled$/m);
    expect(text.stdout).toContain(`runs at:  ${job.runAt}`);

    // A short delay enqueued after it runs through the same worker (its promotions go on)…
    const soon = await trigger(prefix, ["--task", "echo", "--payload", "2", "--delay", "200ms"]);
    const waited = await result(prefix, [soon.stdout.trim(), "--wait", "10", "--json"]);
    expect(waited.code).toBe(0);
    const ran = JSON.parse(waited.stdout);
    expect(ran).toMatchObject({ status: "finished", result: { echoed: 2 }, runAt: null });
    // …started no sooner than it was due (Redis' clock: the run's start is its end minus its run time).
    expect(Date.parse(ran.startedAt)).toBeGreaterThanOrEqual(Date.parse(ran.enqueuedAt) + 200);
    // …while the first is still scheduled.
    expect(JSON.parse((await result(prefix, [id, "--json"])).stdout).status).toBe("scheduled");
  });

  test("--at: due at that time exactly (Redis' clock); a time already past runs at once", async () => {
    const prefix = testPrefix();
    await using r = await rawRedis();
    const at = new Date((await redisTime(r)) + 7_200_000).toISOString();
    const later = await trigger(prefix, ["--task", "echo", "--at", at, "--json"]);
    expect(later.code).toBe(0);
    const shown = JSON.parse(
      (await result(prefix, [JSON.parse(later.stdout).id, "--json"])).stdout,
    );
    expect(shown).toMatchObject({ status: "scheduled", runAt: at });

    // Given with a zone other than UTC: the same instant.
    const zoned = await trigger(prefix, ["--task", "echo", "--at", "2020-01-01T01:00+01:00"]);
    expect(zoned.code).toBe(0);
    await using _worker = await echoWorker(prefix);
    const past = await trigger(prefix, [
      "--task",
      "echo",
      "--payload",
      '"now"',
      "--at",
      "2020-01-01T00:00Z",
      "--wait",
      "--json",
    ]);
    expect(past.code).toBe(0);
    expect(JSON.parse(past.stdout)).toMatchObject({
      status: "finished",
      result: { echoed: "now" },
    });
    expect((await result(prefix, [zoned.stdout.trim(), "--wait", "10"])).code).toBe(0);
  });
});

test("a retry waiting on its back-off stays retrying, and says when it runs again", async () => {
  const prefix = testPrefix();
  const fails = defineTask({
    name: "fails",
    run: async () => {
      throw new Error("not yet");
    },
  });
  const hour = { backoffBaseMs: 3_600_000, backoffMaxMs: 3_600_000 };
  const w = await startWorker({ prefix, tasks: [fails], ...hour });
  try {
    const id = (await trigger(prefix, ["--task", "fails"])).stdout.trim();
    await using q = await openQueue({ prefix });
    await until(
      async () => (await q.getJob(id))?.status === "retrying",
      "the first attempt failed",
    );
    const json = await result(prefix, [id, "--json"]);
    expect(json.code).toBe(3);
    const job = JSON.parse(json.stdout);
    expect(job.status).toBe("retrying");
    // Due after the failed run ended (both Redis' clock), an hour's back-off (with jitter) later.
    expect(Date.parse(job.runAt)).toBeGreaterThan(Date.parse(job.history[0].endedAt));
    const text = await result(prefix, [id]);
    expect(text.stdout).toMatch(/^status:\s+retrying$/m);
    expect(text.stdout).toContain(`runs at:  ${job.runAt}`);
  } finally {
    await w.stop();
  }
});

describe("--id: idempotent", () => {
  test("a second trigger with the same key enqueues nothing and prints the existing id", async () => {
    const prefix = testPrefix();
    const args = ["--task", "echo", "--payload", "1", "--id", "nightly-2026-12-01"];
    const first = await trigger(prefix, args);
    expect(first).toMatchObject({ code: 0, stdout: "nightly-2026-12-01\n", stderr: "" });
    const again = await trigger(prefix, [...args.slice(0, 3), "2"].concat(args.slice(4)));
    expect(again.code).toBe(0);
    expect(again.stdout).toBe("nightly-2026-12-01\n");
    expect(again.stderr).toBe(
      "trigger: job nightly-2026-12-01 exists already (queued, task echo): nothing enqueued (result nightly-2026-12-01 shows it)\n",
    );
    const json = await trigger(prefix, [...args, "--json"]);
    expect(JSON.parse(json.stdout)).toEqual({
      line: 1,
      id: "nightly-2026-12-01",
      task: "echo",
      status: "queued",
      created: false,
    });
    expect(await jobsIn(prefix)).toBe(1);
    // The job is the first one, payload and all.
    const shown = JSON.parse((await result(prefix, ["nightly-2026-12-01", "--json"])).stdout);
    expect(shown).toMatchObject({ status: "queued", payload: 1 });
  });

  test("the key of a canceled job of another task: the stored job's status and task are said", async () => {
    const prefix = testPrefix();
    const first = await trigger(prefix, ["--task", "first", "--id", "k-1"]);
    expect(first.code).toBe(0);
    expect((await runCli("cancel", ["k-1", "--prefix", prefix])).code).toBe(0);
    const again = await trigger(prefix, ["--task", "second", "--id", "k-1"]);
    expect(again).toMatchObject({ code: 0, stdout: "k-1\n" });
    expect(again.stderr).toBe(
      "trigger: job k-1 exists already (canceled, task first): nothing enqueued (result k-1 shows it)\n",
    );
    const json = await trigger(prefix, ["--task", "second", "--id", "k-1", "--json"]);
    expect(JSON.parse(json.stdout)).toEqual({
      line: 1,
      id: "k-1",
      task: "first",
      status: "canceled",
      created: false,
    });
    // A new job is said as before: no status, the task given.
    const fresh = await trigger(prefix, ["--task", "second", "--id", "k-2", "--json"]);
    expect(JSON.parse(fresh.stdout)).toEqual({ line: 1, id: "k-2", task: "second", created: true });
  });

  test("with --delay: one scheduled job; with --url: the word count's id is the key", async () => {
    const prefix = testPrefix();
    for (let i = 0; i < 2; i++) {
      const r = await trigger(prefix, ["--task", "echo", "--id", "later-1", "--delay", "1h"]);
      expect(r).toMatchObject({ code: 0, stdout: "later-1\n" });
    }
    for (let i = 0; i < 2; i++) {
      const r = await trigger(prefix, ["--url", "example.org", "--id", "page-1"]);
      expect(r).toMatchObject({ code: 0, stdout: "page-1\n" });
    }
    expect(await jobsIn(prefix)).toBe(2);
    const shown = JSON.parse((await result(prefix, ["later-1", "--json"])).stdout);
    expect(shown.status).toBe("scheduled");
  });
});

test("after a lost reply, a trigger with --id is said to be safe to run again", () => {
  expect(lostReplyHint(false, false, 0, true)).toEndWith(
    "; running the same command again enqueues nothing twice (--id)",
  );
  expect(lostReplyHint(false, false, 0)).toEndWith(
    "; running the command again would enqueue it a second time",
  );
});

// Answered before Redis is reached: nothing a cluster changes (not in the cluster pass).
test.skipIf(!onOneServer)("--help names the task, payload, schedule and id options", async () => {
  const r = await runCli("trigger", ["--help"]);
  expect(r.code).toBe(0);
  for (const option of ["--task", "--payload", "--payload-file", "--delay", "--at", "--id"]) {
    expect(r.stdout).toContain(option);
  }
  expect(r.stdout).toContain("default null");
  expect(r.stdout).toContain("a time already past runs at once");
});
