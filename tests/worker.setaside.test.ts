// Entries that cannot run are set aside (buried, or left for a worker that has their task)
// before the rest of a batch runs (lib/worker/set-aside.ts). When Redis refuses that, the
// worker looked again at once: a refusal that lasts (a `tasks` key of another type, a stream
// with no ids left) made 36,696 warnings and 73,455 script calls in 8 s, and `--burst` never
// ended. Now a refusal for good stops the worker as a refused read does, and any other
// failure is looked at again after a wait that grows with the failures in a row. Driven through
// a fake connection: what is checked is what the worker does with each refusal.
import { describe, expect, test } from "bun:test";
import { ErrorReply } from "redis";
import { queueKeys, shardKeys, shardOf } from "../lib/engine/keys.ts";
import { RedisRefusedError } from "../lib/errors.ts";
import { resolveOptions } from "../lib/options.ts";
import type { Redis } from "../lib/redis/connect.ts";
import { defineTask } from "../lib/types.ts";
import type { Sorted, Startable } from "../lib/worker/entries.ts";
import { SetAside } from "../lib/worker/set-aside.ts";
import {
  deadLetterErrors,
  logRecorder,
  openQueue,
  pendingCount,
  rawRedis,
  startWorker,
  testPrefix,
  testShards,
  until,
} from "./helpers.ts";

/** SetAside with its waits recorded instead of waited, and its looks again counted. */
class Probe extends SetAside {
  lost = 0;
  waits: number[] = [];
  readLost(): void {
    this.lost++;
  }
  protected override lookAgainInMs(failures: number): number {
    this.waits.push(failures);
    return 0;
  }
  sort(s: Sorted, client: Redis): Promise<Startable[]> {
    return this.sorted(s, client, "read");
  }
}

const runnable = { entryId: "2-0", jobId: "2-0", task: "t" } as unknown as Startable;
const batch = (): Sorted => ({
  run: [runnable],
  bad: [{ entryId: "1-0", id: "", problem: "missing field t" }],
  lacked: [],
});

/** A connection whose script calls are refused with `reply` while `refusing.on`. */
function refusingClient(reply: string) {
  const refusing = { on: true };
  const client = {
    sendCommand: async (args: string[]) => {
      if (args[0] === "EVALSHA" && refusing.on) throw new ErrorReply(reply);
      return args[0] === "EVALSHA" ? [1] : 1;
    },
  } as unknown as Redis;
  return { client, refusing };
}

function probe(refused: (err: unknown) => boolean) {
  const o = resolveOptions({ name: "w" });
  const w = { o, keys: queueKeys("t", "q"), tasks: new Set(["t"]), compact: () => false, refused };
  const log = logRecorder();
  const links = { client: () => ({}) as Redis, reader: () => ({}) as Redis };
  return { p: new Probe(w, links, log, () => false), log };
}

describe("setting entries aside, refused", () => {
  test("for good (a key of another type): the worker stops, nothing is looked at again", async () => {
    const seen: unknown[] = [];
    const { p } = probe((err) => {
      seen.push(err);
      return true; // the worker stops for it (Stop.refused)
    });
    const { client } = refusingClient("ERR courier: key t:{q}:tasks holds a string, not a hash");
    expect(await p.sort(batch(), client)).toEqual([]);
    expect(seen).toHaveLength(1);
    expect(p.lost).toBe(0);
    expect(p.waits).toEqual([]);
  });

  test("otherwise: looked at again after a wait that grows with the failures in a row", async () => {
    const { p, log } = probe(() => false);
    const { client, refusing } = refusingClient("ERR courier: stream t:{q}:dead has no ids left");
    for (let i = 0; i < 3; i++) expect(await p.sort(batch(), client)).toEqual([runnable]);
    expect(p.lost).toBe(3);
    expect(p.waits).toEqual([0, 1, 2]);
    // One warning for the three: throttled, the others counted in it later.
    expect(log.events().filter((e) => e.startsWith("could not set entries aside"))).toHaveLength(1);
    refusing.on = false;
    expect(await p.sort(batch(), client)).toEqual([runnable]);
    refusing.on = true;
    await p.sort(batch(), client);
    expect(p.waits).toEqual([0, 1, 2, 0]); // a set-aside that worked starts the count again
  });
});

const noop = defineTask({ name: "noop", run: async () => 1 });

// The worker's own wiring: a job of a task it lacks, while the `tasks` key (where leave.lua
// parks and counts it) holds a string: the worker stops, naming the key (it spun before). Its
// heartbeat, which serves parked jobs through the same key, comes once at the start only.
test("a worker whose set-aside is refused for good stops by itself, naming the key", async () => {
  const prefix = testPrefix();
  const keys = shardKeys(prefix, "default", testShards() ?? 1);
  await using q = await openQueue({ prefix });
  const w = await startWorker({ prefix, tasks: [noop], heartbeatEveryMs: 600_000 });
  await using r = await rawRedis();
  for (const k of keys) await r.sendCommand(["SET", k.tasks, "junk"]);
  await q.enqueue("other", {});
  await w.stopped;
  expect(w.failure).toBeInstanceOf(RedisRefusedError);
  expect(w.failure!.message).toMatch(/tasks holds a string/);
});

// Serving parked jobs (each heartbeat) through a `tasks` key of another type: the worker stops,
// as docs/internals.md says of a refused serve; it logged "redis command failed" at every beat.
test("a worker whose serve is refused for good stops by itself, naming the key", async () => {
  const prefix = testPrefix();
  const keys = shardKeys(prefix, "default", testShards() ?? 1);
  const w = await startWorker({ prefix, tasks: [noop], heartbeatEveryMs: 50 });
  await using r = await rawRedis();
  for (const k of keys) await r.sendCommand(["SET", k.tasks, "junk"]);
  await w.stopped;
  expect(w.failure).toBeInstanceOf(RedisRefusedError);
  expect(w.failure!.message).toMatch(/tasks holds a string/);
});

// A job of a task this worker lacks whose record key holds another type: leave.lua re-added it
// at once, as it was, and the worker read it again at once, for ever (12,812 lines in 10 s,
// It is dead-lettered now, its letter keeping the job's fields.
test("a job left for another worker whose record is not a hash is dead-lettered, once", async () => {
  const prefix = testPrefix();
  await using q = await openQueue({ prefix });
  const id = await q.enqueue("nosuch", { n: 1 }, { id: "nosuch-1" });
  await using r = await rawRedis();
  const keys = shardKeys(prefix, "default", testShards() ?? 1);
  const k = keys[shardOf(id, keys.length)]!;
  await r.sendCommand(["SET", k.record(id), "junk"]);
  const w = await startWorker({ prefix, tasks: [noop] });
  await until(async () => (await deadLetterErrors(r, k)).size > 0, "the dead letter");
  expect([...(await deadLetterErrors(r, k))]).toEqual([
    [id, `corrupt record: its record ${k.record(id)} holds another type than a hash`],
  ]);
  const letters = (await r.sendCommand(["XRANGE", k.dead, "-", "+"])) as [string, string[]][];
  expect(letters[0]![1]).toEqual(expect.arrayContaining(["task", "nosuch", "payload", '{"n":1}']));
  expect(await pendingCount(r, k)).toBe(0);
  await w.stop();
});
