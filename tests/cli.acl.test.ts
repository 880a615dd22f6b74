// Redis ACL users with the rules README.md gives each role (read from README.md itself, so the
// documentation cannot drift from what works): a producer, a worker and an admin do their
// whole job with them; a user lacking a command gets one line naming it and exit 6.
import { afterEach, describe, expect, test } from "bun:test";
import { startDashboard } from "../lib/dashboard/server.ts";
import { queueKeys } from "../lib/engine/keys.ts";
import { aclUser, dropAclUsers, readmeRules, userWith } from "./fixtures/acl.ts";
import { backgroundWorker, HTML, pages, triggerOne } from "./fixtures/cli/harness.ts";
import {
  type CliResult,
  oneShardFile,
  openQueue,
  rawRedis,
  readUntil,
  runCli,
  spawnCli,
  testPrefix,
  until,
} from "./helpers.ts";

// Reads the queue's raw keys in the one-shard layout (queueKeys).
oneShardFile();

const STACK_FRAME = /^\s+at .+:\d+/m;

afterEach(dropAclUsers);
function expectRefused(r: CliResult, cli: string, message: RegExp): void {
  expect(r.code).toBe(6);
  expect(r.stdout).toBe("");
  expect(r.stderr).not.toMatch(STACK_FRAME);
  expect(r.stderr.trimEnd().split("\n")).toHaveLength(1);
  expect(r.stderr).toStartWith(`${cli}: `);
  expect(r.stderr).toMatch(message);
  expect(r.stderr).not.toContain("pw-");
}

describe("the README's rules are enough for each role", () => {
  test("producer, worker and admin do their whole job; the producer cannot read jobs off the stream", async () => {
    const prefix = testPrefix();
    const as = (url: string) => ["--prefix", prefix, "--redis-url", url];
    const producer = as(await aclUser("producer", prefix));
    const admin = as(await aclUser("admin", prefix));
    const workerUrl = await aclUser("worker", prefix);
    await using redis = await rawRedis();
    const dry = await redis
      .sendCommand([
        "ACL",
        "DRYRUN",
        `courier-producer-${prefix}`,
        "XREADGROUP",
        "GROUP",
        "g",
        "c",
        "STREAMS",
        `${prefix}:x`,
        ">",
      ])
      .catch((e: Error) => e.message);
    expect(String(dry)).toContain("no permissions to run the 'xreadgroup' command");

    const site = pages((path) =>
      path === "/ok"
        ? new Response("<p>three small words</p>", { headers: HTML })
        : new Response("down", { status: path === "/down" ? 503 : 404 }),
    );
    const worker = backgroundWorker(prefix, "--redis-url", workerUrl, "--name", "acl-worker");
    try {
      await worker.logged("worker started");
      const wait = ["--json", "--wait", "20", "--url"];
      const ok = await runCli("trigger", [...producer, ...wait, site.url("/ok")]);
      expect(ok.code).toBe(0);
      expect(JSON.parse(ok.stdout)).toMatchObject({ status: "finished" });
      const retried = ["--max-attempts", "2", ...wait, site.url("/down")];
      expect((await runCli("trigger", [...producer, ...retried])).code).toBe(1);
      const lost = await triggerOne(prefix, site.url("/missing"), ...producer.slice(2));
      const shown = await runCli("result", [...producer, "--jobid", lost, "--wait", "20"]);
      expect(shown.code).toBe(1);

      for (const args of [
        ["info"],
        ["dead", "list"],
        ["dead", "show", lost],
        ["dead", "requeue", "--all"],
      ]) {
        const r = await runCli(args[0]!, [...args.slice(1), ...admin]);
        expect({ args, code: r.code, stderr: r.stderr }).toEqual({ args, code: 0, stderr: "" });
      }
      const again = await runCli("result", [
        ...producer,
        "--jobid",
        lost,
        "--wait",
        "20",
        "--json",
      ]);
      expect(JSON.parse(again.stdout)).toMatchObject({ status: "failed", attempts: 1 });
      const purged = await runCli("dead", ["purge", "--all", "--json", ...admin]);
      expect(JSON.parse(purged.stdout).purged).toBeGreaterThan(0);
      const states = ["waiting", "running", "delayed", "finished", "failed", "dead", "canceled"];
      for (const args of [
        ["pause", "default"],
        ["resume", "default"],
        ...states.map((s) => ["jobs", "default", "--state", s]),
        ["empty", "default", "--all"],
      ]) {
        const r = await runCli("queue", [...args, ...admin]);
        expect({ args, code: r.code, stderr: r.stderr }).toEqual({ args, code: 0, stderr: "" });
      }
    } finally {
      worker.proc.kill("SIGTERM");
      const ended = await worker.ended();
      site.stop();
      expect(ended.code).toBe(0);
      expect(ended.stderr).toBe("");
      expect(ended.stdout).not.toMatch(/NOPERM|refused|read failed|command failed/);
    }
  });
});

