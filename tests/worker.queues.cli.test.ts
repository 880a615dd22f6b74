// `worker --queue high,default,low` through the real CLIs: jobs enqueued with `trigger --queue`,
// pages served (and held) by the test, the order of the page requests being the order the
// worker started the jobs. lib/worker/order.ts, lib/worker/slots.ts.
import { describe, expect, test } from "bun:test";
import { shardKeys } from "../lib/engine/keys.ts";
import { backgroundWorker, triggerOne, workerArgs } from "./fixtures/cli/harness.ts";
import { runUsage } from "./fixtures/cli/in-process.ts";
import { deliveredOn, orderedSite } from "./fixtures/cli/ordered-site.ts";
import { onOneServer, rawRedis, runCli, testPrefix, testShards, until } from "./helpers.ts";

const site = orderedSite;
// `once`: in the first pass only, for mistakes refused before Redis is reached (run in this
// process: tests/fixtures/cli/in-process.ts), the same on a cluster.
const once = test.skipIf(!onOneServer);

/** `trigger --queue QUEUE --file -` of the given URLs: every line enqueued. */
async function triggerAll(prefix: string, queue: string, urls: string[]): Promise<void> {
  const args = ["--prefix", prefix, "--queue", queue, "--file", "-"];
  const r = await runCli("trigger", args, { stdin: `${urls.join("\n")}\n` });
  expect(r.code).toBe(0);
}

describe("worker --queue high,default,low", () => {
  test("strict order: every high job starts before any default one, every default before any low", async () => {
    const prefix = testPrefix();
    const s = site();
    for (const q of ["low", "default", "high"]) {
      await triggerAll(
        prefix,
        q,
        [1, 2, 3].map((i) => s.url(`/${q}/${i}`)),
      );
    }
    const more = ["--queue", "high,default,low", "--concurrency", "1", "--burst"];
    const res = await runCli("worker", workerArgs(prefix, ...more));
    expect(res.code).toBe(0);
    expect(s.order.map((p) => p.split("/")[1])).toEqual([
      ...["high", "high", "high"],
      ...["default", "default", "default"],
      ...["low", "low", "low"],
    ]);
    s.stop();
  });

  test("saturated with slow low jobs, one high job starts before the next low batch", async () => {
    const prefix = testPrefix();
    const s = site();
    const lows = Array.from({ length: 8 }, (_, i) => s.url(`/slow/low-${i}`));
    await triggerAll(prefix, "low", lows);
    const w = backgroundWorker(prefix, "--queue", "high,default,low", "--concurrency", "2");
    await until(() => s.held.length === 2, "both slots busy with low jobs");
    const id = await triggerOne(prefix, s.url("/high"), "--queue", "high");
    await using r = await rawRedis();
    // Delivered to the worker (held for a slot) before any slot frees.
    const high = shardKeys(prefix, "high", testShards() ?? 1).map((k) => k.stream);
    await until(async () => (await deliveredOn(r, high)) === 1, "the high job delivered");
    s.held.shift()?.(); // one low page answers: its slot goes to the high job
    await w.logged("finished", id);
    // Shards take turns, so which low jobs ran first depends on the shard count: not their names.
    const kinds = s.order.map((p) => (p.startsWith("/slow/") ? "low" : p));
    expect(kinds.slice(0, 3)).toEqual(["low", "low", "/high"]);
    w.proc.kill("SIGTERM");
    for (const open of s.held.splice(0)) open();
    expect((await w.ended()).code).toBe(0);
    s.stop();
  });

  once("a bad order or weights: exit 2, one line (and the pointer to --help)", async () => {
    const prefix = testPrefix();
    const cases: [string[], string][] = [
      [["--order", "fifo"], 'worker: --order must be strict or weighted, got "fifo"'],
      [["--weights", "6,3,1"], "worker: --weights needs --order weighted"],
      [["--order", "weighted", "--weights", "6;3"], "worker: --weights must be whole numbers"],
      [
        ["--queue", "a,b,c", "--order", "weighted", "--weights", "6,3"],
        "worker: weights must give one weight per queue: 3, got 2",
      ],
      [["--queue", "a,b,a"], 'worker: queue list "a,b,a" names a queue twice'],
    ];
    for (const [args, line] of cases) {
      const r = await runUsage("worker", workerArgs(prefix, ...args));
      expect(r.code).toBe(2);
      const [first, ...rest] = r.stderr.trim().split("\n");
      expect(first).toStartWith(line);
      expect(rest).toEqual(["Run with --help to see the options."]);
    }
  });

  once(
    "COURIER_QUEUE set to a worker's list: the other commands say the list is a worker's",
    async () => {
      const prefix = testPrefix();
      const env = { COURIER_QUEUE: "high,default,low" };
      const commands: [string, string[]][] = [
        ["trigger", ["--task", "t"]],
        ["result", ["some-id"]],
        ["cancel", ["some-id"]],
        ["dead", ["list"]],
      ];
      for (const [name, args] of commands) {
        const r = await runUsage(name, [...args, "--prefix", prefix], { env });
        expect({ name, code: r.code }).toEqual({ name, code: 2 });
        expect(r.stderr.split("\n")[0]).toBe(
          `${name}: queue name "high,default,low" must be 1-100 letters, digits or _.:-; a list of queues is for \`worker --queue\` only`,
        );
      }
    },
  );
});
