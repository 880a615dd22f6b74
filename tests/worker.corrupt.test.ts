// One corrupt record must never stall a worker or the queue: mixed into batches with good jobs,
// each bad entry is set aside on its own (a dead letter whose error says what is wrong, or an
// acknowledged entry and a log line), every good job finishes, and nothing stays pending.
import { describe, expect, test } from "bun:test";
import { isAutoId, type QueueKeys } from "../lib/engine/keys.ts";
import type { Queue } from "../lib/queue/queue.ts";
import { CORRUPT, count, deadLetters, echo } from "./fixtures/corrupt.ts";
import { shardsOf } from "./fixtures/queue-shards.ts";
import {
  logRecorder,
  openQueue,
  pendingCount,
  type RawRedis,
  rawRedis,
  startWorker,
  testPrefix,
  until,
} from "./helpers.ts";

// The bad entries go into shard 0 (q.keys; of 6 shards in the cluster pass), the good jobs
// wherever the Queue puts them. An entry without a valid `i` is the job `<entry id><suffix>`.
const jobIdOf = (q: Queue, id: string) => (isAutoId(id) ? `${id}${q.keys.idSuffix}` : id);

/** `read` on every shard of the queue, summed. */
async function sum(q: Queue, read: (k: QueueKeys) => Promise<unknown>): Promise<number> {
  let n = 0;
  for (const k of shardsOf(q)) n += Number(await read(k));
  return n;
}

/**
 * How a corrupt entry must end: `dead` = a dead letter (under the job's id) whose error
 * matches; `buried` = dead-lettered by the worker's entry check, with a log line naming the
 * entry and matching; `acked` = its entry acknowledged with a log line matching; `waiting` =
 * left queued (parked) for a worker with its task. (The entry is the job's record,
 * docs/internals.md, "The stream entry", so the corruptions are the entry's fields and the outcome key.)
 */
type End = { dead: RegExp } | { buried: RegExp } | { acked: RegExp } | { waiting: true };

interface Corruption {
  name: string;
  /** Adds the bad entry (or spoils what a good one needs); returns its job id, or its entry id. */
  make: (r: RawRedis, q: Queue) => Promise<string>;
  end: End;
}

const GOOD: Record<string, string> = { t: "echo", p: '"victim"', a: "0", m: "3" };
/** An entry of the good fields with `spoil` applied (a value of null drops the field). */
const fields =
  (spoil: Record<string, string | null>, raw?: string[]) => async (r: RawRedis, q: Queue) => {
    const f =
      raw ?? Object.entries({ ...GOOD, ...spoil }).flatMap(([k, v]) => (v === null ? [] : [k, v]));
    const entryId = String(await r.sendCommand(["XADD", q.keys.stream, "*", ...f]));
    const i = spoil.i; // a valid job id names the job; else the entry is the job
    return i && /^[\w.:-]+$/.test(i) ? i : entryId;
  };
/** A good entry whose outcome key already holds another type. */
const outcomeHolds = (cmd: string[]) => async (r: RawRedis, q: Queue) => {
  const id = await fields({})(r, q);
  await r.sendCommand([cmd[0]!, q.keys.result(jobIdOf(q, id)), ...cmd.slice(1)]);
  return id;
};