test("the admin rules are enough for cancel: a queued job canceled, a second cancel a no-op", async () => {
  const prefix = testPrefix();
  const admin = ["--prefix", prefix, "--redis-url", await aclUser("admin", prefix)];
  const site = pages(() => new Response("<p>x</p>", { headers: HTML }));
  try {
    const id = await triggerOne(prefix, site.url("/c"));
    const first = await runCli("cancel", [...admin, id]);
    expect(first).toEqual({ code: 0, stdout: `${id}: canceled (was queued)\n`, stderr: "" });
    const again = await runCli("cancel", [...admin, id]);
    expect(again.stdout).toBe(`${id}: already canceled, nothing to cancel\n`);
  } finally {
    site.stop();
  }
});

test("the admin rules are enough for the dashboard: every read, a gone worker pruned, the actions", async () => {
  const prefix = testPrefix();
  const token = "acl-test-token-0001";
  const d = await startDashboard({
    redisUrl: await aclUser("admin", prefix),
    prefix,
    port: 0,
    token,
  });
  try {
    await using q = await openQueue({ prefix });
    const id = await q.enqueue("wordcount", { url: "https://example.org/" });
    await using redis = await rawRedis();
    // A worker that stopped heart-beating long ago: reading the workers prunes it.
    await redis.sendCommand(["ZADD", q.keys.workers, "1", "ghost"]);
    const auth = { "x-courier-token": token, "content-type": "application/json" };
    const reads = [
      "/api/overview",
      "/api/workers",
      "/api/failures",
      "/api/dead",
      `/api/jobs/${id}`,
      "/metrics",
    ];
    for (const path of reads) {
      const res = await fetch(d.url + path);
      expect({ path, status: res.status }).toEqual({ path, status: 200 });
      await res.arrayBuffer();
    }
    expect(await redis.sendCommand(["ZSCORE", q.keys.workers, "ghost"])).toBeNull();
    const trigger = await fetch(`${d.url}/api/trigger`, {
      method: "POST",
      headers: auth,
      body: JSON.stringify({ url: "https://example.org/x" }),
    });
    expect(trigger.status).toBe(201);
    const requeue = await fetch(`${d.url}/api/dead/requeue-all`, {
      method: "POST",
      headers: auth,
      body: "{}",
    });
    expect(requeue.status).toBe(200);
  } finally {
    await d.stop();
  }
});

