// A job that fails for good while Redis is full keeps only its dead letter (fail.lua with
// failure TTL 0 deletes the record to free memory). Every way of reading it must still say
// "failed", from the letter: `result`, `trigger --wait` and a library waiter woken by the
// batched `failed` event; never "unknown id". The dashboard's reads, which anyone may send and
// which run every second, do not look through letters (its dead-letter list shows the job).

import { afterEach, describe, expect, test } from "bun:test";
import { type Dashboard, startDashboard } from "../lib/dashboard/server.ts";
import { LETTER_LOOKBACK, LETTER_PAGE, recordsFromLetters } from "../lib/engine/letters.ts";
import { scripts } from "../lib/engine/lua.ts";
import { PermanentError } from "../lib/errors.ts";
import { WORDCOUNT_TASK } from "../lib/tasks/wordcount/name.ts";
import { defineTask } from "../lib/types.ts";
import { type SmallRedis, startSmallRedis } from "./fixtures/redis-small.ts";
import {
  openQueue,
  pinShards,
  rawRedis,
  runCli,
  spawnCli,
  startWorker,
  testPrefix,
  waitForLine,
} from "./helpers.ts";

// These tests run on a small Redis of their own (tests/fixtures/redis-small.ts), as in the
// first pass, not on the cluster: its queues have one shard, whose keys the tests read.
pinShards(1);

let full: SmallRedis | null = null;
let dashboard: Dashboard | null = null;
afterEach(async () => {
  await dashboard?.stop();
  dashboard = null;
  await full?.stop();
  full = null;
});

const ERROR = "the page is gone for good";
const fails = defineTask({
  name: WORDCOUNT_TASK,
  run: async () => {
    throw new PermanentError(ERROR);
  },
});

describe("a job that failed while Redis was full (no record, only its dead letter)", () => {
  test("reads as failed everywhere, from its letter", async () => {
    full = await startSmallRedis(0);
    const server = full;
    const prefix = testPrefix();
    const env = { REDIS_URL: server.url };
    await using q = await openQueue({ redisUrl: server.url, prefix });
    // Waiting before the failure: the CLI, and the library (one job, and one among others).
    const trigger = spawnCli("trigger", ["http://example.test/a", "--wait", "--prefix", prefix], {
      env,
    });
    const id = /job (\S+) enqueued/.exec(await waitForLine(trigger.stderr, /enqueued/))![1]!;
    const other = await q.enqueue(WORDCOUNT_TASK, { url: "http://example.test/b" });
    const waited = q.waitForJobs([id, other], { timeoutMs: 20_000 });
    await server.capBelowUsed();
    const w = await startWorker({ redisUrl: server.url, prefix, tasks: [fails] });
    const { ended, pending } = await waited;
    await w.stop();
    expect(pending).toEqual([]);
    // No outcome value: this is the compact failure, not a kept failed outcome.
    expect(Number(await server.redis.sendCommand(["EXISTS", q.keys.result(id)]))).toBe(0);
    expect([...ended.keys()].sort()).toEqual([id, other].sort());
    for (const job of ended.values()) {
      expect(job).toMatchObject({ status: "failed", task: WORDCOUNT_TASK, error: ERROR });
      expect(job?.note).toContain("dropped while Redis was full");
    }
    expect(ended.get(id)?.payload).toEqual({ url: "http://example.test/a" });

    const [out, code] = await Promise.all([new Response(trigger.stdout).text(), trigger.exited]);
    expect(out).not.toContain("unknown");
    expect(code).toBe(1);
    expect(out).toMatch(/^status:\s+failed \(its record was dropped while Redis was full/m);
    expect(out).toMatch(new RegExp(`^error:\\s+${ERROR}$`, "m"));

    for (const wait of [[], ["--wait"]]) {
      const r = await runCli("result", ["--jobid", id, "--json", ...wait, "--prefix", prefix], {
        env,
      });
      expect(r.stderr).toBe("");
      expect(r.code).toBe(1);
      const json = JSON.parse(r.stdout);
      expect(json).toMatchObject({ id, status: "failed", error: ERROR, task: WORDCOUNT_TASK });
      expect(json.payload).toEqual({ url: "http://example.test/a" });
    }

    dashboard = await startDashboard({ redisUrl: server.url, prefix, port: 0 });
    expect((await fetch(`${dashboard.url}/api/jobs/${id}`)).status).toBe(404);
    const dead = await (await fetch(`${dashboard.url}/api/dead`)).json();
    expect(dead.letters.map((l: { id: string }) => l.id)).toContain(id);
  });

  test("the letters looked through are bounded: the newest LETTER_LOOKBACK", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix });
    await using r = await rawRedis();
    const letter = (id: string) =>
      r.sendCommand([
        "XADD",
        q.keys.dead,
        "*",
        "id",
        id,
        "task",
        "t",
        "error",
        "e",
        "attempts",
        "1",
        "record",
        "dropped",
      ]);
    await letter("old");
    // LETTER_LOOKBACK - 1 newer letters: "old" is the last one looked at; one more hides it.
    const filler =
      "for i = 1, tonumber(ARGV[1]) do redis.call('XADD', KEYS[1], '*', 'id', 'f' .. i) end";
    await r.sendCommand(["EVAL", filler, "1", q.keys.dead, String(LETTER_LOOKBACK - 1)]);
    expect((await q.getJob("old"))?.status).toBe("failed");
    await letter("new");
    expect(await q.getJob("old")).toBeNull();
    expect((await q.getJob("new"))?.status).toBe("failed");
    expect(await q.getJob("no-such-job")).toBeNull();
  });

  test("the letters are read a page at a time (each page's letters held at once), up to the same bound", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix });
    await using r = await rawRedis();
    const filler =
      "for i = 1, tonumber(ARGV[1]) do redis.call('XADD', KEYS[1], '*', 'id', 'f' .. i, 'record', 'dropped') end";
    await r.sendCommand(["EVAL", filler, "1", q.keys.dead, String(LETTER_LOOKBACK + 10)]);
    const counts: number[] = [];
    const counting = {
      sendCommand: (args: string[]) => {
        // A page of letters (stream-page.lua, newest first): its count.
        const page = args[0] === "EVALSHA" && args[1] === scripts.streamPage.sha;
        if (page && args[4] === "XREVRANGE") counts.push(Number(args[7]));
        return r.sendCommand(args);
      },
    } as unknown as Parameters<typeof recordsFromLetters>[0];
    // f1 is the oldest letter: past the lookback, it is not found, and the scan reads the whole
    // lookback in pages; f1000 is in the first page: one read.
    expect((await recordsFromLetters(counting, q.keys, ["unknown"])).size).toBe(0);
    expect(counts.length).toBe(LETTER_LOOKBACK / LETTER_PAGE);
    expect(Math.max(...counts)).toBe(LETTER_PAGE);
    counts.length = 0;
    const near = `f${LETTER_LOOKBACK}`;
    expect((await recordsFromLetters(counting, q.keys, [near])).get(near)?.status).toBe("failed");
    expect(counts).toEqual([LETTER_PAGE]);
  });

  test("only a letter whose record was dropped counts: an expired record's id reads as unknown", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix });
    await using r = await rawRedis();
    // A letter of a job whose failed record simply expired (no `record dropped` mark): a later
    // job that reuses the id, once its own record expires, must not read as that old failure.
    await r.sendCommand(["XADD", q.keys.dead, "*", "id", "reused", "task", "t", "error", "old"]);
    expect(await q.getJob("reused")).toBeNull();
  });
});
