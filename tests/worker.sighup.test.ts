// SIGHUP (the terminal a command runs in closed: an ssh session dropped) stops the long-running
// commands gracefully, as SIGINT/SIGTERM do (lib/cli/stop-signals.ts): left to its default
// action it ended a worker at once (exit 129), its running job left to a claim after its lease.
import { afterAll, afterEach, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hangupIgnored } from "../lib/cli/stop-signals.ts";
import { collect, exitCodeWithin, waitFor } from "./fixtures/output.ts";
import { cliCommand, openQueue, readUntil, redisUrl, spawnCli, testPrefix } from "./helpers.ts";

let dir = "";
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "courier-sighup-"));
  // Says it runs, then takes a while: the signal comes while it is in flight.
  const task = [
    "export default { name: 'linger', async run(ms, ctx) {",
    "  ctx.log('info', 'lingering');",
    "  await new Promise((r) => setTimeout(r, ms));",
    "  return 'done'; } };",
  ].join("\n");
  writeFileSync(join(dir, "linger.js"), task);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

test("SIGHUP stops a worker gracefully: the running job finishes, exit 0", async () => {
  const prefix = testPrefix();
  await using q = await openQueue({ prefix });
  const id = await q.enqueue("linger", 1_500);
  const args = ["--prefix", prefix, "--tasks", join(dir, "linger.js"), "--log-format", "json"];
  const proc = spawnCli("worker", args);
  const out = collect(proc.stdout);
  const err = collect(proc.stderr);
  await waitFor(out, /"lingering"/, 20_000);
  proc.kill("SIGHUP");
  expect(await exitCodeWithin(proc, 20_000, out, err)).toBe(0); // before the fix: killed (129)
  expect(proc.signalCode).toBeNull();
  expect(out.text).toMatch(/"stopping.*"signal":"SIGHUP"/);
  expect((await q.getJob(id))?.status).toBe("finished");
}, 40_000);

// A terminal closing sends a foreground worker SIGHUP twice within milliseconds (the kernel's,
// then the shell's passed on to its jobs): the copy counted as a second signal gave up the drain
// (exit 130, the running job left started until its lease lapsed).
test("a hang-up's two copies at once: one graceful stop, the running job finishes, exit 0", async () => {
  const prefix = testPrefix();
  await using q = await openQueue({ prefix });
  const id = await q.enqueue("linger", 1_500);
  const args = ["--prefix", prefix, "--tasks", join(dir, "linger.js"), "--log-format", "json"];
  const proc = spawnCli("worker", args);
  const out = collect(proc.stdout);
  const err = collect(proc.stderr);
  await waitFor(out, /"lingering"/, 20_000);
  proc.kill("SIGHUP");
  // The copy comes once the first is taken (two sent at once are merged into one pending).
  await waitFor(out, /"stopping/, 10_000);
  proc.kill("SIGHUP");
  expect(await exitCodeWithin(proc, 20_000, out, err)).toBe(0);
  expect(out.text).not.toContain("second signal");
  expect((await q.getJob(id))?.status).toBe("finished");
}, 40_000);

// `worker | tee log` and an ssh session dropped (or Ctrl-C): tee ends with the worker's signal,
// the worker's "stopping" line meets the closed pipe, and the SIGTERM that the closed pipe's
// handler sends counted as a second signal: exit 130 at once, the running job left pending.
test("its log's reader gone with the signal: still a graceful stop, exit 0", async () => {
  const prefix = testPrefix();
  await using q = await openQueue({ prefix });
  const id = await q.enqueue("linger", 1_500);
  const args = ["--prefix", prefix, "--tasks", join(dir, "linger.js"), "--log-format", "json"];
  const proc = spawnCli("worker", args);
  const err = collect(proc.stderr);
  const reader = proc.stdout.getReader();
  await readUntil(reader, (text) => text.includes('"lingering"'));
  await reader.cancel(); // tee gone
  proc.kill("SIGHUP");
  expect(await exitCodeWithin(proc, 20_000, err)).toBe(0); // before the fix: 130
  expect(err.text).toBe("");
  expect((await q.getJob(id))?.status).toBe("finished");
}, 40_000);

// `nohup courier worker &`: SIGHUP ignored from the start, and so it stays; the handler that
// stops on it replaced the ignore, and the worker stopped with the session it was to outlive.
test("a worker started with SIGHUP ignored (nohup) ignores it; SIGTERM still stops it", async () => {
  const prefix = testPrefix();
  const script = `trap "" HUP; exec "$0" "$@"`;
  const cmd = [...cliCommand("worker"), "--prefix", prefix, "--log-format", "json"];
  const proc = Bun.spawn(["sh", "-c", script, ...cmd], {
    env: { ...process.env, REDIS_URL: redisUrl() },
    stdout: "pipe",
    stderr: "pipe",
  });
  cleanups.push(() => proc.kill("SIGKILL"));
  const out = collect(proc.stdout);
  const err = collect(proc.stderr);
  await waitFor(out, /"worker started"/, 20_000);
  proc.kill("SIGHUP"); // handled, it would stop the worker, and the SIGTERM below exit 130
  proc.kill("SIGTERM");
  expect(await exitCodeWithin(proc, 20_000, out, err)).toBe(0);
  expect(out.text).not.toContain("SIGHUP");
  expect(out.text).toMatch(/"stopping.*"signal":"SIGTERM"/);
}, 40_000);

test.each([
  ["SigIgn:\t0000000001001001", true], // nohup
  ["SigIgn:\t0000000001001000", false],
  ["SigIgn:\t0000000000000003", true], // SIGHUP and SIGINT (nohup, in the background)
  ["SigIgn:\t0000000000000002", false], // SIGINT only
  ["Name:\tbun", false], // no mask
])("hangupIgnored: %s", (line, ignored) => {
  const path = join(dir, "status");
  writeFileSync(path, `Name:\tbun\n${line}\nSigCgt:\t0\n`);
  expect(hangupIgnored(path)).toBe(ignored);
});

test("hangupIgnored: no /proc to ask is taken as not ignored", () => {
  expect(hangupIgnored(join(dir, "no-such-status"))).toBe(false);
});

test.each([
  ["schedule", ["run"], /scheduler stopped/],
  ["dashboard", ["--port", "0"], /dashboard on/],
] as const)(
  "SIGHUP stops %s as SIGTERM does, exit 0",
  async (name, first, said) => {
    const proc = spawnCli(name, [...first, "--prefix", testPrefix()]);
    const out = collect(proc.stdout);
    const err = collect(proc.stderr);
    await waitFor(out, name === "schedule" ? /scheduler started/ : said, 20_000);
    proc.kill("SIGHUP");
    expect(await exitCodeWithin(proc, 20_000, out, err)).toBe(0);
    expect(proc.signalCode).toBeNull();
    expect(out.text).toMatch(said);
  },
  40_000,
);