describe("a producer that may only enqueue", () => {
  test("the README's first producer line alone: trigger on a fresh queue (no meta yet) works", async () => {
    const prefix = testPrefix();
    const firstLine = readmeRules().get("producer")!.slice(0, 1);
    const url = await userWith("producer", prefix, firstLine);
    const r = await runCli("trigger", [
      "--prefix",
      prefix,
      "--redis-url",
      url,
      "--url",
      "https://example.org/",
    ]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    await using redis = await rawRedis();
    expect(await redis.sendCommand(["XLEN", `${prefix}:{default}:stream`])).toBe(1);
  });

  test("without XREVRANGE (the events cursor the enqueue script reads for waiters): trigger works", async () => {
    const prefix = testPrefix();
    const url = await aclUser("producer", prefix, "-xrevrange");
    const r = await runCli("trigger", [
      "--prefix",
      prefix,
      "--redis-url",
      url,
      "--url",
      "https://example.org/",
    ]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    await using redis = await rawRedis();
    expect(await redis.sendCommand(["XLEN", `${prefix}:{default}:stream`])).toBe(1);
  });
});

describe("a user lacking a command: one line naming it, exit 6", () => {
  test("trigger without XADD (inside the enqueue script)", async () => {
    const prefix = testPrefix();
    const url = await aclUser("producer", prefix, "-xadd");
    const r = await runCli("trigger", [
      "--prefix",
      prefix,
      "--redis-url",
      url,
      "--url",
      "https://example.org/",
    ]);
    expectRefused(
      r,
      "trigger",
      /inside Courier's enqueue script \(NOPERM\): the Redis user needs all of \+exists \+get \+hincrby \+hmget \+hset \+set \+time \+type \+xadd \+xdel \+xrevrange \+zadd; see "Redis ACL"/,
    );
  });

  test("result without HGETALL (inside the status script)", async () => {
    const prefix = testPrefix();
    const url = await aclUser("producer", prefix, "-hgetall");
    const r = await runCli("result", ["--prefix", prefix, "--redis-url", url, "--jobid", "x"]);
    expectRefused(
      r,
      "result",
      /inside Courier's status script \(NOPERM\): the Redis user needs all of \+get \+getrange \+hgetall \+hkeys \+hmget \+time \+xpending \+xrange \+zscore; see "Redis ACL"/,
    );
  });

  test("worker without XREADGROUP and XCLAIM: refused at start, both named", async () => {
    const prefix = testPrefix();
    const url = await aclUser("worker", prefix, "-xreadgroup", "-xclaim");
    const r = await runCli("worker", ["--prefix", prefix, "--redis-url", url, "--burst"]);
    expectRefused(r, "worker", /the Redis user lacks \+xreadgroup \+xclaim; see "Redis ACL"/);
  });

  test("worker without MULTI: its start check is skipped, and writes nothing to the queue", async () => {
    const prefix = testPrefix();
    const url = await aclUser("worker", prefix, "-multi");
    const r = await runCli("worker", ["--prefix", prefix, "--redis-url", url, "--burst"]);
    expect(r.code).toBe(0); // nothing to do: burst mode ends
    expect(r.stderr).not.toMatch(STACK_FRAME);
    // The check's commands were never sent outside a MULTI, where they would have run.
    await using redis = await rawRedis();
    const keys = queueKeys(prefix, "default");
    expect(await redis.sendCommand(["EXISTS", keys.record("permission-check")])).toBe(0);
    expect(await redis.sendCommand(["EXISTS", keys.delayed, keys.dead])).toBe(0);
    expect(await redis.sendCommand(["XLEN", keys.stream])).toBe(0);
  });

  test("worker whose key pattern misses the prefix", async () => {
    const prefix = testPrefix();
    const url = await aclUser("worker", prefix);
    const r = await runCli("worker", ["--prefix", `${prefix}x`, "--redis-url", url, "--burst"]);
    expectRefused(r, "worker", new RegExp(`lacks ~${prefix}x:\\* \\(its keys\\)`));
  });

  test("info without XINFO GROUPS", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix }); // a queue to read: info reads only those that exist
    await q.enqueue("t", null);
    const url = await aclUser("admin", prefix, "-xinfo|groups");
    const r = await runCli("info", ["--prefix", prefix, "--redis-url", url]);
    expectRefused(
      r,
      "info",
      /Redis refused XINFO\|GROUPS \(NOPERM\): the Redis user needs \+xinfo\|groups/,
    );
  });
});

test("a key of the wrong type (WRONGTYPE): the queue is reported unreadable, the others shown, exit 6", async () => {
  const prefix = testPrefix();
  await using q = await openQueue({ prefix, queue: "good" });
  await q.enqueue("t", null);
  await using redis = await rawRedis();
  await redis.sendCommand(["SET", queueKeys(prefix, "default").stream, "not a stream"]);
  const r = await runCli("info", ["--prefix", prefix]);
  expect(r.code).toBe(6);
  expect(r.stderr).not.toMatch(STACK_FRAME);
  expect(r.stdout).toMatch(
    /^queue default\n {2}unreadable: a key of this queue holds another type/m,
  );
  expect(r.stdout).toMatch(/^queue good\n {2}waiting 1 /m);
  // --watch goes on past it (the others are worth watching, the key may be mended), says it on
  // stderr once, and exits 6 when stopped while the queue is unreadable (R-192).
  const watch = spawnCli("info", ["--prefix", prefix, "--watch", "--interval", "1"]);
  const out = await readUntil(watch.stdout.getReader(), (t) => /^queue good\n/m.test(t));
  expect(out).toMatch(/^queue default\n {2}unreadable: a key of this queue holds another type/m);
  watch.kill("SIGINT");
  const [code, err] = await Promise.all([watch.exited, new Response(watch.stderr).text()]);
  expect(code).toBe(6);
  expect(err).toMatch(/^info: queue default unreadable: /m);
  expect(err).not.toMatch(STACK_FRAME);
  const one = await runCli("info", ["--prefix", prefix, "--queue", "default", "--json"]);
  expect(one.code).toBe(6);
  expect(JSON.parse(one.stdout).queues).toEqual([
    { queue: "default", unreadable: expect.stringContaining("another type") },
  ]);
});

