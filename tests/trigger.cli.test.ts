// `trigger`'s own arguments and waiting: each mistake named in one line (exit 2, nothing
// enqueued), a bare URL taken as --url, `--wait --json` that times out printing the record
// (exit 5), and Ctrl-C while waiting that does not lose the job's id.
import { describe, expect, test } from "bun:test";
import { rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { streamLines } from "../lib/cli/input.ts";
import { stoppedLine } from "../lib/cli/trigger.ts";
import { shardKeys } from "../lib/engine/keys.ts";
import { JOB_ID, showJob } from "./fixtures/cli/harness.ts";
import { runUsage } from "./fixtures/cli/in-process.ts";
import {
  onOneServer,
  ROOT,
  rawRedis,
  redisUrl,
  runCli,
  spawnCli,
  testPrefix,
  testShards,
  until,
  waitForLine,
} from "./helpers.ts";

// The queues these CLIs make have testShards() shards (6 in the cluster pass): an auto id then
// names its shard (`<entry id>:<shard>`), and the queue's entries are the sum over its shards.
const SHARDS = testShards() ?? 1;
const AUTO_ID = JOB_ID; // with the shard suffix when the queues have several (harness.ts)

async function streamLength(redis: { sendCommand(a: string[]): Promise<unknown> }, prefix: string) {
  let n = 0;
  for (const k of shardKeys(prefix, "default", SHARDS)) {
    n += Number(await redis.sendCommand(["XLEN", k.stream]));
  }
  return n;
}

const A = "https://example.org/a";
const B = "https://example.org/b";

describe("trigger refuses, naming the actual problem", () => {
  test.each([
    [
      "two --url",
      ["--url", A, "--url", B],
      "trigger: give --url once; for many URLs use --file PATH",
    ],
    ["an empty --url", ["--url", ""], "trigger: --url needs a value"],
    [
      "--wait -1",
      ["--url", A, "--wait", "-1"],
      'trigger: --wait takes a number of seconds, got "-1"',
    ],
    ["a bare URL and --url", [A, "--url", B], `trigger: give the URL once: --url ${B} or ${A}`],
    ["two bare URLs", [A, B], "trigger: give one URL; for many URLs use --file PATH"],
    ["--skip with a URL", ["--url", A, "--skip", "2"], "trigger: --skip goes with --file"],
    ["--skip -3", ["--file", "-", "--skip", "-3"], "--skip must be a whole number"],
    ["--wait-for-memory x", ["--url", A, "--wait-for-memory", "x"], "--wait-for-memory must be"],
  ])("%s: exit 2, one line, nothing enqueued", async (_, args, message) => {
    const prefix = testPrefix();
    // Those that read standard input (-) through a real process; the others, refused before
    // Redis, in this one (runUsage: the same runCli, ~0.2 s of CPU less each).
    const argv = ["--prefix", prefix, ...args];
    const r = args.includes("-")
      ? await runCli("trigger", argv, { stdin: `${A}\n` })
      : await runUsage("trigger", argv);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr.split("\n")[0]).toStartWith(
      message.startsWith("-") ? `trigger: ${message}` : message,
    );
    await using redis = await rawRedis();
    expect(await streamLength(redis, prefix)).toBe(0);
  });
});

// Answered before Redis is reached: nothing a cluster changes (not in the cluster pass).
test.skipIf(!onOneServer)("--help names the resume, idempotency and memory options", async () => {
  const r = await runCli("trigger", ["--help"]);
  expect(r.code).toBe(0);
  for (const option of ["--skip", "--id-from-url", "--wait-for-memory"]) {
    expect(r.stdout).toContain(option);
  }
});

test("a bare URL is taken as --url", async () => {
  const prefix = testPrefix();
  const r = await runCli("trigger", ["--prefix", prefix, "www.example.org"]);
  expect(r.code).toBe(0);
  const id = r.stdout.trim();
  expect(id).toMatch(AUTO_ID);
  const { job } = await showJob(prefix, id);
  expect(job.payload).toEqual({ url: "https://www.example.org/" });
});

