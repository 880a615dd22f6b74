// A Redis that accepts the connection and never answers (a peer that stays silent, a
// redis-server stopped with SIGSTOP) fails each command within its bound, never hangs: the
// CLIs exit 6 with one line, a Queue's or an Admin's call throws, the dashboard answers 503
// (lib/redis/answer.ts; the connect limit in lib/redis/connect.ts).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Admin } from "../lib/admin/admin.ts";
import { RETRY_WINDOW_LIMIT_S } from "../lib/config.ts";
import { startDashboard } from "../lib/dashboard/server.ts";
import { LostReplyError, NoAnswerError, NotReplicatedError } from "../lib/errors.ts";
import { Queue } from "../lib/queue/queue.ts";
import { answerLimit } from "../lib/redis/answer.ts";
import { closeClient } from "../lib/redis/close.ts";
import { connect } from "../lib/redis/connect.ts";
import { findFreePort, type RedisServer, startRedisServer } from "../lib/stack/redis-server.ts";
import {
  onOneServer,
  redisUrl,
  runCli,
  spawnCli,
  stdoutLine,
  testPrefix,
  waitForLine,
} from "./helpers.ts";

/** Small bounds through the environment: no test waits for the 10 s default. */
const LIMIT_MS = 300;
const env = { COURIER_COMMAND_TIMEOUT_MS: String(LIMIT_MS), COURIER_DASHBOARD_PORT: "0" };

/** Every command that reads or writes Redis, with the arguments it needs. */
const COMMANDS: [string, string[]][] = [
  ["info", []],
  ["trigger", ["--url", "https://example.org/"]],
  ["result", ["1-1"]],
  ["result", ["1-1", "--wait", "5"]],
  ["dead", ["list"]],
  ["cancel", ["1-1"]],
  ["schedule", ["list"]],
  ["queue", ["jobs", "default", "--state", "waiting"]],
  ["dashboard", []],
];

/** Each command against `url`: exit 6 and one line saying Redis did not answer. */
async function expectEachGivesUp(url: string): Promise<void> {
  const runs = COMMANDS.map(async ([name, args]) => {
    const r = await runCli(name, [...args, "--redis-url", url], { env, timeoutMs: 15_000 });
    return { name, args, ...r };
  });
  for (const r of await Promise.all(runs)) {
    const said = `${r.name} ${r.args.join(" ")}: ${r.stderr}`;
    expect(said).toContain(`no answer within ${LIMIT_MS} ms`);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.code).toBe(6);
  }
}

test("a server that accepts and never answers: every command exits 6 with one line", async () => {
  const silent = Bun.listen({
    hostname: "127.0.0.1",
    port: 0,
    socket: { data() {}, open() {} },
  });
  try {
    await expectEachGivesUp(`redis://127.0.0.1:${silent.port}`);
  } finally {
    silent.stop(true);
  }
}, 30_000);

// README: connecting gives up after 5 s, every command's; a worker's took its command bound
// (10 s) for it. The defaults themselves: no COURIER_COMMAND_TIMEOUT_MS here.
test("a worker gives up connecting to a silent server after the connect bound, 5 s", async () => {
  const silent = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  try {
    const url = `redis://127.0.0.1:${silent.port}`;
    const r = await runCli("worker", ["--redis-url", url], { timeoutMs: 15_000 });
    expect(r.stderr.trim()).toBe(
      `worker: cannot connect to Redis at ${url}: no answer within 5000 ms`,
    );
    expect(r.code).toBe(6);
  } finally {
    silent.stop(true);
  }
}, 30_000);

test("a worker's connection says it got no answer, not that the socket closed", async () => {
  const silent = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  try {
    const url = `redis://127.0.0.1:${silent.port}`;
    const err = await connect(url, { timeoutMs: LIMIT_MS, watched: true, persistent: true }).catch(
      (e) => e,
    );
    expect(err.message).toBe(`cannot connect to Redis at ${url}: no answer within ${LIMIT_MS} ms`);
  } finally {
    silent.stop(true);
  }
});

test("info --watch: a Redis that went away is named, unreachable, and the watch goes on once it is back", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "courier-watch-away-"));
  const port = await findFreePort();
  let server = await startRedisServer({ port, dataDir, persistence: false });
  const args = ["--watch", "--json", "--redis-url", server.url, "--prefix", testPrefix()];
  const proc = spawnCli("info", args, { env });
  try {
    await stdoutLine(proc, /"queues"/);
    await server.stop(2_000);
    // Courier's words with the URL, not node-redis' ("The client is offline").
    const said = await waitForLine(proc.stderr, /\(trying again\)$/);
    expect(said).toStartWith(`info: Redis at ${server.url} is unreachable: `);
    server = await startRedisServer({ port, dataDir, persistence: false });
    await waitForLine(proc.stdout, /"queues"/); // a report again once Redis is back
  } finally {
    proc.kill("SIGINT");
    await proc.exited;
    await server.stop(2_000);
    rmSync(dataDir, { recursive: true, force: true });
  }
}, 30_000);

