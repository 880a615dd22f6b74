// A password in the stack's Redis URL stays off its children's command lines (anyone on the
// machine reads those with `ps`): the workers and the dashboard get it in REDIS_URL, which only
// their user can read (/proc/<pid>/environ).
import { afterEach, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect } from "../lib/redis/connect.ts";
import { REPO_ROOT } from "../lib/stack/options.ts";
import { findFreePort, startRedisServer } from "../lib/stack/redis-server.ts";
import { collect, exitCodeWithin, waitFor } from "./fixtures/output.ts";
import { until } from "./helpers.ts";

const PASSWORD = "S3cretPW-stack";
const cleanups: (() => unknown)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

test("stack passes the Redis password to its workers and dashboard in REDIS_URL, never argv", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "courier-stack-secret-"));
  cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
  const server = await startRedisServer({
    port: await findFreePort(),
    dataDir,
    persistence: false,
  });
  cleanups.push(() => server.stop(2_000));
  const admin = await connect(server.url);
  await admin.sendCommand(["CONFIG", "SET", "requirepass", PASSWORD]);
  admin.destroy();
  const url = `redis://:${PASSWORD}@127.0.0.1:${server.port}`;
  const { REDIS_URL: _, COURIER_QUEUE: __, ...env } = process.env;
  const proc = Bun.spawn([process.execPath, join(REPO_ROOT, "bin/stack.ts"), "--workers", "1"], {
    env: { ...env, REDIS_URL: url, COURIER_DASHBOARD_PORT: "0", COURIER_PREFIX: "stksecret" },
    stdout: "pipe",
    stderr: "pipe",
  });
  cleanups.push(() => proc.kill("SIGKILL"));
  const out = collect(proc.stdout);
  await waitFor(out, /system +\| Ctrl-C stops the workers/, 15_000, "the banner's last line");
  const pids = [...out.text.matchAll(/(worker\.1|dashboard) started \(pid (\d+)/g)];
  expect(pids.map((m) => m[1]).sort()).toEqual(["dashboard", "worker.1"]);
  for (const [, , pid] of pids) {
    // Printed when spawned: under load the child may still be between setpriv and its exec of
    // bun, when /proc shows an empty command line (a full run read one so once).
    const cmdline = () => readFileSync(`/proc/${pid}/cmdline`, "utf8");
    await until(() => cmdline().includes("bin/"), `pid ${pid} running its bin/ command`, 10_000);
    const argv = cmdline().split("\0");
    expect(argv.join(" ")).toContain("bin/");
    expect(argv.join(" ")).not.toContain(PASSWORD);
    expect(argv).not.toContain("--redis-url");
    const environ = readFileSync(`/proc/${pid}/environ`, "utf8").split("\0");
    expect(environ).toContain(`REDIS_URL=${url}`);
  }
  expect(out.text).not.toContain(PASSWORD);
  proc.kill("SIGTERM");
  expect(await exitCodeWithin(proc, 20_000, out)).toBe(0);
}, 45_000);
