// A worker name taken over while its process was stalled (docs/internals.md, "A name taken
// over"): a process P stalls past its hash's TTL, a new start W takes the name (name.lua), hands
// P's entries to `<name>~gone` and reads new ones under the same consumer name. P, woken, must
// not run W's entries (an own read would, with W's delivery counts: the same fences) nor take
// the hash back: its heartbeat and own read see another start's token, and it stops reading,
// leaving what is pending on the name to W. Each step waits for an event, never a sleep.
import { describe, expect, test } from "bun:test";
import { readOwnPending } from "../lib/engine/claim.ts";
import { entryFields } from "../lib/engine/entry.ts";
import { beat } from "../lib/engine/heartbeat.ts";
import { GROUP } from "../lib/engine/keys.ts";
import { holdName } from "../lib/engine/name.ts";
import { UnavailableError } from "../lib/errors.ts";
import { onNodeOf } from "../lib/redis/cluster.ts";
import type { Task } from "../lib/types.ts";
import type { Worker } from "../lib/worker/worker.ts";
import { asClient, enqueue, freshQueue, jobs, take } from "./fixtures/engine.ts";
import {
  logRecorder,
  pinShards,
  rawRedis,
  spawnCli,
  startWorker,
  until,
  waitForLine,
} from "./helpers.ts";

// Queues built by hand (freshQueue): one shard, one slot.
pinShards(1);

const NAME = { host: "h", pid: 1, ttlMs: 60_000 };

describe("the start token in the worker's hash", () => {
  test("a beat of an earlier start writes nothing once a later start holds the name", async () => {
    await using r = await rawRedis();
    const keys = await freshQueue(r);
    const c = asClient(r);
    expect(await holdName(c, keys.worker("dup"), { ...NAME, start: "p" })).toBeNull();
    const fields = { pid: 1 };
    expect(await beat(c, keys, { name: "dup", start: "p", ttlMs: 60_000, fields })).toBe(true);
    await r.sendCommand(["DEL", keys.worker("dup")]); // P's hash expired while it was stalled
    expect(await holdName(c, keys.worker("dup"), { ...NAME, pid: 2, start: "w" })).toBeNull();
    const late = { name: "dup", start: "p", ttlMs: 60_000, fields: { pid: 1 } };
    expect(await beat(c, keys, late)).toBe(false);
    expect(await r.sendCommand(["HMGET", keys.worker("dup"), "start", "pid"])).toEqual(["w", "2"]);
    expect(await beat(c, keys, { ...late, start: "w", fields: { pid: 2 } })).toBe(true);
    // A hash that expired with no one taking the name is written again by its own start.
    await r.sendCommand(["DEL", keys.worker("dup")]);
    expect(await beat(c, keys, late)).toBe(true);
    expect(await r.sendCommand(["HGET", keys.worker("dup"), "start"])).toBe("p");
  });

  test("an own read of an earlier start reads nothing once a later start holds the name", async () => {
    await using r = await rawRedis();
    const keys = await freshQueue(r);
    const c = asClient(r);
    await enqueue(r, keys, jobs(1));
    expect(await holdName(c, keys.worker("dup"), { ...NAME, start: "w" })).toBeNull();
    const [entry] = await take(r, keys, "dup", 1); // W's delivery, pending on the name
    const stale = await readOwnPending(c, keys, { consumer: "dup", count: 10, start: "p" });
    expect(stale).toEqual({ cursor: "0-0", claimed: [], taken: true });
    const own = await readOwnPending(c, keys, { consumer: "dup", count: 10, start: "w" });
    expect(own.taken).toBeUndefined();
    expect(own.claimed.map((x) => x.entry)).toEqual([entry![0]]);
    const pending = (await r.sendCommand(["XPENDING", keys.stream, GROUP, "-", "+", "10"])) as [
      string,
      string,
      number,
      number,
    ][];
    expect(pending.map(([e, owner, , n]) => [e, owner, n])).toEqual([[entry![0], "dup", 1]]);
  });
});

/**
 * An entry added and read as `dup` in one script, as the other start's read: P's blocked read
 * never sees it (Redis serves a blocked read after the script, with the entry delivered).
 */
async function theirDelivery(r: { sendCommand(a: string[]): Promise<unknown> }, stream: string) {
  const deliver =
    "local id = redis.call('XADD', KEYS[1], '*', unpack(ARGV)) " +
    "redis.call('XREADGROUP', 'GROUP', 'workers', 'dup', 'COUNT', '1', 'STREAMS', KEYS[1], '>') " +
    "return id";
  const fields = entryFields("t", JSON.stringify({ n: 0 }), 3);
  return String(await r.sendCommand(["EVAL", deliver, "1", stream, ...fields]));
}

