// The benchmark suite, smoke-tested: every workload runs once on a tiny size against its own
// redis-server, and every figure it prints is a well-formed JSON line with a positive value.
// No timing assertions: how fast things are is the bench's business, not the tests'.
import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { summarise } from "../bench/_cpuprofile.ts";
import { median, percentile, round } from "../bench/_figures.ts";
import { rqMissing } from "../bench/contenders/rq.ts";
import { ROOT } from "./helpers.ts";

interface Figure {
  workload: string;
  name: string;
  contender: string;
  persistence: string;
  median: number;
  min: number;
  max: number;
  unit: string;
  rounds: number;
}

async function bench(
  args: string[],
): Promise<{ figures: Figure[]; file: string[]; stderr: string }> {
  const dir = mkdtempSync(join(tmpdir(), "courier-bench-test-"));
  const out = join(dir, "latest.jsonl");
  try {
    const proc = Bun.spawn({
      cmd: [process.execPath, join(ROOT, "bench/run.ts"), "--size", "tiny", "--rounds", "1"].concat(
        ["--out", out],
        args,
      ),
      cwd: ROOT,
      stdout: "pipe",
      stderr: "pipe",
    });
    const timer = setTimeout(() => proc.kill("SIGKILL"), 60_000);
    const [stdout, stderr, code] = await Promise.all([
      new Response(proc.stdout).text(),
      new Response(proc.stderr).text(),
      proc.exited,
    ]);
    clearTimeout(timer);
    if (code !== 0) throw new Error(`bench exited ${code}:\n${stderr.slice(-3_000)}`);
    const lines = stdout.split("\n").filter((l) => l.startsWith("{"));
    return {
      figures: lines.map((l) => JSON.parse(l) as Figure),
      file: readFileSync(out, "utf8").split("\n"),
      stderr,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A stand-in python3 that fails every import the way a bare Debian's does. */
function fakePython(error: string): string {
  const dir = mkdtempSync(join(tmpdir(), "courier-fake-python-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, "python3");
  writeFileSync(path, `#!/bin/sh\necho "ModuleNotFoundError: ${error}" >&2\nexit 1\n`);
  chmodSync(path, 0o755);
  return path;
}

function expectWellFormed(f: Figure): void {
  expect(typeof f.name).toBe("string");
  expect(["courier", "bullmq", "raw", "rq"]).toContain(f.contender);
  expect(["off", "aof"]).toContain(f.persistence);
  expect(f.unit.length).toBeGreaterThan(0);
  expect(f.rounds).toBe(1);
  for (const v of [f.median, f.min, f.max]) {
    expect(Number.isFinite(v)).toBe(true);
    expect(v).toBeGreaterThan(0);
  }
  expect(f.min).toBeLessThanOrEqual(f.median);
  expect(f.median).toBeLessThanOrEqual(f.max);
}

describe("bun run bench", () => {
  test("every workload once, tiny: one positive figure per JSON line", async () => {
    const { figures, file, stderr } = await bench(["--no-aof"]);
    for (const f of figures) expectWellFormed(f);
    const names = new Set(figures.map((f) => `${f.name} ${f.contender}`));
    // RQ runs where Debian's python3-rq is installed (`scripts/setup.sh --with-bench`), and is
    // skipped with its reason elsewhere, so `npm test` passes on a machine with only Node.
    const rqReason = rqMissing();
    if (rqReason) {
      expect(stderr).toContain(`rq skipped: ${rqReason}`);
      expect(figures.filter((f) => f.contender === "rq")).toEqual([]);
    } else {
      expect(names).toContain("io.wordcount rq");
    }
    for (const expected of [
      "enqueue.single courier",
      "enqueue.bulk bullmq",
      "enqueue.trigger-file courier",
      "noop.1proc.c1 courier",
      "noop.1proc.c128 raw",
      "noop.2proc.c128 bullmq",
      "latency.recorded.p99 courier",
      "latency.waiter.p50 bullmq",
      "io.wordcount courier",
      "io.wordcount bullmq",
      "cost.mem.queued courier",
      "cost.cmds.client bullmq",
      "cost.rss.growth courier",
      "cost.rss.growth-median courier",
    ]) {
      expect(names).toContain(expected);
    }
    // The file holds the run's description, the same figures, and the targets.
    const records = file.filter(Boolean).map((l) => JSON.parse(l));
    expect(records[0].meta).toBe("run");
    expect(records.filter((r) => r.unit).length).toBe(figures.length);
    expect(records.some((r) => r.target && typeof r.met === "boolean")).toBe(true);
  }, 90_000);

  test("the AOF pass runs on a Redis with appendonly on", async () => {
    const { figures } = await bench(["--aof", "--only", "enqueue", "--contenders", "courier"]);
    expect(figures.length).toBe(3);
    for (const f of figures) {
      expectWellFormed(f);
      expect(f.persistence).toBe("aof");
    }
  }, 30_000);

  test.each([
    [
      "/nonexistent/python3",
      /^\/nonexistent\/python3 is not installed \(apt-get install -y python3-rq python3-requests/,
    ],
    [
      fakePython("No module named 'requests'"),
      /cannot import rq and requests: .*No module named 'requests' \(apt-get install/,
    ],
  ])("RQ is missing with %s: one line saying what to install", (python, reason) => {
    expect(rqMissing(python)).toMatch(reason);
  });

  test("bad options exit 2 with the usage", async () => {
    const proc = Bun.spawn({
      cmd: [process.execPath, join(ROOT, "bench/run.ts"), "--size", "huge"],
      cwd: ROOT,
      stdout: "pipe",
      stderr: "pipe",
    });
    const [stderr, code] = await Promise.all([new Response(proc.stderr).text(), proc.exited]);
    expect(code).toBe(2);
    expect(stderr).toContain("--size must be tiny, small or full");
  });
});

describe("figure arithmetic", () => {
  test.each([
    [[3, 1, 2], 2],
    [[4, 1, 3, 2], 2.5],
    [[7], 7],
  ])("median of %p is %p", (values, expected) => {
    expect(median(values)).toBe(expected);
  });

  test("nearest-rank percentiles", () => {
    const values = Array.from({ length: 100 }, (_, i) => 100 - i);
    expect(percentile(values, 50)).toBe(50);
    expect(percentile(values, 99)).toBe(99);
    expect(percentile(values, 100)).toBe(100);
  });

  test.each([
    [123456.7, 123457],
    [12.3456, 12.3],
    [0.012345, 0.012],
  ])("round(%p) = %p", (v, expected) => {
    expect(round(v)).toBe(expected);
  });

  test("CPU profile: samples, not time deltas; native work charged to its caller", () => {
    const frame = (functionName: string, url = "", lineNumber = 0) => ({
      functionName,
      url,
      lineNumber,
    });
    const profile = {
      nodes: [
        { id: 1, callFrame: frame("(root)"), children: [2, 5] },
        {
          id: 2,
          callFrame: frame("write", `file://${ROOT}/node_modules/@redis/client/x.js`, 9),
          children: [3],
        },
        { id: 3, callFrame: frame("writeBuffered") },
        { id: 5, callFrame: frame("launch", `${ROOT}/lib/worker/running.ts`, 70) },
        { id: 6, callFrame: frame("(idle)") },
      ],
      samples: [3, 3, 5, 6, 6, 6],
    };
    const s = summarise(profile, ROOT);
    expect(s.samples).toBe(3);
    expect(s.hot[0]).toEqual({
      fn: "writeBuffered",
      location: "[native code]",
      origin: "native",
      samples: 2,
    });
    expect(s.hot[1]).toEqual({
      fn: "launch",
      location: "lib/worker/running.ts:71",
      origin: "courier lib/",
      samples: 1,
    });
    expect(Object.fromEntries(s.byCaller)).toEqual({ "node-redis": 2, "courier lib/": 1 });
  });
});