test.each(["1e3", "0", "-5", "5s", " 300", "99999999999"])(
  "COURIER_COMMAND_TIMEOUT_MS=%p is refused, exit 2",
  async (value) => {
    const r = await runCli("info", [], { env: { COURIER_COMMAND_TIMEOUT_MS: value } });
    expect(r.stderr).toStartWith(
      `info: COURIER_COMMAND_TIMEOUT_MS must be a whole number of ms from 1 to 1000000000, got ${JSON.stringify(value)}\n`,
    );
    expect(r.code).toBe(2);
  },
);

describe("a redis-server stopped with SIGSTOP", () => {
  let server: RedisServer;
  const dataDir = mkdtempSync(join(tmpdir(), "courier-no-answer-"));
  beforeAll(async () => {
    server = await startRedisServer({ port: await findFreePort(), dataDir, persistence: false });
  });
  afterAll(async () => {
    process.kill(server.pid, "SIGCONT");
    await server.stop(2_000);
    rmSync(dataDir, { recursive: true, force: true });
  });

  /** Runs `fn` with the server stopped, and resumes it whatever happens. */
  async function whileStopped<T>(fn: () => Promise<T>): Promise<T> {
    process.kill(server.pid, "SIGSTOP");
    try {
      return await fn();
    } finally {
      process.kill(server.pid, "SIGCONT");
    }
  }

  test("every command exits 6 with one line", async () => {
    await whileStopped(() => expectEachGivesUp(server.url));
  }, 30_000);

  test("a Queue's calls throw once it stops, and work again when it resumes", async () => {
    const config = { redisUrl: server.url, prefix: testPrefix(), commandTimeoutMs: LIMIT_MS };
    const queue = await Queue.connect(config);
    try {
      const id = await queue.enqueue("t", 1);
      // Its blocking reads (BLOCK 1000, over the limit) are not cut short: the limit comes on
      // top of their BLOCK time. No worker runs it: the wait times out.
      const failed: unknown[] = [];
      const waited = await queue.waitForJobs([id], {
        timeoutMs: 1_500,
        onError: (e) => failed.push(e),
      });
      expect(waited.pending).toEqual([id]);
      expect(failed).toEqual([]);
      await whileStopped(async () => {
        const write = await queue.enqueue("t", 2).catch((e) => e);
        expect(write).toBeInstanceOf(LostReplyError);
        expect(write.message).toBe(
          `Redis at ${server.url} did not answer within ${LIMIT_MS} ms: the job may or may not have been enqueued`,
        );
        const read = await queue.getJob(id).catch((e) => e);
        expect(read).toBeInstanceOf(NoAnswerError);
        // A wait rides out Redis away (as a restart) until its own time runs out, on the
        // waiter's connection opened above: its reads fail instead of blocking for ever.
        const onError: unknown[] = [];
        const wait = await queue.waitForJobs([id], {
          timeoutMs: 1_000,
          onError: (e) => onError.push(e),
        });
        expect(wait.pending).toEqual([id]);
        expect(onError[0]).toBeInstanceOf(NoAnswerError);
      });
      expect((await queue.getJob(id))?.id).toBe(id);
    } finally {
      await queue.close();
    }
  }, 30_000);

  test("an Admin's reads throw, and the dashboard answers 503", async () => {
    const options = { redisUrl: server.url, prefix: testPrefix(), commandTimeoutMs: LIMIT_MS };
    const admin = await Admin.connect(options);
    const dashboard = await startDashboard({ ...options, port: 0 });
    try {
      await whileStopped(async () => {
        expect(await admin.overview().catch((e) => e)).toBeInstanceOf(NoAnswerError);
        const res = await fetch(`${dashboard.url}/api/overview`);
        expect(res.status).toBe(503);
        expect((await res.json()).error).toBe(
          `Redis unavailable: Redis at ${server.url} did not answer within ${LIMIT_MS} ms`,
        );
      });
      expect((await fetch(`${dashboard.url}/api/overview`)).status).toBe(200);
    } finally {
      await dashboard.stop();
      await admin.close();
    }
  }, 30_000);

  test("info --watch says Redis stopped answering and carries on", async () => {
    const prefix = testPrefix();
    const args = ["--watch", "--json", "--redis-url", server.url, "--prefix", prefix];
    const proc = spawnCli("info", args, { env });
    try {
      await waitForLine(proc.stdout, /"queues"/);
      await whileStopped(() => waitForLine(proc.stderr, /did not answer within 300 ms/));
      await waitForLine(proc.stdout, /"queues"/); // a report again once Redis answers
    } finally {
      proc.kill("SIGINT");
      await proc.exited;
    }
  }, 30_000);
  test("a client that got no answer once waits for pending replies again at close once Redis answers", async () => {
    // A longer limit than the others': the PING pending at close must not meet its own limit on
    // a loaded machine (300 ms did, once, in a run of eight files at a time on two cores).
    const client = await connect(server.url, { answerMs: 1_500 });
    try {
      const ping = () => client.sendCommand<string>(["PING"]);
      const stalled = await whileStopped(() => ping().catch((e: unknown) => e));
      expect(stalled).toBeInstanceOf(NoAnswerError);
      expect(await ping()).toBe("PONG"); // it answers again
      // Written, not answered yet, when the close begins: a close that waits lets it land.
      const pending = ping().catch((e: unknown) => e);
      await closeClient(client);
      expect(await pending).toBe("PONG");
    } finally {
      await closeClient(client);
    }
  }, 30_000);
});

