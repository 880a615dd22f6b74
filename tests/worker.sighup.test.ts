// SIGHUP (the terminal a command runs in closed: an ssh session dropped) stops the long-running
// commands gracefully, as SIGINT/SIGTERM do (lib/cli/stop-signals.ts): left to its default
// action it ended a worker at once (exit 129), its running job left to a claim after its lease.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { collect, exitCodeWithin, waitFor } from "./fixtures/output.ts";
import { openQueue, readUntil, spawnCli, testPrefix } from "./helpers.ts";

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
