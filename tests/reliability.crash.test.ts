// Worker processes killed at the worst moments. Every job still ends finished or
// dead-lettered, none stays pending, and a result is recorded once.
import { describe, expect, test } from "bun:test";
import { resolve } from "node:path";
import { GROUP } from "../lib/engine/keys.ts";
import { onNodeOf } from "../lib/redis/cluster.ts";
import { defineTask } from "../lib/types.ts";
import { keysOf } from "./fixtures/queue-shards.ts";
import {
  openQueue,
  ROOT,
  rawRedis,
  redisUrl,
  startWorker,
  testPrefix,
  testShards,
  until,
  waitForLine,
} from "./helpers.ts";

const SCRIPT = resolve(ROOT, "tests/fixtures/crash-worker.ts");

function spawnWorker(prefix: string, name: string) {
  return Bun.spawn({
    cmd: [process.execPath, SCRIPT, redisUrl(), prefix, name, String(testShards() ?? "")],
    stdout: "pipe",
    stderr: "pipe",
  });
}

describe("worker killed", () => {
  test("between the task's end and the finish: another worker runs it again, one result", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix });
    await using r = await rawRedis();
    const id = await q.enqueue("crash-before-finish", { n: 1 });
    const doomed = spawnWorker(prefix, "doomed");
    expect(await doomed.exited).not.toBe(0); // killed by its own task, result unwritten
    expect(await q.getJob(id)).toMatchObject({ status: "started", attempts: 1, result: null });
    const rerun = defineTask({ name: "crash-before-finish", run: async () => "second run" });
    const w = await startWorker({ prefix, tasks: [rerun], claimIdleMs: 200 });
    const { ended } = await q.waitForJobs([id], { timeoutMs: 10_000 });
    expect(ended.get(id)).toMatchObject({ status: "finished", result: "second run", attempts: 2 });
    const k = keysOf(q, id);
    expect(await r.sendCommand(["HGET", k.stats, "finished"])).toBe("1");
    expect(Number((await r.sendCommand(["XPENDING", k.stream, GROUP]))[0])).toBe(0);
    await w.stop();
  });

  test("a job that crashes every worker is dead-lettered after its attempts; workers go on", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix, maxAttempts: 3 });
    await using r = await rawRedis();
    const poison = await q.enqueue("poison", null);
    const crashes: number[] = [];
    // Like a supervisor: each worker that dies is replaced, until one survives: the one alive
    // when the job is dead-lettered (the event, not a time it has lived).
    const failed = async () => (await q.getJob(poison))?.status === "failed";
    const buried = until(failed, "the job dead-lettered", 20_000).then(
      () => "buried" as const,
      () => "never" as const,
    );
    let survivor: ReturnType<typeof spawnWorker> | null = null;
    for (let i = 0; i < 5 && !survivor; i++) {
      const proc = spawnWorker(prefix, `w${i}`);
      const outcome = await Promise.race([proc.exited, buried]);
      if (outcome === "buried") survivor = proc;
      else if (outcome === "never") proc.kill("SIGKILL");
      else crashes.push(outcome);
    }
    expect(crashes).toEqual([3, 3, 3]);
    expect(survivor).not.toBeNull();
    const job = await q.getJob(poison);
    expect(job?.status).toBe("failed");
    expect(job?.error).toContain("abandoned: its worker stopped during attempt 3 of 3");
    const k = keysOf(q, poison);
    const dead = (await r.sendCommand(["XRANGE", k.dead, "-", "+"])) as [string, string[]][];
    expect(dead.map((d) => d[1][1])).toEqual([poison]);
    // The survivor still works.
    const echo = await q.enqueue("echo", "still here");
    const { ended } = await q.waitForJobs([echo], { timeoutMs: 5_000 });
    expect(ended.get(echo)?.result).toBe("still here");
    survivor!.kill("SIGTERM");
    expect(await survivor!.exited).toBe(0);
  });

  test("a job that crashes its worker uses up its attempts when the worker comes back under the same name", async () => {
    // The stack names its workers stack-worker-<i>, and a restart on the same host takes the
    // name over at once: each restarted worker takes back the entry its predecessor held.
    const prefix = testPrefix();
    await using q = await openQueue({ prefix, maxAttempts: 3 });
    const poison = await q.enqueue("poison", null);
    const attempts: number[] = [];
    const failed = async () => (await q.getJob(poison))?.status === "failed";
    const buried = until(failed, "the job dead-lettered", 20_000).then(
      () => "buried" as const,
      () => "never" as const,
    );
    let survivor: ReturnType<typeof spawnWorker> | null = null;
    for (let i = 0; i < 5 && !survivor; i++) {
      const proc = spawnWorker(prefix, "fixed");
      const outcome = await Promise.race([proc.exited, buried]);
      if (typeof outcome === "number") attempts.push((await q.getJob(poison))?.attempts ?? -1);
      else if (outcome === "buried") survivor = proc;
      else proc.kill("SIGKILL");
    }
    try {
      expect(attempts).toEqual([1, 2, 3]); // each crash used an attempt
      expect(survivor).not.toBeNull();
      const job = await q.getJob(poison);
      expect(job?.error).toContain("abandoned: its worker stopped during attempt 3 of 3");
      survivor!.kill("SIGTERM");
      expect(await survivor!.exited).toBe(0);
    } finally {
      survivor?.kill("SIGKILL"); // a failed assertion leaves no worker on the test Redis
    }
  });

  test("killed while blocked reading: nothing is lost, the next worker gets the job", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix });
    const idle = spawnWorker(prefix, "idle");
    await waitForLine(idle.stdout, /worker started/);
    await until(
      // CLIENT LIST on the server holding the queue's shard 0 (on a cluster, its slot's master).
      async () =>
        String(await onNodeOf(q.client, q.keys.stream).sendCommand(["CLIENT", "LIST"])).includes(
          "cmd=xreadgroup",
        ),
      "a blocked read",
    );
    idle.kill("SIGKILL");
    await idle.exited;
    const id = await q.enqueue("echo", 42);
    const w = await startWorker({
      prefix,
      tasks: [defineTask({ name: "echo", run: async (p: number) => p })],
    });
    const { ended } = await q.waitForJobs([id], { timeoutMs: 5_000 });
    expect(ended.get(id)).toMatchObject({ status: "finished", result: 42, attempts: 1 });
    await w.stop();
  });
});
