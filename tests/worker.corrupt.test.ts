// One corrupt record must never stall a worker or the queue: mixed into batches with good jobs,
// each bad record is settled on its own (a dead letter whose error says what is wrong, or an
// acknowledged entry and a log line), every good job finishes, and nothing stays pending.
import { describe, expect, test } from "bun:test";
import { scripts } from "../lib/_scripts.ts";
import { PermanentError } from "../lib/errors.ts";
import { GROUP } from "../lib/keys.ts";
import type { Queue } from "../lib/queue.ts";
import { defineTask } from "../lib/types.ts";
import type { RawRedis } from "./helpers.ts";
import { logRecorder, openQueue, rawRedis, startWorker, testPrefix, until } from "./helpers.ts";

const echo = defineTask({ name: "echo", run: async (p: unknown) => p });

/**
 * How a corrupt record must end: `dead` = a dead letter whose error matches; `acked` = its entry
 * acknowledged with a log line matching; `waiting` = left queued for a worker with its task.
 */
type End = { dead: RegExp } | { acked: RegExp } | { waiting: true };

interface Corruption {
  name: string;
  /** Makes the bad record (the queue has a good "echo" job `id` to spoil); returns its job id. */
  make: (r: RawRedis, q: Queue, id: string) => Promise<string | null>;
  end: End;
}

const hdel = (field: string) => async (r: RawRedis, q: Queue, id: string) => {
  await r.sendCommand(["HDEL", q.keys.job(id), field]);
  return id;
};
const hset = (field: string, value: string) => async (r: RawRedis, q: Queue, id: string) => {
  await r.sendCommand(["HSET", q.keys.job(id), field, value]);
  return id;
};
const replace = (cmd: string[]) => async (r: RawRedis, q: Queue, id: string) => {
  await r.sendCommand(["DEL", q.keys.job(id)]);
  await r.sendCommand([cmd[0]!, q.keys.job(id), ...cmd.slice(1)]);
  return id;
};
/** An extra stream entry of its own (the good job `id` then runs as usual). */
const entry =
  (...fields: string[]) =>
  async (r: RawRedis, q: Queue) => {
    await r.sendCommand(["XADD", q.keys.stream, "*", ...fields]);
    return null;
  };

const CORRUPT = /^corrupt record: /;
const TABLE: Corruption[] = [
  { name: "no payload", make: hdel("payload"), end: { dead: /corrupt record: no payload/ } },
  { name: "no task", make: hdel("task"), end: { dead: /corrupt record: no task/ } },
  { name: "no attempt", make: hdel("attempt"), end: { dead: /corrupt record: .*attempt/ } },
  {
    name: "no max_attempts",
    make: hdel("max_attempts"),
    end: { dead: /corrupt record: .*max_attempts/ },
  },
  { name: "no status", make: hdel("status"), end: { dead: /corrupt record: .*status/ } },
  { name: "key is a string", make: replace(["SET", "garbage"]), end: { acked: CORRUPT } },
  { name: "key is a list", make: replace(["RPUSH", "a", "b"]), end: { acked: CORRUPT } },
  { name: "key is a set", make: replace(["SADD", "a"]), end: { acked: CORRUPT } },
  { name: "key is a zset", make: replace(["ZADD", "1", "a"]), end: { acked: CORRUPT } },
  { name: "hash missing", make: replace(["DEL"]), end: { acked: /job record is gone/ } },
  {
    name: "only unknown fields",
    make: replace(["HSET", "colour", "blue"]),
    end: { acked: /job record is gone|corrupt record/ },
  },
  {
    name: "payload with NUL bytes",
    make: hset("payload", "\u0000\u0001{x"),
    end: { dead: /payload is not valid JSON/ },
  },
  {
    name: "unparsable JSON payload",
    make: hset("payload", "{not json"),
    end: { dead: /payload is not valid JSON/ },
  },
  {
    name: "non-numeric attempt",
    make: hset("attempt", "many"),
    end: { dead: /corrupt record: .*attempt/ },
  },
  {
    name: "attempt with NUL bytes",
    make: hset("attempt", "1\u00002"),
    end: { dead: /corrupt record: .*attempt/ },
  },
  {
    name: "max_attempts not a number",
    make: hset("max_attempts", "nan"),
    end: { dead: /corrupt record: .*max_attempts/ },
  },
  { name: "max_attempts 0", make: hset("max_attempts", "0"), end: { dead: CORRUPT } },
  { name: "unknown status", make: hset("status", "zzz\u0000"), end: { dead: CORRUPT } },
  { name: "unknown task", make: hset("task", "resize"), end: { waiting: true } },
  { name: "task with NUL bytes", make: hset("task", "ec\u0000ho"), end: { waiting: true } },
  {
    name: "entry with an empty field",
    make: entry("", ""),
    end: { acked: /entry has no job id/ },
  },
  { name: "entry with unknown fields", make: entry("foo", "bar"), end: { acked: /no job id/ } },
  { name: "entry with an empty id", make: entry("id", ""), end: { acked: /no job id/ } },
  {
    name: "entry with duplicate fields",
    make: entry("id", "nope-1", "id", "nope-2", "id", ""),
    end: { acked: /job record is gone/ },
  },
  {
    name: "entry for a job with no record",
    make: entry("id", "no-such-job"),
    end: { acked: /job record is gone/ },
  },
  {
    name: "entry whose id holds NUL bytes",
    make: entry("id", "a\u0000b"),
    end: { acked: /job record is gone/ },
  },
];

