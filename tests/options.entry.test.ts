// The library's entry points check their options at the call, before any connection (R107): a
// misspelt key, a prefix outside the rule, a task that cannot run, a limit or a window that is
// no number: one ConfigError line naming the option, and nothing written.
import { describe, expect, test } from "bun:test";
import { ADMIN_KEYS, Admin } from "../lib/admin/admin.ts";
import { defaults } from "../lib/config.ts";
import { DASHBOARD_KEYS } from "../lib/dashboard/options.ts";
import { startDashboard } from "../lib/dashboard/server.ts";
import { ConfigError } from "../lib/errors.ts";
import { silentLogger } from "../lib/log.ts";
import { ENTRY_KEYS, OPTION_KEYS } from "../lib/options.ts";
import { QUEUE_KEYS } from "../lib/queue/producer.ts";
import { Queue } from "../lib/queue/queue.ts";
import { SCHEDULER_KEYS, startScheduler } from "../lib/schedule/scheduler.ts";
import { SCHEDULES_KEYS, Schedules } from "../lib/schedule/schedules.ts";
import { runTask } from "../lib/testing.ts";
import { defineTask } from "../lib/types.ts";
import { Worker } from "../lib/worker/worker.ts";
import { WORKER_KEYS } from "../lib/worker/worker-config.ts";
import { rawRedis, redisUrl, runCli, testPrefix } from "./helpers.ts";

const run = async () => 1;

/**
 * Asserts that `start` is refused with `message`; whatever it started by mistake (the check
 * missing) is stopped, so a failing test leaves nothing open.
 */
async function refused(start: () => Promise<unknown>, message: string): Promise<void> {
  let got: unknown;
  try {
    got = await start();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toContain(message);
    return;
  }
  const open = got as { stop?: () => Promise<void>; close?: () => Promise<void> };
  await (open.stop ? open.stop() : open.close?.());
  throw new Error(`not refused: ${message}`);
}

