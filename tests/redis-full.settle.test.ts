// An outcome Redis refuses for lack of memory (a Redis that checks maxmemory at every write
// of a script, or a write that is not a script) is not lost: its entry stays pending and
// leased, the write is retried with back-off, and the worker logs one line when Redis becomes
// full and one when it has room again, not one per attempt.
import { describe, expect, test } from "bun:test";
import { GROUP } from "../lib/engine/keys.ts";
import { resolveOptions } from "../lib/options.ts";
import { connect, type Redis } from "../lib/redis/connect.ts";
import { MemoryWatch } from "../lib/redis/memory.ts";
import { ensureGroup, readNew, sortFresh } from "../lib/worker/entries.ts";
import { type Outcome, Outcomes } from "../lib/worker/outcomes.ts";
import { logRecorder, openQueue, pinShards, redisUrl, testPrefix, until } from "./helpers.ts";

// The test drives one shard's keys (q.keys) by hand: its queue has one shard, on a cluster one
// slot.
pinShards(1);

const OOM = "OOM command not allowed when used memory > 'maxmemory'.";

describe("an outcome refused for lack of memory", () => {
  test("stays pending, is retried with back-off, and is recorded once when Redis has room", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix });
    const id = await q.enqueue("t", null);
    const client = await connect(redisUrl());
    try {
      const o = resolveOptions({ prefix, name: "c1" });
      await ensureGroup(client, q.keys);
      const [job] = sortFresh(await readNew(client, q.keys, "c1", 1), new Set(["t"])).run;
      let refusals = 3;
      const full = {
        sendCommand: (args: string[]) =>
          refusals-- > 0 ? Promise.reject(new Error(OOM)) : client.sendCommand(args),
      } as unknown as Redis;
      const log = logRecorder();
      const memory = new MemoryWatch(log, Date.now);
      const waits: number[] = [];
      const settled: [Outcome, number][] = [];
      const outcomes = new Outcomes(
        () => [full],
        q.keys,
        o,
        (outcome, reply) => settled.push([outcome, reply]),
        (err, retryInMs) => {
          expect(memory.refused(err)).toBe(true);
          waits.push(retryInMs);
        },
      );
      outcomes.onRecovered = () => memory.wrote();
      const finish = { entryId: job!.entryId, jobId: id, job: job!, runMs: 1, result: '"ok"' };
      outcomes.add({ kind: "finish", ...finish });
      await until(() => waits.length === 1, "the first refusal");
      const pending = async () =>
        Number((await client.sendCommand<[number]>(["XPENDING", q.keys.stream, GROUP]))[0]);
      expect(await pending()).toBe(1); // not lost, not acknowledged
      expect((await q.getJob(id))?.status).toBe("started");
      await outcomes.drained();
      expect(waits).toEqual([100, 200, 400]);
      expect(settled.map(([, reply]) => reply)).toEqual([1]);
      expect(await q.getJob(id)).toMatchObject({ status: "finished", result: "ok" });
      expect(await pending()).toBe(0);
      expect(log.records.map((r) => `${r.level} ${r.event}`)).toEqual([
        "warn redis is out of memory",
        "info redis has room again",
      ]);
      outcomes.close();
    } finally {
      client.destroy();
    }
  });
});
