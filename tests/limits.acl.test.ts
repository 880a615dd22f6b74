// Rate limits under the README's ACL rules (read from README.md itself: tests/fixtures/acl.ts):
// the admin sets and changes limits (a key rate changed wakes the jobs it held), and a worker
// runs keyed jobs of a limited queue (limit.lua, limit-done.lua, hold.lua, wake.lua); with held
// keys present, the admin reads them (info, /metrics, /api/limits) and a key concurrency change
// wakes their waiters (held-page.lua, limit-done.lua, wake.lua).
import { afterEach, expect, test } from "bun:test";
import { startDashboard } from "../lib/dashboard/server.ts";
import { limitKeys } from "../lib/engine/keys.ts";
import { aclUser, dropAclUsers } from "./fixtures/acl.ts";
import { backgroundWorker, HTML, pages, triggerOne } from "./fixtures/cli/harness.ts";
import { openQueue, rawRedis, runCli, testPrefix, until } from "./helpers.ts";

afterEach(dropAclUsers);

test("the admin's and worker's rules are enough for a queue with key limits", async () => {
  const prefix = testPrefix();
  const admin = ["--prefix", prefix, "--redis-url", await aclUser("admin", prefix)];
  const producer = ["--redis-url", await aclUser("producer", prefix)];
  const site = pages(() => new Response("<p>one two</p>", { headers: HTML }));
  const worker = backgroundWorker(prefix, "--redis-url", await aclUser("worker", prefix));
  try {
    await worker.logged("worker started");
    const set = ["limit", "default", "--key-concurrency", "1", "--key-rate", "2/s", ...admin];
    const limited = await runCli("queue", set);
    expect({ code: limited.code, stderr: limited.stderr }).toEqual({ code: 0, stderr: "" });
    const ids = [];
    for (const page of ["/a", "/b", "/c"])
      ids.push(await triggerOne(prefix, site.url(page), ...producer));
    for (const id of ids) {
      const r = await runCli("result", [
        "--prefix",
        prefix,
        ...producer,
        "--jobid",
        id,
        "--wait",
        "20",
      ]);
      expect({ id, code: r.code }).toEqual({ id, code: 0 });
    }
    const off = await runCli("queue", ["limit", "default", "--key-rate", "off", ...admin]);
    expect({ code: off.code, stderr: off.stderr }).toEqual({ code: 0, stderr: "" });
  } finally {
    worker.proc.kill("SIGTERM");
    const ended = await worker.ended();
    site.stop();
    expect(ended.stdout).not.toMatch(/NOPERM|unreachable|could not/);
  }
});

test("the admin's rules with held keys present: read, and a key concurrency raised wakes their waiters", async () => {
  const prefix = testPrefix();
  const adminUrl = await aclUser("admin", prefix);
  const admin = ["--prefix", prefix, "--redis-url", adminUrl];
  const producer = ["--redis-url", await aclUser("producer", prefix)];
  let release = () => {};
  const slow = new Promise<void>((resolve) => {
    release = resolve;
  });
  const site = pages(async (path) => {
    if (path === "/slow") await slow;
    return new Response("<p>one two</p>", { headers: HTML });
  });
  const host = new URL(site.url("/")).host;
  const lk = limitKeys(prefix, "default");
  await using r = await rawRedis();
  const count = async (key: string) => Number(await r.sendCommand(["ZCARD", key]));
  // Set before the worker starts (its first read knows it), on the queue a producer made.
  await using q = await openQueue({ prefix });
  const first = await q.enqueue("wordcount", { url: site.url("/first") });
  const set = await runCli("queue", ["limit", "default", "--key-concurrency", "1", ...admin]);
  const worker = backgroundWorker(prefix, "--redis-url", await aclUser("worker", prefix));
  try {
    expect({ code: set.code, stderr: set.stderr }).toEqual({ code: 0, stderr: "" });
    await worker.logged("worker started");
    expect((await q.waitForJobs([first], { timeoutMs: 20_000 })).pending).toEqual([]);
    await triggerOne(prefix, site.url("/slow"), ...producer);
    await until(async () => (await count(lk.running(host))) === 1, "the slow page's run");
    const ids = [];
    for (const page of ["/a", "/b"])
      ids.push(await triggerOne(prefix, site.url(page), ...producer));
    await until(async () => (await count(lk.waiting(host))) === 2, "two jobs waiting for the slot");
    const info = await runCli("info", admin);
    expect({ code: info.code, stderr: info.stderr }).toEqual({ code: 0, stderr: "" });
    expect(info.stdout).toMatch(/held keys\s+1/);
    expect(info.stdout).toContain(host);
    const d = await startDashboard({ redisUrl: adminUrl, prefix, queue: "default", port: 0 });
    try {
      const metrics = await (await fetch(`${d.url}/metrics`)).text();
      expect(metrics).toMatch(/^courier_limit_held_keys\{[^}]*\} 1$/m);
      const limits = (await (await fetch(`${d.url}/api/limits`)).json()) as { heldTotal: number };
      expect(limits.heldTotal).toBe(1);
    } finally {
      await d.stop();
    }
    // Raised while the slow page still runs: its waiters are woken (not left to its slot's
    // expiry, minutes on), and run.
    const raised = await runCli("queue", ["limit", "default", "--key-concurrency", "3", ...admin]);
    expect({ code: raised.code, stderr: raised.stderr }).toEqual({ code: 0, stderr: "" });
    for (const id of ids) {
      const got = await runCli("result", [
        "--prefix",
        prefix,
        ...producer,
        "--jobid",
        id,
        "--wait",
        "20",
      ]);
      expect({ id, code: got.code }).toEqual({ id, code: 0 });
    }
  } finally {
    release();
    worker.proc.kill("SIGTERM");
    const ended = await worker.ended();
    site.stop();
    expect(ended.stdout).not.toMatch(/NOPERM|unreachable|could not/);
  }
}, 60_000);
