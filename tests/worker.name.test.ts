// A worker's name: who may take it. A record with this host and this process's pid is a
// previous incarnation (a container restarted after a crash runs as pid 1 again, on the same
// host name), unless this very process runs a worker of that name now. Unless the record was
// written in another pid namespace: then its pid is one this process cannot see (a sibling
// container with the same host name, also pid 1), and only its heartbeat tells whether it lives.
import { describe, expect, test } from "bun:test";
import { readlinkSync } from "node:fs";
import { hostname } from "node:os";
import { GROUP, levelKeys, queueKeys } from "../lib/engine/keys.ts";
import { ConfigError } from "../lib/errors.ts";
import { type LogLevel, silentLogger } from "../lib/log.ts";
import { resolveOptions } from "../lib/options.ts";
import type { Redis } from "../lib/redis/connect.ts";
import { claimName, forgetName } from "../lib/worker/presence.ts";
import {
  openQueue,
  pinShards,
  type RawRedis,
  rawRedis,
  runCli,
  startWorker,
  testPrefix,
} from "./helpers.ts";

describe("a worker name held with our own pid", () => {
  test("left by an earlier process of this pid namespace: taken back at once", async () => {
    const prefix = testPrefix();
    await using r = await rawRedis();
    const key = queueKeys(prefix, "default").worker("pid1");
    // What a crashed incarnation left: same host, same pid (and pid namespace), a heartbeat
    // just now.
    await r.sendCommand(["HSET", key, "host", hostname(), "pid", String(process.pid)]);
    await r.sendCommand(["HSET", key, "pid_ns", OUR_PID_NS, "beat_ms", "60000"]);
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
    const a = claimName(slowFirst, keys, o, "a", silentLogger);
    const b = claimName(slowFirst, keys, o, "b", silentLogger).finally(release);
    const results = await Promise.allSettled([a, b]);
    forgetName(keys, "racer");
    expect(results.filter((x) => x.status === "fulfilled")).toHaveLength(1);
  });
});

// This process's pid namespace, as the worker records it (Linux; the tests run there).
const OUR_PID_NS = readlinkSync("/proc/self/ns/pid");

/** Writes a worker hash as a process of this host and pid in another pid namespace would. */
async function sibling(r: RawRedis, key: string, beatMs: number, agoMs: number): Promise<void> {
  const fields = ["host", hostname(), "pid", String(process.pid), "pid_ns", "pid:[1]"];
  await r.sendCommand(["HSET", key, ...fields, "beat_ms", String(beatMs)]);
  await beatNow(r, key, agoMs);
  await r.sendCommand(["PEXPIRE", key, "60000"]);
}

/** Sets the hash's seen_at to Redis' time minus agoMs, as the holder's heartbeat does. */
async function beatNow(r: RawRedis, key: string, agoMs = 0): Promise<void> {
  const lua =
    "local t = redis.call('TIME') local ms = t[1] * 1000 + math.floor(t[2] / 1000) redis.call('HSET', KEYS[1], 'seen_at', ms - tonumber(ARGV[1]))";
  await r.sendCommand(["EVAL", lua, "1", key, String(agoMs)]);
}