const count = (events: string[], re: RegExp) => events.filter((e) => re.test(e)).length;
const pending = async (r: RawRedis, q: Queue) =>
  Number(((await r.sendCommand(["XPENDING", q.keys.stream, GROUP])) as [number])[0]);
const deadLetters = async (r: RawRedis, q: Queue) => {
  const entries = (await r.sendCommand(["XRANGE", q.keys.dead, "-", "+"])) as [string, string[]][];
  const byId = new Map<string, string>();
  for (const [, f] of entries) {
    const m = new Map<string, string>();
    for (let i = 0; i + 1 < f.length; i += 2) m.set(f[i]!, f[i + 1]!);
    byId.set(m.get("id")!, m.get("error") ?? "");
  }
  return byId;
};

/** Stream entries and pending entries left, and the bounded count of retried reads/writes. */
async function settledAll(r: RawRedis, q: Queue, dead: number, deadOf: () => Promise<number>) {
  await until(
    async () =>
      (await pending(r, q)) === 0 &&
      Number(await r.sendCommand(["XLEN", q.keys.stream])) === 0 &&
      (await deadOf()) >= dead,
    "every entry settled",
    8_000,
  );
}

describe("corrupt records, mixed into batches with good jobs", () => {
  for (const concurrency of [4, 32]) {
    test(`each is settled on its own; good jobs all finish (concurrency ${concurrency})`, async () => {
      const prefix = testPrefix();
      await using q = await openQueue({ prefix, maxAttempts: 3 });
      await using r = await rawRedis();
      const good: string[] = [];
      const bad = new Map<string, Corruption>();
      for (const c of TABLE) {
        good.push(await q.enqueue("echo", good.length));
        const victim = await q.enqueue("echo", "victim");
        const id = await c.make(r, q, victim);
        if (id) bad.set(id, c);
        else good.push(victim); // the table's entry is extra: the job itself is untouched
        good.push(await q.enqueue("echo", good.length));
      }
      const log = logRecorder();
      const w = await startWorker({ prefix, tasks: [echo], concurrency, logger: log });
      const { ended } = await q.waitForJobs(good, { timeoutMs: 8_000 });
      expect(ended.size).toBe(good.length);
      for (const id of good) expect(ended.get(id)?.status).toBe("finished");
      const expectDead = [...bad.values()].filter((c) => "dead" in c.end).length;
      await settledAll(r, q, expectDead, async () => (await deadLetters(r, q)).size);
      const letters = await deadLetters(r, q);
      const lines = log.records.map((l) => `${l.event} ${JSON.stringify(l.fields)}`);
      for (const [id, c] of bad) {
        const where = `${c.name} (${id})`;
        if ("dead" in c.end) {
          expect(letters.get(id), where).toMatch(c.end.dead);
        } else if ("acked" in c.end) {
          expect(letters.has(id), where).toBe(false);
          const re = c.end.acked;
          expect(
            lines.some((l) => re.test(l) && l.includes(id)),
            where,
          ).toBe(true);
        } else {
          expect(letters.has(id), where).toBe(false);
          const job = (await r.sendCommand(["HMGET", q.keys.job(id), "status", "attempt"])) as [
            string,
            string,
          ];
          expect(job, where).toEqual(["queued", "0"]);
        }
      }
      // The entry-level rows (no job id) are logged too, one line each.
      const entryRows = TABLE.filter((c) => c.make.length < 3).length;
      expect(count(log.events(), /no job id|record is gone/)).toBeGreaterThanOrEqual(entryRows);
      // Bounded: no read or write was retried over a bad record.
      expect(count(log.events(), /read failed|redis command failed/)).toBe(0);
      await w.stop();
    }, 20_000);
  }
});