/** The name's hash is another start's now, as name.lua leaves it once P's expired. */
async function takeName(r: { sendCommand(a: string[]): Promise<unknown> }, key: string) {
  await r.sendCommand(["HSET", key, "start", "another-start", "pid", "2"]);
}

async function stoppedBy(w: Worker): Promise<void> {
  let stopped = false;
  void w.stopped.then(() => {
    stopped = true;
  });
  await until(() => stopped, "the worker stopped by itself", 15_000);
}

describe("a worker whose name another start took", () => {
  test("its heartbeat finds out: it stops, leaving the name's entries and hash to that start", async () => {
    await using r = await rawRedis();
    const keys = await freshQueue(r);
    const prefix = keys.stream.split(":{")[0]!;
    const ran: string[] = [];
    const t: Task = { name: "t", run: async (_p, ctx) => void ran.push(ctx.id) };
    const log = logRecorder();
    const w = await startWorker({
      ...{ prefix, queue: "q", name: "dup", tasks: [t], logger: log },
      ...{ heartbeatEveryMs: 50, claimIdleMs: 60_000 },
    });
    await enqueue(r, keys, jobs(1));
    await until(() => w.processed === 1, "P's own job finished");
    await takeName(r, keys.worker("dup"));
    const theirs = await theirDelivery(r, keys.stream);
    await stoppedBy(w);
    expect(w.failure).toBeInstanceOf(UnavailableError);
    expect(w.failure?.message).toBe(
      'worker name "dup" was taken by another start while this process was stalled; stopped without reading again',
    );
    expect(log.events().filter((e) => e.includes("name taken"))).toHaveLength(1);
    // Nothing of the other start's was run, released or deleted.
    expect(ran).toHaveLength(1);
    const pending = (await r.sendCommand(["XPENDING", keys.stream, GROUP, "-", "+", "10"])) as [
      string,
      string,
    ][];
    expect(pending.map(([e, owner]) => [e, owner])).toEqual([[theirs, "dup"]]);
    expect(await r.sendCommand(["HGET", keys.worker("dup"), "start"])).toBe("another-start");
    // Once that start is gone, this process may run the name again.
    await r.sendCommand(["DEL", keys.worker("dup")]);
    const again = await startWorker({ prefix, queue: "q", name: "dup", tasks: [t] });
    await again.stop(0);
  });

  test("its own read after a lost reply finds out: it runs none of that start's entries", async () => {
    await using r = await rawRedis();
    const keys = await freshQueue(r);
    const prefix = keys.stream.split(":{")[0]!;
    const ran: string[] = [];
    const t: Task = { name: "t", run: async (_p, ctx) => void ran.push(ctx.id) };
    // No heartbeat and no claim within the test: only the own read can find the name taken.
    const w = await startWorker({
      ...{ prefix, queue: "q", name: "dup", tasks: [t] },
      ...{ heartbeatEveryMs: 60_000, claimIdleMs: 60_000 },
    });
    const node = onNodeOf(asClient(r), keys.stream);
    await takeName(r, keys.worker("dup"));
    const theirs = await theirDelivery(r, keys.stream);
    // P's blocked read is cut off: as far as P knows its reply was lost, so it reads its own
    // pending entries (where the other start's entry is).
    let reader = "";
    await until(async () => {
      const list = String(await node.sendCommand(["CLIENT", "LIST"])).split("\n");
      const line = list.find(
        (l) => l.includes(" name=courier-reader-dup ") && l.includes("cmd=xreadgroup"),
      );
      reader = line ? (/^id=(\d+)/.exec(line)?.[1] ?? "") : "";
      return reader !== "";
    }, "P blocked in a read");
    await node.sendCommand(["CLIENT", "KILL", "ID", reader]);
    await stoppedBy(w);
    expect(w.failure).toBeInstanceOf(UnavailableError);
    expect(ran).toEqual([]);
    const pending = (await r.sendCommand(["XPENDING", keys.stream, GROUP, "-", "+", "10"])) as [
      string,
      string,
      number,
      number,
    ][];
    expect(pending.map(([e, owner, , n]) => [e, owner, n])).toEqual([[theirs, "dup", 1]]);
  });

  test("the CLI worker exits non-zero, in one line", async () => {
    await using r = await rawRedis();
    const keys = await freshQueue(r);
    const prefix = keys.stream.split(":{")[0]!;
    const cli = spawnCli("worker", ["--prefix", prefix, "--queue", "q", "--name", "dup"], {
      env: { COURIER_SHARDS: "1" },
    });
    await waitForLine(cli.stdout, /worker started/);
    await takeName(r, keys.worker("dup"));
    const [code, stderr] = await Promise.all([cli.exited, new Response(cli.stderr).text()]);
    expect(code).toBe(2);
    expect(stderr.trim()).toBe(
      'worker: worker name "dup" was taken by another start while this process was stalled; stopped without reading again',
    );
  }, 30_000);
});