test("a command that waits in Redis by its own terms (WAIT) is timed from its wait, and so are those behind it", async () => {
  let stalls = 0;
  let answers = 0;
  const limit = answerLimit(
    "redis://h:1",
    50,
    () => stalls++,
    () => answers++,
  );
  // WAIT of 200 ms answered at 120 ms: within its own 200 + 50; an ECHO sent behind it too.
  const wait = limit(
    ["WAIT", "1", "200"],
    Bun.sleep(120).then(() => 0),
  );
  const behind = limit(
    ["ECHO", "x"],
    Bun.sleep(121).then(() => "x"),
  );
  expect(await Promise.all([wait, behind])).toEqual([0, "x"]);
  expect(stalls).toBe(0);
  // A command left unanswered past its limit stalls; the next reply clears it, once.
  let answerLate: (v: string) => void = () => {};
  const late = limit(["GET", "k"], new Promise<string>((resolve) => (answerLate = resolve)));
  expect(await late.catch((e) => e)).toBeInstanceOf(NoAnswerError);
  expect(stalls).toBe(1);
  await limit(["PING"], Promise.resolve("PONG"));
  answerLate("v");
  await Bun.sleep(0);
  expect(answers).toBe(1);
});

test("a limit past the longest timer (25 days) does not fire at once", async () => {
  const limit = answerLimit("redis://h:1", 1_000_000_000, () => {});
  const read = limit(
    ["XREAD", "BLOCK", "2000000000", "STREAMS", "s", "$"],
    Bun.sleep(20).then(() => "r"),
  );
  expect(await read).toBe("r");
  // The longest retry window an option takes (RETRY_WINDOW_LIMIT_S, 11.6 days) with the connect
  // limit stays under the longest timer; a longer one is refused before any timer is armed.
  const q = await Queue.connect({
    redisUrl: redisUrl(),
    queue: "q",
    prefix: testPrefix(),
    retryConnectS: RETRY_WINDOW_LIMIT_S,
  });
  await q.close();
  const longer = {
    redisUrl: redisUrl(),
    queue: "q",
    prefix: testPrefix(),
    retryConnectS: 2_200_000,
  };
  await expect(Queue.connect(longer)).rejects.toThrow("retryConnectS must be a number of seconds");
});

test.skipIf(!onOneServer)(
  "a replicated write with no replica: told it is not replicated, not that Redis did not answer (no replica here; a cluster has them)",
  async () => {
    const q = await Queue.connect({
      ...{ redisUrl: redisUrl(), queue: "q", prefix: testPrefix() },
      ...{ durability: "replicated", replicaWaitMs: 400, commandTimeoutMs: 200 },
    });
    try {
      // Several at once: each waits behind the WAITs before it on the connection.
      const errs = await Promise.all(
        Array.from({ length: 4 }, (_, i) => q.enqueue("t", { i }).catch((e: unknown) => e)),
      );
      for (const e of errs) {
        expect(e).toBeInstanceOf(NotReplicatedError);
        expect(e).not.toBeInstanceOf(NoAnswerError);
        expect(String((e as Error).message)).not.toContain("did not answer");
      }
    } finally {
      await q.close();
    }
  },
  30_000,
);