describe("a worker name held with our host and pid from another pid namespace", () => {
  pinShards(1); // one worker hash, the one written here
  // Two containers with one host name (host networking, a fixed hostname) both run as pid 1:
  // neither can see the other's process, so a kill(pid, 0) says nothing about it.
  test("a sibling that beats: refused, its hash left as it was", async () => {
    const prefix = testPrefix();
    await using r = await rawRedis();
    const key = queueKeys(prefix, "default").worker("sib");
    await sibling(r, key, 200, 0);
    const beating = setInterval(() => void beatNow(r, key).catch(() => {}), 20);
    try {
      const second = startWorker({ prefix, tasks: [], name: "sib" });
      await expect(second).rejects.toThrow(ConfigError);
      await expect(second).rejects.toThrow(/a worker named "sib" is already running/);
    } finally {
      clearInterval(beating);
    }
    expect(await r.sendCommand(["HGET", key, "pid_ns"])).toBe("pid:[1]");
  });

  test("one silent for two of its beats (a container restarted): taken over", async () => {
    const prefix = testPrefix();
    await using r = await rawRedis();
    const key = queueKeys(prefix, "default").worker("gone");
    await sibling(r, key, 100, 500);
    const w = await startWorker({ prefix, tasks: [], name: "gone" });
    expect(await r.sendCommand(["HGET", key, "pid_ns"])).toBe(OUR_PID_NS);
    await w.stop(0);
  });

  test("one that beat just now and then fell silent: taken over once two beats have passed", async () => {
    const prefix = testPrefix();
    await using r = await rawRedis();
    const key = queueKeys(prefix, "default").worker("late");
    await sibling(r, key, 150, 0);
    const since = performance.now();
    const lines: [LogLevel, string, Record<string, unknown> | undefined][] = [];
    const logger = { log: (...line: (typeof lines)[number]) => void lines.push(line) };
    const w = await startWorker({ prefix, tasks: [], name: "late", logger });
    expect(performance.now() - since).toBeGreaterThanOrEqual(250);
    // The wait is said, not silent: a start that waits up to a minute would read as hung.
    const said = lines.find(([, event]) => /holder to fall silent/.test(event));
    expect(said?.[2]).toMatchObject({
      worker: "late",
      holder: `${hostname()} pid ${process.pid} (another pid namespace)`,
    });
    await w.stop(0);
  });
});

describe("a worker name held by an older Courier", () => {
  pinShards(1); // one worker hash, the one written here
  // An older Courier wrote no pid_ns (nor beat_ms): its pid is probed as before, not waited
  // out for two heartbeats (r1: every restart across the upgrade waited ~10 s).
  test("left by an older Courier (no pid_ns, no beat_ms in its hash): taken back at once", async () => {
    const prefix = testPrefix();
    await using r = await rawRedis();
    const key = queueKeys(prefix, "default").worker("older");
    await r.sendCommand(["HSET", key, "host", hostname(), "pid", String(process.pid)]);
    await r.sendCommand(["HSET", key, "seen_at", String(Date.now())]);
    await r.sendCommand(["PEXPIRE", key, "30000"]);
    // Two of these beats would be 120 s: past the test's time, were they waited out.
    const w = await startWorker({ prefix, tasks: [], name: "older", heartbeatEveryMs: 60_000 });
    expect(w.name).toBe("older");
    expect(await r.sendCommand(["HGET", key, "pid_ns"])).toBe(OUR_PID_NS);
    await w.stop(0);
  });
});

describe("a worker name a live worker holds, on a queue with priority levels", () => {
  pinShards(1); // the hash and the high stream written here are the worker's
  // Refused starts leave the live worker's jobs alone: a level's view hands a predecessor's
  // entries over only once the shard's normal view holds the name (it was done at once, beside
  // the claim: the live worker's high jobs went to <name>~gone, and its next lease renewal gave
  // them up, to run again after claimIdleMs).
  test("its running high job stays pending on it", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix });
    await q.enqueueMany([{ task: "slow", priority: "high" }]);
    await using r = await rawRedis();
    const keys = queueKeys(prefix, "default");
    const high = levelKeys(keys, "high");
    // The live holder: another host's worker, beating, that runs the high job.
    await r.sendCommand(["HSET", keys.worker("lv"), "host", "elsewhere", "pid", "7"]);
    await beatNow(r, keys.worker("lv"));
    await r.sendCommand(["PEXPIRE", keys.worker("lv"), "60000"]);
    await r.sendCommand(["XGROUP", "CREATE", high.stream, GROUP, "0", "MKSTREAM"]);
    await r.sendCommand([
      "XREADGROUP",
      "GROUP",
      GROUP,
      "lv",
      "COUNT",
      "1",
      "STREAMS",
      high.stream,
      ">",
    ]);
    const second = startWorker({ prefix, tasks: [], name: "lv" });
    await expect(second).rejects.toThrow(/a worker named "lv" is already running/);
    const pending = (await r.sendCommand([
      "XPENDING",
      high.stream,
      GROUP,
      "-",
      "+",
      "10",
    ])) as string[][];
    expect(pending.map((row) => row[1])).toEqual(["lv"]);
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