describe("corrupt records on the fail, finish and claim paths", () => {
  test("a permanent failure of a job whose payload vanished is dead-lettered", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix });
    await using r = await rawRedis();
    const vanish = defineTask({
      name: "vanish",
      run: async (_p: unknown, _s: AbortSignal, job: { id: string }) => {
        await r.sendCommand(["HDEL", q.keys.job(job.id), "payload", "attempt", "max_attempts"]);
        throw new PermanentError("gave up");
      },
    });
    const id = await q.enqueue("vanish", 1);
    const after = await Promise.all([1, 2, 3].map((n) => q.enqueue("echo", n)));
    const log = logRecorder();
    const w = await startWorker({ prefix, tasks: [vanish, echo], concurrency: 1, logger: log });
    const { ended } = await q.waitForJobs([id, ...after], { timeoutMs: 5_000 });
    expect(ended.get(id)).toMatchObject({ status: "failed", error: "gave up" });
    for (const a of after) expect(ended.get(a)?.status).toBe("finished");
    expect((await deadLetters(r, q)).get(id)).toBe("gave up");
    expect(await pending(r, q)).toBe(0);
    expect(count(log.events(), /redis command failed/)).toBe(0);
    await w.stop();
  });

  for (const outcome of ["finish", "fail"] as const) {
    test(`a ${outcome} of a job whose key became a string is acknowledged, not retried`, async () => {
      const prefix = testPrefix();
      await using q = await openQueue({ prefix, maxAttempts: 1 });
      await using r = await rawRedis();
      const spoil = defineTask({
        name: "spoil",
        run: async (_p: unknown, _s: AbortSignal, job: { id: string }) => {
          await r.sendCommand(["SET", q.keys.job(job.id), "garbage"]);
          if (outcome === "fail") throw new PermanentError("gave up");
          return "done";
        },
      });
      const ids = [await q.enqueue("echo", 0), await q.enqueue("spoil", 1)];
      const after = [await q.enqueue("echo", 2), await q.enqueue("echo", 3)];
      const log = logRecorder();
      const w = await startWorker({ prefix, tasks: [spoil, echo], concurrency: 4, logger: log });
      const { ended } = await q.waitForJobs([ids[0]!, ...after], { timeoutMs: 5_000 });
      expect(ended.size).toBe(3);
      await until(async () => (await pending(r, q)) === 0, "nothing pending", 5_000);
      await until(() => log.events().some((e) => CORRUPT.test(e)), "a corrupt-record line", 5_000);
      expect(count(log.events(), /redis command failed/)).toBe(0);
      await w.stop();
    });
  }

  for (const [name, spoil] of [
    ["no payload, at its last attempt", ["HDEL", "payload"]],
    ["a string", ["SET", "garbage"]],
  ] as const) {
    test(`a claimed entry whose record is ${name} is settled; the jobs behind it run`, async () => {
      const prefix = testPrefix();
      await using q = await openQueue({ prefix, maxAttempts: 2 });
      await using r = await rawRedis();
      const id = await q.enqueue("echo", "bad");
      await r.sendCommand(["XGROUP", "CREATE", q.keys.stream, GROUP, "0", "MKSTREAM"]);
      // A consumer that died holding it, after starting its last attempt.
      await r.sendCommand(
        ["XREADGROUP", "GROUP", GROUP, "ghost", "COUNT", "1"].concat([
          "STREAMS",
          q.keys.stream,
          ">",
        ]),
      );
      await r.sendCommand(["HSET", q.keys.job(id), "status", "started", "attempt", "2"]);
      if (spoil[0] === "SET") await r.sendCommand(["DEL", q.keys.job(id)]);
      await r.sendCommand([spoil[0], q.keys.job(id), spoil[1]]);
      const after = await Promise.all([1, 2, 3].map((n) => q.enqueue("echo", n)));
      const log = logRecorder();
      const w = await startWorker({ prefix, tasks: [echo], claimIdleMs: 100, logger: log });
      const { ended } = await q.waitForJobs(after, { timeoutMs: 5_000 });
      expect(ended.size).toBe(3);
      await until(async () => (await pending(r, q)) === 0, "nothing pending", 5_000);
      await until(
        () =>
          log.records.some((l) => CORRUPT.test(l.event) || /corrupt/.test(String(l.fields.error))),
        "the record reported as corrupt",
        5_000,
      );
      if (spoil[0] === "HDEL") expect((await deadLetters(r, q)).get(id)).toMatch(CORRUPT);
      expect(count(log.events(), /read failed|redis command failed/)).toBe(0);
      await w.stop();
    });
  }
});

describe("a start Redis refuses over one entry", () => {
  test("only that entry is set aside (acknowledged, logged); the rest of its batch runs", async () => {
    // A start script that fails on one job, as a check the scripts lack would: the worker
    // must not retry the batch forever, nor lose the good jobs read with the bad one.
    const saved = { ...scripts.start };
    const source = saved.source.replace(
      "local function start(entry, id)\n",
      "local function start(entry, id)\n  if string.find(id, 'poison') then error('boom') end\n",
    );
    expect(source).not.toBe(saved.source);
    const sha = new Bun.CryptoHasher("sha1").update(source).digest("hex");
    Object.assign(scripts.start, { source, sha });
    try {
      const prefix = testPrefix();
      await using q = await openQueue({ prefix });
      await using r = await rawRedis();
      const good = [await q.enqueue("echo", 1)];
      await q.enqueueMany([{ task: "echo", payload: 2, id: "poison-1" }]);
      good.push(await q.enqueue("echo", 3), await q.enqueue("echo", 4));
      const log = logRecorder();
      const w = await startWorker({ prefix, tasks: [echo], concurrency: 8, logger: log });
      const { ended } = await q.waitForJobs(good, { timeoutMs: 5_000 });
      expect(ended.size).toBe(3);
      await until(async () => (await pending(r, q)) === 0, "nothing pending", 5_000);
      const aside = log.records.find((l) => l.fields.job === "poison-1");
      expect(aside?.event).toMatch(CORRUPT);
      expect(count(log.events(), /read failed/)).toBe(0);
      await w.stop();
    } finally {
      Object.assign(scripts.start, saved);
    }
  });
});