describe("waiting", () => {
  test("--wait that runs out with --json prints the current record of each job, exit 5", async () => {
    const prefix = testPrefix();
    const input = `${A}\n\n${B}\n`;
    const r = await runCli(
      "trigger",
      ["--prefix", prefix, "--file", "-", "--json", "--wait", "0"],
      { stdin: input },
    );
    expect(r.code).toBe(5);
    // As `result --wait` says it: the wait ran out, not the jobs.
    expect(r.stderr).toContain(
      "trigger: 2 of 2 jobs still not finished or failed after waiting 0 s\n",
    );
    const records = r.stdout
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(records.map((j) => [j.line, j.status, j.payload.url])).toEqual([
      [1, "queued", A],
      [3, "queued", B],
    ]);
    // The same fields as `result --json`, plus the input line.
    const shown = await showJob(prefix, records[0].id);
    expect(Object.keys(records[0]).sort()).toEqual(["line", ...Object.keys(shown.job)].sort());
  });

  // Ctrl-C, a supervisor's SIGTERM, a closed terminal's SIGHUP: each prints the ids (they were
  // killed unprinted by the last two, 143 and 129), with the exit status of the signal.
  test.each([
    ["SIGINT", 130],
    ["SIGTERM", 143],
    ["SIGHUP", 129],
  ] as const)(
    "%s while waiting for one job: its id was printed first, and is printed again",
    async (signal, status) => {
      const prefix = testPrefix();
      const proc = spawnCli("trigger", ["--prefix", prefix, "--url", A, "--wait"]);
      const line = await waitForLine(proc.stderr, /job \S+ enqueued, waiting/);
      const id = /job (\S+) enqueued/.exec(line)![1]!;
      expect(id).toMatch(AUTO_ID);
      proc.kill(signal);
      const [code, out, err] = await Promise.all([
        proc.exited,
        new Response(proc.stdout).text(),
        rest(proc.stderr), // waitForLine read its start: the rest, with a reader of its own
      ]);
      expect(code).toBe(status);
      expect(out).toBe(`${id}\n`);
      expect(err).toContain(
        "trigger: interrupted; 1 job enqueued goes on without this wait (ids printed; result ID shows each)\n",
      );
      expect((await showJob(prefix, id)).job.status).toBe("queued");
    },
  );

  // --json: the ids printed at Ctrl-C are JSON lines too (bare ids broke a reader's parse, R-192).
  test("Ctrl-C while waiting, --json: the job printed as a JSON line", async () => {
    const prefix = testPrefix();
    const proc = spawnCli("trigger", ["--prefix", prefix, "--url", A, "--wait", "--json"]);
    const line = await waitForLine(proc.stderr, /job \S+ enqueued, waiting/);
    const id = /job (\S+) enqueued/.exec(line)![1]!;
    proc.kill("SIGINT");
    const [code, out] = await Promise.all([proc.exited, new Response(proc.stdout).text()]);
    expect(code).toBe(130);
    expect(
      out
        .trimEnd()
        .split("\n")
        .map((l) => JSON.parse(l)),
    ).toEqual([{ line: 1, id, created: true }]);
  });
});

