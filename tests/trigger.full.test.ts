// `trigger` on a full Redis (maxmemory + noeviction, a server of the test's own): one line and
// exit 7 naming the cause; in bulk, the ids printed are exactly the jobs in the stream and the
// resume line is right, so a rerun with --skip or --id-from-url enqueues the rest and nothing
// twice; --wait-for-memory rides it out.
import { describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { queueKeys } from "../lib/engine/keys.ts";
import { entryJobId } from "./fixtures/engine.ts";
import { type SmallRedis, startSmallRedis } from "./fixtures/redis-small.ts";
import { pinShards, ROOT, runCli, spawnCli, testPrefix, until } from "./helpers.ts";

// These tests run on a small Redis of their own (tests/fixtures/redis-small.ts), as in the
// first pass, not on the cluster: its queues have one shard, whose keys the tests read.
pinShards(1);

const LINES = 5_000;
const FULL = (url: string, what: string) =>
  `trigger: Redis at ${url} is out of memory (maxmemory 4 MB, policy noeviction): ${what}`;

function urlFile(): { path: string; urls: string[]; [Symbol.dispose]: () => void } {
  const dir = mkdtempSync(join(tmpdir(), "courier-trigger-full-"));
  const urls = Array.from({ length: LINES }, (_, i) => `https://example.org/page/${i}`);
  const path = join(dir, "urls.txt");
  writeFileSync(path, `${urls.join("\n")}\n`);
  return { path, urls, [Symbol.dispose]: () => rmSync(dir, { recursive: true, force: true }) };
}

function trigger(small: SmallRedis, prefix: string, ...args: string[]) {
  return runCli("trigger", ["--prefix", prefix, ...args], { env: { REDIS_URL: small.url } });
}

/** The stream's job ids in order, and each job's URL. */
async function enqueuedJobs(small: SmallRedis, prefix: string) {
  const keys = queueKeys(prefix, "default");
  const entries = (await small.redis.sendCommand(["XRANGE", keys.stream, "-", "+"])) as [
    string,
    string[],
  ][];
  const ids = entries.map(entryJobId);
  // The job travels in its entry: the payload is the entry's `p`.
  const payloads = entries.map((e) => e[1][e[1].indexOf("p") + 1]);
  return { ids, urls: payloads.map((p) => JSON.parse(String(p)).url as string) };
}

const lines = (text: string) => text.split("\n").filter(Boolean);

describe("bulk trigger into a nearly full Redis", () => {
  test("exit 7, ids printed = jobs enqueued, the resume line; --skip enqueues the rest once", async () => {
    await using small = await startSmallRedis(4);
    using file = urlFile();
    const prefix = testPrefix();
    await small.fill(420 * 1024); // room for over a thousand jobs, not five thousand

    const first = await trigger(small, prefix, "--file", file.path);
    expect(first.code).toBe(7);
    const printed = lines(first.stdout);
    const n = printed.length;
    expect(n).toBeGreaterThan(0);
    expect(n).toBeLessThan(LINES);
    expect(lines(first.stderr)).toEqual([
      FULL(small.url, "batch of 500 jobs not enqueued"),
      `trigger: stopped at line ${n + 1}: ${n} jobs enqueued before it (ids printed); to resume, run again with --skip ${n}`,
    ]);
    expect((await enqueuedJobs(small, prefix)).ids).toEqual(printed);

    await small.free();
    const rest = await trigger(small, prefix, "--file", file.path, "--skip", String(n));
    expect(rest.code).toBe(0);
    expect(rest.stderr).toBe("");
    const jobs = await enqueuedJobs(small, prefix);
    expect(jobs.ids).toEqual([...printed, ...lines(rest.stdout)]);
    expect(jobs.urls).toEqual(file.urls); // every line once, in order
  });

  test("--id-from-url: the same command run again enqueues the rest and nothing twice", async () => {
    await using small = await startSmallRedis(4);
    using file = urlFile();
    const prefix = testPrefix();
    await small.fill(300 * 1024);
    const args = ["--file", file.path, "--id-from-url", "--json"];

    const first = await trigger(small, prefix, ...args);
    expect(first.code).toBe(7);
    const firstJobs = lines(first.stdout).map((l) => JSON.parse(l));
    expect(lines(first.stderr)[1]).toMatch(
      /^trigger: stopped at line \d+: .*run the same command again \(--id-from-url: nothing is enqueued twice\)/,
    );

    await small.free();
    const again = await trigger(small, prefix, ...args);
    expect(again.code).toBe(0);
    const all = lines(again.stdout).map((l) => JSON.parse(l));
    expect(all.map((j) => j.url)).toEqual(file.urls);
    // The jobs of the first run are found, not added again; the others are new.
    const before = new Set(firstJobs.map((j) => j.id));
    expect(all.filter((j) => !j.created).map((j) => j.id)).toEqual([...before]);
    const jobs = await enqueuedJobs(small, prefix);
    expect(jobs.urls).toEqual(file.urls);
    expect(new Set(jobs.ids).size).toBe(LINES);
  });
});

describe("single trigger on a full Redis", () => {
  test("one line naming the cause, exit 7, nothing printed on stdout", async () => {
    await using small = await startSmallRedis(4);
    await small.fill(-256 * 1024);
    const r = await trigger(small, testPrefix(), "--url", "https://example.org/");
    expect(r.code).toBe(7);
    expect(r.stdout).toBe("");
    expect(r.stderr).toBe(`${FULL(small.url, "job not enqueued")}\n`);
  });

  test("--wait-for-memory keeps retrying until there is room, then prints the id", async () => {
    await using small = await startSmallRedis(4);
    await small.fill(-256 * 1024);
    const prefix = testPrefix();
    const before = await small.oomRefusals();
    const proc = spawnCli(
      "trigger",
      ["--prefix", prefix, "--url", "https://example.org/", "--wait-for-memory", "60"],
      { env: { REDIS_URL: small.url } },
    );
    await until(async () => (await small.oomRefusals()) >= before + 2, "two refused tries");
    await small.free();
    const [code, out] = await Promise.all([proc.exited, new Response(proc.stdout).text()]);
    expect(code).toBe(0);
    expect((await enqueuedJobs(small, prefix)).ids).toEqual([out.trim()]);
  });
});

describe("bulk trigger when Redis goes away part-way", () => {
  test("exit 6, the ids printed are the jobs in the stream, and the resume line", async () => {
    await using small = await startSmallRedis(64);
    const prefix = testPrefix();
    const proc = Bun.spawn({
      cmd: [process.execPath, join(ROOT, "bin/trigger.ts"), "--prefix", prefix, "--file", "-"],
      env: { ...process.env, REDIS_URL: small.url },
      stdin: "pipe",
      stdout: "pipe",
      stderr: "pipe",
    });
    try {
      const urls = Array.from({ length: 2_000 }, (_, i) => `https://example.org/page/${i}\n`);
      proc.stdin.write(urls.slice(0, 1_000).join(""));
      proc.stdin.flush();
      const keys = queueKeys(prefix, "default");
      await until(
        async () => Number(await small.redis.sendCommand(["XLEN", keys.stream])) === 1_000,
        "the first two batches",
      );
      const enqueued = (await enqueuedJobs(small, prefix)).ids;
      small.kill(); // Redis goes away, then more lines arrive
      proc.stdin.write(urls.slice(1_000).join(""));
      proc.stdin.end();
      const [code, out, err] = await Promise.all([
        proc.exited,
        new Response(proc.stdout).text(),
        new Response(proc.stderr).text(),
      ]);
      expect(code).toBe(6);
      expect(lines(out)).toEqual(enqueued);
      expect(enqueued).toHaveLength(1_000);
      expect(lines(err)[1]).toStartWith(
        "trigger: stopped at line 1001: 1000 jobs enqueued before it (ids printed); Redis did not answer",
      );
      expect(lines(err)[1]).toEndWith("to resume, run again with --skip 1000");
    } finally {
      proc.kill();
    }
  });
});

test("a pipe left open: the refusal is reported at once and trigger exits 7", async () => {
  await using small = await startSmallRedis(4);
  await small.fill(-256 * 1024);
  const proc = Bun.spawn({
    cmd: [process.execPath, join(ROOT, "bin/trigger.ts"), "--prefix", testPrefix(), "--file", "-"],
    env: { ...process.env, REDIS_URL: small.url },
    stdin: "pipe",
    stdout: "pipe",
    stderr: "pipe",
  });
  try {
    proc.stdin.write(Array.from({ length: 2_000 }, (_, i) => `https://e.org/${i}\n`).join(""));
    proc.stdin.flush(); // and the writer stays, as a producer piping into trigger would
    const [code, err] = await Promise.all([proc.exited, new Response(proc.stderr).text()]);
    expect(code).toBe(7);
    expect(lines(err)[0]).toBe(FULL(small.url, "batch of 500 jobs not enqueued"));
  } finally {
    proc.kill();
  }
});
