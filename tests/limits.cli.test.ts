// Rate-limit settings and limit keys at the edges: `bin/queue.ts limit` (set, show, JSON, `off`,
// --clear, bad values and no such queue: one line, exit 2 or 4), rates parsed from text (a
// table), JobSpec.limitKey checked and carried in the entry (`k`), a task's default key (the
// word-count task: the URL's host, also from `trigger`), and a requeued letter keeps its key.
import { describe, expect, test } from "bun:test";
import { shardKeys } from "../lib/engine/keys.ts";
import { formatRate, parseRate } from "../lib/engine/rates.ts";
import { prepareJob } from "../lib/queue/prepare.ts";
import { createWordCountTask } from "../lib/tasks/wordcount/index.ts";
import { wordCountLimitKey } from "../lib/tasks/wordcount/limit-key.ts";
import { slotAction } from "../lib/worker/limit-slot.ts";
import { runUsage } from "./fixtures/cli/in-process.ts";
import { stampTask } from "./fixtures/limit-task.ts";
import { openQueue, rawRedis, runCli, testPrefix, testShards } from "./helpers.ts";

const queueCli = (prefix: string, ...args: string[]) =>
  runCli("queue", [...args, "--prefix", prefix]);

describe("rates as text", () => {
  test.each([
    ["100/s", 100, 1000, "100/s"],
    ["5/m", 5, 60_000, "5/m"],
    ["1/h", 1, 3_600_000, "1/h"],
    ["3/2s", 3, 2000, "3/2000ms"],
    ["10/500ms", 10, 500, "10/500ms"],
    [" 7 / S ", 7, 1000, "7/s"],
  ])("%p is %p per %p ms", (text, count, perMs, shown) => {
    expect(parseRate(text)).toEqual({ count, perMs });
    expect(formatRate(parseRate(text))).toBe(shown);
  });

  test.each(["", "100", "0/s", "-1/s", "1.5/s", "10/x", "10/0s", "10/8d", "2000000/s", "s/10"])(
    "%p is refused in one line",
    (text) => {
      expect(() => parseRate(text)).toThrow();
      try {
        parseRate(text);
      } catch (err) {
        expect(String((err as Error).message)).not.toContain("\n");
      }
    },
  );
});

describe("a start against its slot (the worker's clock)", () => {
  const slot = { earliest: 100, latest: 118, rtt: 1 };
  test.each<[number, number | "start" | "late"]>([
    // A timer that fired early (Bun truncates a fractional delay): wait the rest, never start.
    [99.2, 0.8],
    [0, 100],
    [100, "start"],
    [110.5, "start"],
    [118, "start"],
    [118.001, "late"],
    [500, "late"],
  ])("at %p: %p", (now, action) => {
    const got = slotAction(slot, now);
    if (typeof action === "number") expect(got as number).toBeCloseTo(action, 6);
    else expect(got).toBe(action);
  });

  test("no lateness bound (a key concurrency alone): never late", () => {
    expect(slotAction({ earliest: 0, latest: Number.POSITIVE_INFINITY, rtt: 0 }, 1e12)).toBe(
      "start",
    );
  });
});

describe("limit keys of jobs", () => {
  test("JobSpec.limitKey is checked (1-256 bytes, no control characters) and a task's default applies", () => {
    const o = { maxAttempts: 3 };
    expect(prepareJob({ task: "t", limitKey: "example.org" }, o).limitKey).toBe("example.org");
    expect(() => prepareJob({ task: "t", limitKey: "" }, o)).toThrow(
      "limitKey must be 1 to 256 bytes",
    );
    expect(() => prepareJob({ task: "t", limitKey: "é".repeat(129) }, o)).toThrow("got 258");
    expect(() => prepareJob({ task: "t", limitKey: "a\nb" }, o)).toThrow("control characters");
    const page = { url: "http://Example.ORG:8080/a" };
    expect(prepareJob({ task: stampTask, payload: page }, o).limitKey).toBe("example.org:8080");
    expect(prepareJob({ task: stampTask, payload: page, limitKey: "mine" }, o).limitKey).toBe(
      "mine",
    );
    expect(prepareJob({ task: "stamp", payload: page }, o).limitKey).toBeUndefined();
    const wc = createWordCountTask();
    expect(
      prepareJob({ task: wc, payload: { url: "https://News.Example.com/x" } }, o).limitKey,
    ).toBe("news.example.com");
    expect(wordCountLimitKey({ url: "not a url" })).toBeUndefined();
  });

  test("`trigger` gives word-count jobs their URL's host as limit key (the entry's `k`)", async () => {
    const prefix = testPrefix();
    const out = await runCli("trigger", [
      "--prefix",
      prefix,
      "--queue",
      "q",
      "http://Pages.Example/one",
    ]);
    expect(out).toMatchObject({ code: 0, stderr: "" });
    await using r = await rawRedis();
    // Whichever shard it went to (6 on the cluster pass).
    const entries = [];
    for (const k of shardKeys(prefix, "q", testShards() ?? 1)) {
      entries.push(...(await r.sendCommand(["XRANGE", k.stream, "-", "+"])));
    }
    expect(entries).toHaveLength(1);
    expect(entries[0][1]).toEqual(expect.arrayContaining(["k", "pages.example"]));
  });
});