test("standard output closed part-way (| head): stops reading, says how far it got, exit 141", async () => {
  const prefix = testPrefix();
  const path = join(tmpdir(), `courier-${prefix}.txt`);
  writeFileSync(path, Array.from({ length: 50_000 }, (_, i) => `https://e.org/${i}\n`).join(""));
  try {
    const proc = spawnCli("trigger", ["--prefix", prefix, "--file", path]);
    const reader = proc.stdout.getReader();
    await reader.read(); // the first ids, then the reader goes away
    await reader.cancel();
    const [code, err] = await Promise.all([proc.exited, new Response(proc.stderr).text()]);
    expect(code).toBe(141);
    const m =
      /^trigger: standard output closed; lines up to (\d+) enqueued \((\d+) jobs, not every id printed\), later lines not read; to resume, run again with --skip (\d+)\n$/.exec(
        err,
      );
    expect(m).not.toBeNull();
    const [, upTo, jobs, skip] = m!.map(Number);
    expect(upTo).toBe(jobs!); // one URL per line, none refused
    expect(skip).toBe(upTo!);
    expect(upTo).toBeLessThan(50_000);
    await using redis = await rawRedis();
    expect(await streamLength(redis, prefix)).toBe(jobs!);
  } finally {
    rmSync(path, { force: true });
  }
});

test("a slow pipe: each batch's ids are printed once acknowledged, not when more input comes", async () => {
  const prefix = testPrefix();
  const proc = Bun.spawn({
    cmd: [process.execPath, join(ROOT, "bin/trigger.ts"), "--prefix", prefix, "--file", "-"],
    env: { ...process.env, REDIS_URL: redisUrl() },
    stdin: "pipe",
    stdout: "pipe",
    stderr: "pipe",
  });
  try {
    proc.stdin.write(Array.from({ length: 1_000 }, (_, i) => `https://e.org/${i}\n`).join(""));
    proc.stdin.flush();
    const reader = proc.stdout.getReader();
    let out = "";
    while (out.split("\n").length <= 1_000) {
      const { value, done } = await reader.read();
      if (done) break;
      out += new TextDecoder().decode(value);
    }
    expect(out.trim().split("\n")).toHaveLength(1_000); // two batches, stdin still open
    proc.stdin.end();
    reader.releaseLock();
    expect(await proc.exited).toBe(0);
  } finally {
    proc.kill();
  }
});

describe("the line after a run stopped part-way", () => {
  const report = (later: number) => ({
    enqueued: 1_000 + later,
    refused: 0,
    stopped: { error: new Error("x"), resumeLine: 1_003, laterEnqueued: later },
  });
  test.each([
    [
      0,
      false,
      false,
      "stopped at line 1003: 1000 jobs enqueued before it (ids printed); to resume, run again with --skip 1002",
    ],
    [
      0,
      true,
      false,
      "stopped at line 1003: 1000 jobs enqueued before it (ids printed); to resume, run the same command again (--id-from-url: nothing is enqueued twice), or add --skip 1002",
    ],
    [
      500,
      false,
      false,
      "stopped at line 1003: 1000 jobs enqueued before it (ids printed); 500 jobs from later lines were enqueued too (ids printed), which --skip would enqueue again; to resume, run again with --skip 1002",
    ],
    [
      0,
      false,
      true,
      "stopped at line 1003: 1000 jobs enqueued before it (ids printed); Redis did not answer for the jobs from line 1003 on: some of them may have been enqueued, and --skip would enqueue them again; to resume, run again with --skip 1002",
    ],
  ])("later %d, --id-from-url %p, no answer %p", (later, idFromUrls, unsure, line) => {
    expect(stoppedLine(report(later), idFromUrls, unsure)).toBe(line);
  });
});

// A supervisor's SIGTERM (or Ctrl-C, a closed terminal) while `--file -` reads a pipe that stays
// open: the input ends where it is, every job enqueued has its id printed, and stderr says where
// to resume (it was killed where it stood, with no word of how far it got).
test("a stop signal while --file - waits for more input: ids printed, where to resume said, exit 143", async () => {
  const prefix = testPrefix();
  const urls = Array.from({ length: 1_200 }, (_, i) => `https://example.org/p${i}`);
  const proc = spawnCli("trigger", ["--prefix", prefix, "--file", "-"], {
    stdin: `${urls.join("\n")}\n`,
    openStdin: true,
  });
  const reader = proc.stdout.getReader();
  let out = "";
  while (out.split("\n").length <= urls.length) {
    const { value, done } = await reader.read();
    if (done) break;
    out += new TextDecoder().decode(value);
  }
  proc.kill("SIGTERM");
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    out += new TextDecoder().decode(value);
  }
  const [code, err] = await Promise.all([proc.exited, new Response(proc.stderr).text()]);
  expect(code).toBe(143);
  expect(err).toBe(
    "trigger: interrupted; lines up to 1200 enqueued (1200 jobs, ids printed), later lines not read; to resume, run again with --skip 1200\n",
  );
  const ids = out.trimEnd().split("\n");
  expect(ids).toHaveLength(1_200);
  await using raw = await rawRedis();
  expect(await streamLength(raw, prefix)).toBe(1_200);
});