/** Dead-lettered by the finish (not the entry check): the outcome key is not Courier's string. */
const notAnOutcome = /corrupt record: key \S+ holds a \w+, not a string/;
const TABLE: Corruption[] = [
  { name: "no payload", make: fields({ p: null }), end: { dead: /corrupt record: no payload/ } },
  { name: "no task", make: fields({ t: null }), end: { dead: /corrupt record: no task/ } },
  { name: "no attempt", make: fields({ a: null }), end: { dead: /corrupt record: .*attempt/ } },
  {
    name: "no max_attempts",
    make: fields({ m: null }),
    end: { dead: /corrupt record: .*max_attempts/ },
  },
  {
    name: "outcome key is a list",
    make: outcomeHolds(["RPUSH", "a"]),
    end: { dead: notAnOutcome },
  },
  { name: "outcome key is a set", make: outcomeHolds(["SADD", "a"]), end: { dead: notAnOutcome } },
  {
    name: "outcome key is a zset",
    make: outcomeHolds(["ZADD", "1", "a"]),
    end: { dead: notAnOutcome },
  },
  {
    name: "outcome key is a hash",
    make: outcomeHolds(["HSET", "a", "b"]),
    end: { dead: notAnOutcome },
  },
  {
    name: "payload with NUL bytes",
    make: fields({ p: "\u0000\u0001{x" }),
    end: { dead: /payload is not valid JSON/ },
  },
  {
    // JSON.parse takes it; given to the task, its result took JSON.stringify 5 s to refuse.
    name: "payload nested 100,000 deep",
    make: fields({ p: `${"[".repeat(100_000)}${"]".repeat(100_000)}` }),
    end: { dead: /^the payload nests too deeply/ },
  },
  {
    name: "unparsable JSON payload",
    make: fields({ p: "{not json" }),
    end: { dead: /payload is not valid JSON/ },
  },
  {
    name: "non-numeric attempt",
    make: fields({ a: "many" }),
    end: { dead: /corrupt record: .*attempt/ },
  },
  {
    name: "attempt with NUL bytes",
    make: fields({ a: "1\u00002" }),
    end: { dead: /corrupt record: .*attempt/ },
  },
  {
    name: "max_attempts not a number",
    make: fields({ m: "nan" }),
    end: { dead: /corrupt record: .*max_attempts/ },
  },
  { name: "max_attempts 0", make: fields({ m: "0" }), end: { dead: CORRUPT } },
  { name: "attempts used up", make: fields({ a: "3" }), end: { dead: /attempts used up/ } },
  { name: "runs 1.5", make: fields({ n: "1.5" }), end: { dead: /corrupt record: runs/ } },
  { name: "runs inf", make: fields({ n: "inf" }), end: { dead: /corrupt record: runs/ } },
  { name: "runs nan", make: fields({ n: "nan" }), end: { dead: /corrupt record: runs/ } },
  { name: "runs 1e999", make: fields({ n: "1e999" }), end: { dead: /corrupt record: runs/ } },
  {
    name: "unknown task",
    make: fields({ t: "resize", i: "unknown-task-1" }),
    end: { waiting: true },
  },
  {
    name: "task with NUL bytes",
    make: fields({ t: "ec\u0000ho", i: "nul-task-1" }),
    end: { waiting: true },
  },
  { name: "entry with an empty field", make: fields({}, ["", ""]), end: { dead: /no task/ } },
  { name: "entry with unknown fields", make: fields({}, ["foo", "bar"]), end: { dead: /no task/ } },
  {
    name: "entry with an empty id",
    make: fields({ i: "" }),
    end: { buried: /job id is not valid/ },
  },
  {
    name: "entry with duplicate fields",
    make: fields({}, [...Object.entries(GOOD).flat(), "i", "nope-1", "i", "nope-2", "i", ""]),
    end: { buried: /job id is not valid/ },
  },
  {
    name: "entry whose id holds NUL bytes",
    make: fields({ i: "a\u0000b" }),
    end: { buried: /job id is not valid/ },
  },
];

/** Stream entries and pending entries left, and the bounded count of retried reads/writes. */
async function settledAll(r: RawRedis, q: Queue, dead: number, deadOf: () => Promise<number>) {
  await until(
    async () =>
      (await sum(q, (k) => pendingCount(r, k))) === 0 &&
      (await sum(q, (k) => r.sendCommand(["XLEN", k.stream]))) === 0 &&
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
        bad.set(await c.make(r, q), c);
        good.push(await q.enqueue("echo", good.length));
      }
      const log = logRecorder();
      const w = await startWorker({ prefix, tasks: [echo], concurrency, logger: log });
      const { ended } = await q.waitForJobs(good, { timeoutMs: 8_000 });
      expect(ended.size).toBe(good.length);
      for (const id of good) expect(ended.get(id)?.status).toBe("finished");
      const expectDead = [...bad.values()].filter(
        (c) => "dead" in c.end || "buried" in c.end,
      ).length;
      await settledAll(r, q, expectDead, async () => (await deadLetters(r, q)).size);
      const letters = await deadLetters(r, q);
      const lines = log.records.map((l) => `${l.event} ${JSON.stringify(l.fields)}`);
      for (const [id, c] of bad) {
        const where = `${c.name} (${id})`;
        if ("dead" in c.end) {
          expect(letters.get(jobIdOf(q, id)), where).toMatch(c.end.dead);
        } else if ("buried" in c.end) {
          const re = c.end.buried;
          expect(
            lines.some(
              (l) => l.startsWith("corrupt record: dead-lettered") && re.test(l) && l.includes(id),
            ),
            where,
          ).toBe(true);
        } else if ("acked" in c.end) {
          expect(letters.has(jobIdOf(q, id)), where).toBe(false);
          const re = c.end.acked;
          expect(
            lines.some((l) => re.test(l) && l.includes(id)),
            where,
          ).toBe(true);
        } else {
          expect(letters.has(jobIdOf(q, id)), where).toBe(false);
          const job = (await r.sendCommand(["HMGET", q.keys.record(id), "status", "a"])) as [
            string,
            string,
          ];
          expect(job, where).toEqual(["queued", "0"]);
        }
      }
      // Every entry the worker's check refused is logged, one line each.
      const checked = TABLE.filter(
        (c) =>
          "buried" in c.end ||
          ("dead" in c.end &&
            !/JSON|deeply/.test(c.end.dead.source) &&
            c.end.dead !== notAnOutcome),
      ).length;
      expect(count(log.events(), /^corrupt record: dead-lettered$/)).toBe(checked);
      // Bounded: no read or write was retried over a bad record.
      expect(count(log.events(), /read failed|redis command failed/)).toBe(0);
      await w.stop();
    }, 20_000);
  }
});
