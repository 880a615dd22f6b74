// The benchmark suite, smoke-tested (`bun run test:load`, not `npm test`: about a minute of
// load): every workload runs once on a tiny size against its own redis-server, and every figure
// it prints is a well-formed JSON line with a positive value. No timing assertions: how fast
// things are is the bench's business, not the tests'. The bench's own code (options,
// arithmetic, verdicts) is tested in tests/bench.test.ts, in the suite.
import { describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { rqMissing } from "../../bench/contenders/rq.ts";
import { ROOT } from "../helpers.ts";

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
      "enqueue.trigger-file bullmq",
      "enqueue.redis.usec courier",
      "noop.redis.usec bullmq",
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
    expect(records.filter((r) => r.contender).length).toBe(figures.length);
    expect(records.some((r) => r.target && typeof r.met === "boolean")).toBe(true);
  }, 90_000);

  test("the AOF pass runs on a Redis with appendonly on", async () => {
    const { figures } = await bench(["--aof", "--only", "enqueue", "--contenders", "courier"]);
    const names = figures.map((f) => f.name);
    for (const name of ["enqueue.single", "enqueue.bulk", "enqueue.trigger-file"]) {
      expect(names).toContain(name);
    }
    for (const f of figures) {
      expectWellFormed(f);
      expect(f.persistence).toBe("aof");
    }
  }, 30_000);

  test("--only priority: a high job's wait to start on a worker saturated with low ones", async () => {
    const { figures } = await bench(["--only", "priority", "--contenders", "courier"]);
    for (const f of figures) expectWellFormed(f);
    const names = figures.map((f) => f.name);
    expect(names).toEqual([
      "priority.high-start.p50",
      "priority.high-start.p90",
      "priority.high-start.max",
      "priority.fifo-start",
      "priority.levels.high-start.p50",
      "priority.levels.high-start.p90",
      "priority.levels.high-start.max",
      "priority.levels.fifo-start",
    ]);
  }, 90_000);

  test("--only limits: the no-op figure and costs against the base's, a limited queue's start rate", async () => {
    // The default base (98a9b7a, the code before the limits); its meta line names it.
    const { figures, file } = await bench(["--only", "limits", "--contenders", "courier"]);
    for (const f of figures) expectWellFormed(f);
    const costs = ["workerCpuUs", "redisCpuUs", "redisCalls", "redisUsec"];
    const side = (suffix: string) => [
      `limits.noop.c16${suffix}`,
      ...costs.map((c) => `limits.noop.${c}${suffix}`),
    ];
    const names = figures.map((f) => f.name);
    // CPU per job is left out when too small to measure (below 50 ms in all): not required.
    const required = [...side(""), ...side(".base"), "limits.noop.ratio"].filter(
      (n) => !/CpuUs/.test(n),
    );
    for (const n of required) expect(names).toContain(n);
    for (const limit of ["rate500", "rate50per100ms"]) {
      for (const f of ["starts", "error", "most"]) expect(names).toContain(`limits.${limit}.${f}`);
    }
    expect(JSON.parse(file[0]!)).toMatchObject({ meta: "run", limitsBase: "98a9b7a" });
  }, 90_000);

  test("--only cluster: a 3+3 cluster against this one server (6 shards and 1), 1 to 3 worker processes", async () => {
    const { figures, file } = await bench(["--only", "cluster", "--contenders", "courier"]);
    for (const f of figures) expectWellFormed(f);
    const names = new Set(figures.map((f) => f.name));
    for (const procs of [1, 2, 3]) {
      for (const side of ["3x3", "single6", "single", "ratio", "ratio1"])
        expect(names).toContain(`cluster.${side}.${procs}proc`);
    }
    // A figure per shard: 6 on the cluster and on the server's 6-shard queue, the one of its other.
    for (let s = 0; s < 6; s++) expect(names).toContain(`cluster.3x3.shard${s}`);
    for (let s = 0; s < 6; s++) expect(names).toContain(`cluster.single6.shard${s}`);
    expect(names).toContain("cluster.single.shard0");
    expect(names).not.toContain("cluster.single.shard1");
    const ratio = figures.find((f) => f.name === "cluster.ratio.1proc")!;
    const get = (n: string) => figures.find((f) => f.name === n)!.median;
    expect(ratio.median).toBeCloseTo(get("cluster.3x3.1proc") / get("cluster.single6.1proc"), 2);
    const ratio1 = figures.find((f) => f.name === "cluster.ratio1.1proc")!;
    expect(ratio1.median).toBeCloseTo(get("cluster.3x3.1proc") / get("cluster.single.1proc"), 2);
    const records = file.filter(Boolean).map((l) => JSON.parse(l));
    expect(records.some((r) => r.target?.startsWith("cluster 3+3"))).toBe(true);
  }, 60_000);
});
