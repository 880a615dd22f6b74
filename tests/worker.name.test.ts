// A worker's name: who may take it. A record with this host and this process's pid is a
// previous incarnation (a container restarted after a crash runs as pid 1 again, on the same
// host name), unless this very process runs a worker of that name now.
import { describe, expect, test } from "bun:test";
import { hostname } from "node:os";
import { queueKeys } from "../lib/engine/keys.ts";
import { ConfigError } from "../lib/errors.ts";
import { resolveOptions } from "../lib/options.ts";
import type { Redis } from "../lib/redis/connect.ts";
import { claimName, forgetName } from "../lib/worker/presence.ts";
import { rawRedis, runCli, startWorker, testPrefix } from "./helpers.ts";

describe("a worker name held with our own pid", () => {
  test("left by an earlier process (a restarted container): taken back at once", async () => {
    const prefix = testPrefix();
    await using r = await rawRedis();
    const key = queueKeys(prefix, "default").worker("pid1");
    // What a crashed incarnation left: same host, same pid, a heartbeat just now.
    await r.sendCommand(["HSET", key, "host", hostname(), "pid", String(process.pid)]);
    await r.sendCommand(["HSET", key, "seen_at", String(Date.now())]);
    await r.sendCommand(["PEXPIRE", key, "30000"]);
    const w = await startWorker({ prefix, tasks: [], name: "pid1" });
    expect(w.name).toBe("pid1");
    await w.stop(0);
  });

  test("run by this process (a second Worker with the same name): refused", async () => {
    const prefix = testPrefix();
    const first = await startWorker({ prefix, tasks: [], name: "twin" });
    const second = startWorker({ prefix, tasks: [], name: "twin" });
    await expect(second).rejects.toThrow(ConfigError);
    await expect(second).rejects.toThrow(/a worker named "twin" is already running/);
    // The refused start did not free the first one's name: a third is refused too.
    await expect(startWorker({ prefix, tasks: [], name: "twin" })).rejects.toThrow(ConfigError);
    await first.stop(0);
    // Stopped, the name is free for this process again.
    const again = await startWorker({ prefix, tasks: [], name: "twin" });
    await again.stop(0);
  });

  test("two claims of one name at the same moment in this process: exactly one gets it", async () => {
    // The first claim's reply is held back until the second claim has been answered: the
    // order in which the second would see the first's record (our pid, not yet running).
    const prefix = testPrefix();
    const keys = queueKeys(prefix, "default");
    const o = resolveOptions({ prefix, name: "racer" });
    await using r = await rawRedis();
    let release = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let calls = 0;
    const slowFirst = {
      sendCommand: async (args: string[]) => {
        const first = calls++ === 0;
        const reply = await r.sendCommand(args);
        if (first) await held;
        return reply;
      },
    } as unknown as Redis;
    const a = claimName(slowFirst, keys, o, "a");
    const b = claimName(slowFirst, keys, o, "b").finally(release);
    const results = await Promise.allSettled([a, b]);
    forgetName(keys, "racer");
    expect(results.filter((x) => x.status === "fulfilled")).toHaveLength(1);
  });
});

describe("a name ending in ~gone (the consumer a restarted worker hands its predecessor's jobs to)", () => {
  // A worker named X~gone would own X's orphaned entries, which claims skip as its own, and
  // never run them.
  test("refused by the library, before Redis is touched", async () => {
    expect(() => resolveOptions({ name: "x~gone" })).toThrow(ConfigError);
    expect(() => resolveOptions({ name: "x~gone" })).toThrow(/must not end in "~gone"/);
    expect(resolveOptions({ name: "x~gonex" }).name).toBe("x~gonex");
    await expect(startWorker({ prefix: testPrefix(), tasks: [], name: "w~gone" })).rejects.toThrow(
      ConfigError,
    );
  });

  test("refused by worker --name: one line, exit 2", async () => {
    const { code, stderr } = await runCli("worker", ["--name", "w~gone", "--prefix", testPrefix()]);
    expect(code).toBe(2);
    expect(stderr.trim().split("\n")).toEqual([
      'worker: --name must not end in "~gone" (reserved for the jobs of a worker that died), got "w~gone"',
      "Run with --help to see the options.",
    ]);
  });
});
