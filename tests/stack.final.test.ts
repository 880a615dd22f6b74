// A process the stack runs that exits 2 (bad usage: it would fail the same way each time) is not
// restarted: the supervisor gives up on it, and the stack stops with exit 2 rather than restart
// it every 2 s for ever (a 3-shard worker on a queue of 6 shards).
import { afterEach, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { createOutput } from "../lib/stack/_output.ts";
import { REPO_ROOT } from "../lib/stack/options.ts";
import { findFreePort } from "../lib/stack/redis-server.ts";
import { Supervisor } from "../lib/stack/supervisor.ts";
import { collect, exitCodeWithin } from "./fixtures/output.ts";
import { openQueue, redisUrl, testPrefix, until } from "./helpers.ts";

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

describe("Supervisor finalCodes", () => {
  test("an exit with a final code is not restarted and resolves gaveUp; others restart", async () => {
    const lines: string[] = [];
    const output = createOutput({ names: [], color: false, write: (t) => lines.push(t.trimEnd()) });
    const supervisor = new Supervisor({ output, detached: false });
    cleanups.push(() => supervisor.kill());
    const bun = (code: string) => [process.execPath, "-e", code];
    const final = [2];
    supervisor.start({
      name: "bad",
      cmd: bun("process.exit(2)"),
      restartDelayMs: 50,
      finalCodes: final,
    });
    supervisor.start({
      name: "ok",
      cmd: bun("process.exit(1)"),
      restartDelayMs: 50,
      finalCodes: final,
    });
    expect(await supervisor.gaveUp).toEqual({ name: "bad", code: 2 });
    await until(
      () => lines.filter((l) => l.startsWith("system | ok started")).length >= 2,
      "a restart",
    );
    expect(lines.filter((l) => l.startsWith("system | bad started"))).toHaveLength(1);
    expect(lines).toContain("system | bad exited (code 2): not restarted, it would fail again");
    await supervisor.stop(1_000);
  });
});

test("a stack whose worker exits 2 stops with exit 2, saying why", async () => {
  const prefix = testPrefix();
  const q = await openQueue({ prefix, queue: "s6", shards: 6 });
  await q.enqueue("wordcount", { url: "https://example.org/" }); // the layout: 6 shards
  await q.close();
  const { REDIS_URL: _, COURIER_QUEUE: __, ...env } = process.env;
  const args = ["--redis-url", redisUrl(), "--prefix", prefix, "--queue", "s6", "--workers", "1"];
  const proc = Bun.spawn([process.execPath, join(REPO_ROOT, "bin/stack.ts"), ...args], {
    env: { ...env, COURIER_SHARDS: "3", COURIER_DASHBOARD_PORT: String(await findFreePort()) },
    stdout: "pipe",
    stderr: "pipe",
  });
  cleanups.push(() => proc.kill("SIGKILL"));
  const out = collect(proc.stdout, true);
  expect(await exitCodeWithin(proc, 20_000, out)).toBe(2);
  expect(out.text).toContain("has 6 shards, not 3");
  expect(out.text).toMatch(/worker\.1 cannot start \(exit 2, its message above\): stopping/);
  expect(out.text).not.toContain("restarting in");
}, 30_000);