describe("unknown keys", () => {
  test("every entry point refuses them, naming the option likely meant", async () => {
    const prefix = testPrefix();
    const base = { redisUrl: redisUrl(), prefix };
    const hint = "unknown option concurency (did you mean concurrency?)";
    await refused(() => Worker.start({ ...base, tasks: [], concurency: 2 } as never), hint);
    await refused(() => Queue.connect({ ...base, maxAtempts: 1 } as never), "maxAtempts");
    await refused(() => Admin.connect({ ...base, qeue: "b" } as never), "(did you mean queue?)");
    await refused(() => startDashboard({ ...base, port: 0, refresh: 5 } as never), "refreshMs?");
    await refused(() => Schedules.connect({ ...base, prefx: "x" } as never), "prefix?");
    await refused(() => startScheduler({ ...base, qeues: ["a"] } as never), "queues?");
    const task = { name: "t", run };
    await refused(() => runTask(task, 1, { timout: 5 } as never), "(did you mean timeoutMs?)");
  });

  test("one config object, or `defaults` spread, is taken by every entry point (R112)", async () => {
    const prefix = testPrefix();
    const shared = {
      redisUrl: redisUrl(),
      prefix,
      queue: "q",
      tasks: [{ name: "t", run }],
      logger: silentLogger,
      concurrency: 2,
      maxAttempts: 2,
      retryConnectS: 0,
      waitForMemoryS: 0,
    };
    const spread = { ...defaults, redisUrl: redisUrl(), prefix, queue: "q" };
    const open: { close?: () => Promise<void>; stop?: () => Promise<void> }[] = [];
    try {
      for (const config of [shared, spread]) {
        open.push(await Queue.connect(config));
        open.push(await Admin.connect(config));
        open.push(await Schedules.connect(config));
        open.push(await Worker.start({ ...config, tasks: shared.tasks }));
        open.push(await startDashboard({ ...config, port: 0 }));
      }
      open.push(await startScheduler({ ...shared, queues: ["q"] }));
    } finally {
      for (const o of open.reverse()) await (o.stop ? o.stop() : o.close?.());
    }
    // A key no entry point takes is still refused; connectTimeoutMs, in `defaults` but no
    // option, only when it is not the default's.
    const base = { redisUrl: redisUrl(), prefix };
    await refused(() => Queue.connect({ ...spread, concurency: 2 } as never), "concurency");
    const connect = { ...base, connectTimeoutMs: 5 } as never;
    await refused(() => Queue.connect(connect), "connectTimeoutMs is not an option");
  });

  test("every entry point's own keys are in ENTRY_KEYS", () => {
    const lists = [WORKER_KEYS, QUEUE_KEYS, ADMIN_KEYS, SCHEDULES_KEYS, SCHEDULER_KEYS];
    for (const key of [...lists.flat(), ...DASHBOARD_KEYS, ...OPTION_KEYS]) {
      expect(ENTRY_KEYS).toContain(key);
    }
  });

  test("the worker CLI's own options reach no Worker.start (it starts and drains)", async () => {
    const prefix = testPrefix();
    const r = await runCli("worker", ["--burst", "--prefix", prefix, "--log-format", "json"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
  });
});

describe("Worker.start", () => {
  test("takes the same task listed twice as one, and 0 as a dashboard's refreshMs (the default)", async () => {
    const t = { name: "t", run };
    const w = await Worker.start({ redisUrl: redisUrl(), prefix: testPrefix(), tasks: [t, t] });
    await w.stop();
    const d = await startDashboard({
      redisUrl: redisUrl(),
      prefix: testPrefix(),
      port: 0,
      refreshMs: 0,
    });
    await d.stop();
  });

  const prefix = testPrefix();
  const base = { redisUrl: redisUrl(), prefix, queue: "q" };
  test.each([
    [{ tasks: undefined }, "tasks must be an array of tasks, got undefined"],
    [{ tasks: [null] }, "a task must be an object { name, run }, got null"],
    [{ tasks: [{ name: "x" }] }, 'task "x" has no run function'],
    [{ tasks: [{ name: "", run }] }, "a task's name must be a non-empty string"],
    [
      {
        tasks: [
          { name: "d", run },
          { name: "d", run },
        ],
      },
      'two tasks named "d"',
    ],
    [{ tasks: [{ name: "x", run, timeoutMs: Number.NaN }] }, 'task "x": timeoutMs must be'],
    [{ tasks: [{ name: "x", run, timeoutMs: 1e12 }] }, 'task "x": timeoutMs must be'],
    [{ tasks: [], logger: {} }, "logger must be an object with a log function"],
    [{ tasks: [], schedules: "false" }, 'schedules must be true or false, got "false"'],
    [{ tasks: [], name: "billing worker" }, "worker name must be 1-200 printable ASCII"],
    [{ tasks: [], name: "a\nb" }, 'got "a\\nb"'],
    [{ tasks: [], name: 42 }, "name must be a string, got 42"],
    [{ tasks: [], name: null }, "name must be a string, got null"],
    [{ tasks: [], queue: null }, "queue must be a string, got null"],
    [{ tasks: [], queue: 123 }, "queue must be a string, got 123"],
    [{ tasks: [], queues: ["ok", "x\u001b[2J"] }, 'queue name "x\\x1b[2J" must be'],
  ])("refuses %j", async (given, message) => {
    await refused(() => Worker.start({ ...base, ...given } as never), message);
  });
});

describe("Queue.connect and Admin.connect", () => {
  const base = { redisUrl: redisUrl(), prefix: testPrefix(), queue: "q" };
  test.each([
    [{ waitForMemoryS: Number.NaN }, "waitForMemoryS must be a number of seconds"],
    [{ waitForMemoryS: -1 }, "waitForMemoryS must be a number of seconds"],
    [{ retryConnectS: Number.POSITIVE_INFINITY }, "retryConnectS must be a number of seconds"],
    [{ queue: null }, "queue must be a string, got null"],
    [{ queue: 123 }, "queue must be a string, got 123"],
    [{ prefix: null }, "prefix must be a string, got null"],
  ])("Queue refuses %j", async (given, message) => {
    await refused(() => Queue.connect({ ...base, ...given } as never), message);
  });

  test("Admin refuses a retry window that is no number", async () => {
    const given = { ...base, retryConnectS: Number.NaN };
    await refused(() => Admin.connect(given), "retryConnectS must be a number of seconds");
  });
});

describe("Schedules.connect and startScheduler", () => {
  test.each(["{evil}", "bad prefix*", ""])(
    "refuse the prefix %j; nothing is written",
    async (p) => {
      await using r = await rawRedis();
      const before = (await r.sendCommand(["DBSIZE"])) as number;
      const add = async () => {
        const s = await Schedules.connect({ redisUrl: redisUrl(), prefix: p });
        try {
          await s.add({ name: "tick", every: "1s", task: "t", queue: "sq" });
        } finally {
          await s.close();
        }
        return {};
      };
      await refused(add, "key prefix");
      await refused(() => startScheduler({ redisUrl: redisUrl(), prefix: p }), "key prefix");
      expect(await r.sendCommand(["DBSIZE"])).toBe(before);
    },
  );

  test("a Schedules on a connection of yours checks the prefix and the queue too", () => {
    const client = {} as never;
    expect(() => new Schedules(client, "{evil}")).toThrow('key prefix "{evil}" must be');
    expect(() => new Schedules(client, "courier", "a b")).toThrow('queue name "a b" must be');
    expect(new Schedules(client, "courier", "q").queue).toBe("q");
  });

  test("refuse a queue that is no name, and queues that are no list", async () => {
    const url = redisUrl();
    await refused(() => Schedules.connect({ redisUrl: url, queue: "a b" }), "queue name");
    await refused(() => Schedules.connect({ redisUrl: url, queue: null as never }), "got null");
    const queues = "sq" as never;
    await refused(() => startScheduler({ redisUrl: url, queues }), "queues must be an array");
    await refused(() => startScheduler({ redisUrl: url, queues: ["{x}"] }), "queue name");
  });

  // Taken unchecked: every line of the logger lost, and onPass threw after each pass (failed).
  test("startScheduler refuses a logger or onPass it cannot call, before connecting", async () => {
    const url = "redis://127.0.0.1:1"; // nothing answers: a later check would fail as unreachable
    const logger = 5 as never;
    await refused(
      () => startScheduler({ redisUrl: url, logger }),
      "logger must be an object with a log function, got 5",
    );
    const onPass = "yes" as never;
    await refused(
      () => startScheduler({ redisUrl: url, onPass }),
      'onPass must be a function, got "yes"',
    );
  });
});

describe("startDashboard", () => {
  test.each([Number.NaN, -1, 1.5, "1000", 2e9])("refuses refreshMs %j", async (refreshMs) => {
    const given = { redisUrl: redisUrl(), prefix: testPrefix(), port: 0, refreshMs };
    await refused(() => startDashboard(given as never), "refreshMs must be a whole number of ms");
  });

  // They reached Bun.serve unchecked, after the Admin had connected: a raw RangeError
  // (`The value of "options.port" is out of range`), `host.replace is not a function`, a
  // string port or tokenReads taken as given.
  test.each([
    [{ port: -1 }, "port must be a whole number from 0 to 65535, got the number -1"],
    [{ port: 70_000 }, "port must be a whole number from 0 to 65535, got the number 70000"],
    [{ port: 1.5 }, "port must be a whole number from 0 to 65535, got the number 1.5"],
    [{ port: "9181" }, 'port must be a whole number from 0 to 65535, got the string "9181"'],
    [{ port: null }, "port must be a whole number from 0 to 65535, got null"],
    [{ port: 0, host: 5 }, "host must be an address or a host name, got the number 5"],
    [{ port: 0, host: "" }, 'host must be an address or a host name, got the string ""'],
    [{ port: 0, token: 5 }, "token must be a string, got the number 5"],
    [{ port: 0, tokenReads: "yes" }, 'tokenReads must be true or false, got the string "yes"'],
  ])("refuses %j before connecting", async (bad, message) => {
    // Nothing answers there: a check after connecting would fail as unreachable instead.
    const given = { redisUrl: "redis://127.0.0.1:1", prefix: testPrefix(), ...bad };
    await refused(() => startDashboard(given as never), message);
  });
});

describe("runTask", () => {
  test("refuses the limits a worker refuses, and a task a worker refuses", async () => {
    const task = { name: "t", run };
    await refused(() => runTask(task, 1, { timeoutMs: Number.NaN }), "runTask's timeoutMs");
    await refused(() => runTask(task, 1, { timeoutMs: 1e12 }), "runTask's timeoutMs");
    const bad = { name: "t", run, timeoutMs: -5 };
    await refused(() => runTask(bad, 1), 'task "t": timeoutMs must be');
  });

  test("Infinity is no limit, for a task's timeoutMs and runTask's (R112)", async () => {
    const slow = defineTask({
      name: "slow",
      timeoutMs: Number.POSITIVE_INFINITY,
      run: async () => {
        await Bun.sleep(20);
        return "done";
      },
    });
    expect(await runTask(slow, 1)).toMatchObject({ ok: true, result: "done" });
    const limit = { timeoutMs: Number.POSITIVE_INFINITY };
    expect(await runTask(slow, 1, limit)).toMatchObject({ ok: true, result: "done" });
  });
});