describe("bin/queue.ts limit", () => {
  test("sets, shows, removes one (`off`) or all (--clear); JSON; follows what is stored", async () => {
    const prefix = testPrefix();
    await using queue = await openQueue({ prefix, queue: "crawl" });
    await queue.enqueue("t", null); // the queue exists
    const set = await queueCli(
      prefix,
      "limit",
      "crawl",
      "--rate",
      "100/s",
      "--key-concurrency",
      "2",
      "--key-rate",
      "5/s",
    );
    expect(set).toMatchObject({ code: 0, stderr: "" });
    expect(set.stdout).toBe(
      [
        "queue crawl limits:",
        "  rate             100/s started, across all workers",
        "  key concurrency  2 running per key",
        "  key rate         5/s started per key",
        "",
      ].join("\n"),
    );
    const off = await queueCli(prefix, "limit", "crawl", "--key-rate", "off", "--json");
    expect(JSON.parse(off.stdout)).toEqual({
      queue: "crawl",
      rate: { count: 100, perMs: 1000, text: "100/s" },
      keyConcurrency: 2,
      keyRate: null,
    });
    const shown = await queueCli(prefix, "limit", "crawl");
    expect(shown.stdout).toContain("key rate         none");
    const cleared = await queueCli(prefix, "limit", "crawl", "--clear", "--json");
    expect(JSON.parse(cleared.stdout)).toMatchObject({
      rate: null,
      keyConcurrency: null,
      keyRate: null,
    });
  });

  test("bad values, --clear with another flag, no such queue: one line, exit 2 or 4, nothing written", async () => {
    const prefix = testPrefix();
    await using queue = await openQueue({ prefix, queue: "crawl" });
    await queue.enqueue("t", null);
    for (const args of [
      ["--rate", "fast"],
      ["--rate", "0/s"],
      ["--key-concurrency", "0"],
      ["--key-concurrency", "two"],
      ["--key-rate", "5/yr"],
      ["--clear", "--rate", "1/s"],
    ]) {
      // The first through a real process, the others in this one (runUsage: the same runCli;
      // refused before Redis, as what is stored below shows).
      const out =
        args[1] === "fast"
          ? await queueCli(prefix, "limit", "crawl", ...args)
          : await runUsage("queue", ["limit", "crawl", ...args, "--prefix", prefix]);
      expect(out.code).toBe(2);
      expect(out.stdout).toBe("");
      // One line saying what is wrong (and the usual pointer to --help), no stack.
      expect(out.stderr.split("\n")[0]).toMatch(/^queue: .*(rate|concurrency|--clear)/);
      expect(out.stderr).not.toContain("    at ");
    }
    const shown = await queueCli(prefix, "limit", "crawl", "--json");
    expect(JSON.parse(shown.stdout)).toMatchObject({
      rate: null,
      keyConcurrency: null,
      keyRate: null,
    });
    const none = await queueCli(prefix, "limit", "nosuch", "--rate", "1/s");
    expect(none.code).toBe(4);
    await using r = await rawRedis();
    expect(await r.sendCommand(["EXISTS", `${prefix}:{nosuch}:meta`])).toBe(0);
  });
});