test("the admin rules are enough for schedule.ts; the worker's to fire a schedule", async () => {
  const prefix = testPrefix();
  const admin = ["--prefix", prefix, "--redis-url", await aclUser("admin", prefix)];
  const producer = ["--prefix", prefix, "--redis-url", await aclUser("producer", prefix)];
  const site = pages(() => new Response("<p>on time</p>", { headers: HTML }));
  const workerUrl = await aclUser("worker", prefix);
  const worker = backgroundWorker(prefix, "--redis-url", workerUrl);
  let runner: ReturnType<typeof spawnCli> | undefined;
  try {
    await worker.logged("worker started");
    const add = ["add", "s", "--every", "1s", "--url", site.url("/tick"), "--json", ...admin];
    const added = await runCli("schedule", add);
    expect({ code: added.code, stderr: added.stderr }).toEqual({ code: 0, stderr: "" });
    const tick = Date.parse(JSON.parse(added.stdout).next);
    const job = [...producer, "--jobid", `sched:s:${tick}`];
    // Unknown until the worker fires the tick (looked for in-process: a `result` spawn per look
    // cost more); then waited for by the producer.
    await using q = await openQueue({ prefix });
    await until(async () => (await q.getJob(`sched:s:${tick}`)) !== null, "the tick's job");
    const ran = await runCli("result", [...job, "--wait", "20"]);
    expect(ran.code).toBe(0);
    for (const args of [["list"], ["pause", "s"], ["resume", "s"], ["remove", "s"]]) {
      const r = await runCli("schedule", [...args, ...admin]);
      expect({ args, code: r.code, stderr: r.stderr }).toEqual({ args, code: 0, stderr: "" });
    }
    // `schedule.ts run` (every queue: a page of `queues` a pass, SSCAN) with the worker's rules.
    const other = ["add", "o", "--every", "1s", "--task", "t", "--queue", "other", "--json"];
    const o = JSON.parse((await runCli("schedule", [...other, ...admin])).stdout);
    const run = ["run", "--prefix", prefix, "--redis-url", workerUrl, "--log-format", "json"];
    runner = spawnCli("schedule", run);
    await using elsewhere = await openQueue({ prefix, queue: "other" });
    const first = `sched:o:${Date.parse(o.next)}`;
    await until(async () => (await elsewhere.getJob(first)) !== null, "`run`'s first tick");
    runner.kill("SIGTERM");
    expect(await new Response(runner.stdout).text()).not.toMatch(/NOPERM|could not fire/);
  } finally {
    runner?.kill("SIGTERM");
    await runner?.exited;
    worker.proc.kill("SIGTERM");
    const ended = await worker.ended();
    site.stop();
    expect(ended.stdout).not.toMatch(/NOPERM|refused|could not fire/);
  }
});

// `info --queue Q` of a queue known by its schedule alone asks for Q with SMISMEMBER (the admin
// rules have it, for cancel), not the whole set of queues with schedules.
test("the admin rules are enough for info --queue of a queue with a schedule and no key", async () => {
  const prefix = testPrefix();
  const admin = ["--prefix", prefix, "--redis-url", await aclUser("admin", prefix)];
  const add = ["add", "s", "--every", "1h", "--task", "t", "--queue", "ops", ...admin];
  expect((await runCli("schedule", add)).code).toBe(0);
  const r = await runCli("info", ["--queue", "ops", ...admin]);
  expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
  expect(r.stdout).toContain("  schedules  1 (schedule.ts list)");
});
