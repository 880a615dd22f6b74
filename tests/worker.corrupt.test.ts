// One corrupt record must never stall a worker or the queue: mixed into batches with good jobs,
// each bad record is settled on its own (a dead letter whose error says what is wrong, or an
// acknowledged entry and a log line), every good job finishes, and nothing stays pending.
import { describe, expect, test } from "bun:test";
import type { Queue } from "../lib/queue/queue.ts";
import { CORRUPT, count, deadLetters, echo, pending } from "./fixtures/corrupt.ts";
import {
  logRecorder,
  openQueue,
  type RawRedis,
  rawRedis,
  startWorker,
  testPrefix,
  until,
} from "./helpers.ts";

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

const holds = (type: string) => new RegExp(`^corrupt record: .*"job key holds a ${type}"`);
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
  // The start script's own verdict, naming the type: not the worker's last resort for a start
  // Redis refuses (lib/worker/take.ts #setAside), which would mean the script failed its batch.
  { name: "key is a string", make: replace(["SET", "garbage"]), end: { acked: holds("string") } },
  { name: "key is a list", make: replace(["RPUSH", "a", "b"]), end: { acked: holds("list") } },
  { name: "key is a set", make: replace(["SADD", "a"]), end: { acked: holds("set") } },
  { name: "key is a zset", make: replace(["ZADD", "1", "a"]), end: { acked: holds("zset") } },
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
  // A run numbered 2.5 could never be ended by its outcome (fail-6 compares run numbers).
  { name: "runs 1.5", make: hset("runs", "1.5"), end: { dead: /corrupt record: runs/ } },
  { name: "runs inf", make: hset("runs", "inf"), end: { dead: /corrupt record: runs/ } },
  { name: "runs nan", make: hset("runs", "nan"), end: { dead: /corrupt record: runs/ } },
  { name: "runs 1e999", make: hset("runs", "1e999"), end: { dead: /corrupt record: runs/ } },
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