// With --summary --wait no id is printed as the batch goes (the callback's result is the output):
// cut short, the jobs enqueued had their ids nowhere, though stderr said "ids printed".
test("a stop signal cuts a --summary --wait batch: the ids enqueued are printed then", async () => {
  const prefix = testPrefix();
  const urls = Array.from({ length: 600 }, (_, i) => `https://example.org/s${i}`);
  const proc = spawnCli("trigger", ["--prefix", prefix, "--file", "-", "--summary", "--wait"], {
    stdin: `${urls.join("\n")}\n`,
    openStdin: true,
  });
  await using raw = await rawRedis();
  await until(async () => (await streamLength(raw, prefix)) === urls.length, "600 enqueued");
  proc.kill("SIGTERM");
  const [code, out, err] = await Promise.all([
    proc.exited,
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
  ]);
  expect(code).toBe(143);
  expect(err).toContain("interrupted; lines up to 600 enqueued (600 jobs, ids printed)");
  const ids = out.trimEnd().split("\n");
  expect(new Set(ids).size).toBe(600);
  for (const id of ids) expect(id).toMatch(AUTO_ID);
});

test("a line of megabytes with no URL in it is refused on its own; its neighbours are enqueued", async () => {
  const prefix = testPrefix();
  const file = join(tmpdir(), `courier-long-line-${prefix}.txt`);
  // 8 MiB with no newline: read in 64 KiB pieces, the line is cut, not held whole.
  writeFileSync(file, `${A}\n${"x".repeat(8 * 1024 * 1024)}\n${B}\n`);
  try {
    const r = await runCli("trigger", ["--file", file, "--prefix", prefix]);
    expect(r.code).toBe(2);
    expect(r.stdout.trim().split("\n")).toHaveLength(2);
    expect(r.stderr).toMatch(/line 2\b.*longer than 65,536 characters/);
    expect(r.stderr.length).toBeLessThan(2_000); // the line is not echoed back whole
    await using raw = await rawRedis();
    expect(await streamLength(raw, prefix)).toBe(2);
    // What the reader holds of that line is cut at 64 KiB, whatever the line's length.
    const lengths: number[] = [];
    for await (const lines of streamLines(file)) for (const l of lines) lengths.push(l.text.length);
    expect(lengths).toEqual([A.length, 64 * 1024, B.length]);
  } finally {
    rmSync(file, { force: true });
  }
});

test("a refused line's reason shows its control characters escaped (C1, DEL, bidi), never raw", async () => {
  const prefix = testPrefix();
  const input = "http://a\u009b31mb.com/\nhttp://x\u007fy.com/\nhttp://ok\u202eexample.com/\n";
  const r = await runCli("trigger", ["--file", "-", "--prefix", prefix], { stdin: input });
  expect(r.stderr).toMatch(/^trigger: line 1: /m);
  expect(r.stderr).toContain("\\x9b");
  expect(r.stderr).not.toMatch(/[\u007f-\u009f\u202a-\u202e]/);
});

/** What a stream still holds, read to its end. */
async function rest(stream: ReadableStream<Uint8Array>): Promise<string> {
  const reader = stream.getReader();
  const decoder = new TextDecoder();
  let text = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return text + decoder.decode();
    text += decoder.decode(value, { stream: true });
  }
}
