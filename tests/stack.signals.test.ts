// How the stack stops, the way a person stops it: `bun run stack` on a terminal (a pty of
// `script`), Ctrl-C typed into it. The terminal sends SIGINT to the whole process group and
// `bun run` forwards it once more: that must still drain, not kill. And a stack killed outright
// must not leave its detached workers and Redis behind.
import { afterEach, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Queue } from "../lib/queue/queue.ts";
import { REPEAT_WINDOW_MS, SignalCounter } from "../lib/stack/_signals.ts";
import { REPO_ROOT } from "../lib/stack/options.ts";
import { findFreePort } from "../lib/stack/redis-server.ts";
import { collect, exitCodeWithin, waitFor } from "./fixtures/output.ts";
import { until } from "./helpers.ts";

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

test.each([
  // [arrival times in ms, verdicts]
  [[0], ["first"]],
  [
    [0, 3],
    ["first", "repeat"],
  ], // the terminal's SIGINT, then `bun run`'s copy
  [
    [0, 2, 5, 999],
    ["first", "repeat", "repeat", "repeat"],
  ], // npm forwards one too
  [
    [0, 1_000],
    ["first", "second"],
  ],
  [
    [0, 4, 2_500, 2_501],
    ["first", "repeat", "second", "later"],
  ],
])("signals at %j are %j", (times, verdicts) => {
  const counter = new SignalCounter();
  expect(times.map((t) => counter.classify(t) as string)).toEqual(verdicts);
});

/** The stack's environment: no Redis of the preload's, the dashboard on a free port. */
async function stackEnv(): Promise<Record<string, string>> {
  const { REDIS_URL: _, COURIER_QUEUE: __, COURIER_PREFIX: ___, ...env } = process.env;
  const port = String(await findFreePort());
  return { ...env, COURIER_DASHBOARD_PORT: port } as Record<string, string>;
}

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "courier-stack-signals-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * The stack's output once it is ready; after the test, the stack and every pid it printed (its
 * children, Redis) are SIGKILLed.
 */
async function whenReady(proc: Bun.Subprocess<"pipe" | "ignore", "pipe", "pipe">) {
  cleanups.push(() => proc.kill("SIGKILL"));
  const out = collect(proc.stdout, true);
  cleanups.push(() => {
    for (const m of out.text.matchAll(/\bpid (\d+)/g)) {
      try {
        process.kill(Number(m[1]), "SIGKILL");
      } catch {}
    }
  });
  await waitFor(out, /system +\| ready/, 20_000);
  return out;
}

/** `bun run stack ARGS` on a pseudo-terminal; `ctrlC()` types Ctrl-C into it. */
async function stackOnTerminal(args: string[]) {
  // `exec`: `script` runs the command through $SHELL -c, and a shell left waiting in the
  // terminal's foreground group dies of the Ctrl-C itself (dash does; bash execs its last
  // command). A person's shell puts the command in a group of its own, so it never sees it.
  const quoted = [process.execPath, "run", "stack", ...args].map((a) => `'${a}'`).join(" ");
  const command = `exec ${quoted}`;
  const proc = Bun.spawn(["script", "-qfec", command, "/dev/null"], {
    cwd: REPO_ROOT,
    env: await stackEnv(),
    stdin: "pipe",
    stdout: "pipe",
    stderr: "pipe",
  });
  const out = await whenReady(proc);
  const ctrlC = () => {
    proc.stdin.write("\x03");
    proc.stdin.flush();
  };
  return { proc, out, ctrlC };
}

test("Ctrl-C on `bun run stack` in a terminal drains the workers and stops Redis cleanly", async () => {
  const [port, dataDir] = [await findFreePort(), tempDir()];
  const { proc, out, ctrlC } = await stackOnTerminal([
    ...["--redis-port", String(port), "--data-dir", dataDir, "--workers", "1"],
  ]);
  await waitFor(out, /worker\.1 +\| .*worker started/, 15_000);
  ctrlC();
  expect(await exitCodeWithin(proc, 30_000, out)).toBe(0);
  expect(out.text).toMatch(/worker\.1 +\| .*worker stopped/);
  expect(out.text).toContain("worker.1 stopped (code 0)");
  expect(out.text).toMatch(/redis\.1 +\| .*ready to exit/);
  expect(out.text).toContain("redis stopped (code 0)");
  expect(out.text).not.toContain("SIGKILL");
  expect(out.text).not.toContain("second signal");
}, 60_000);

test("a second Ctrl-C, a second after the first, still kills everything", async () => {
  const page = hangingPage();
  const [port, dataDir] = [await findFreePort(), tempDir()];
  const { proc, out, ctrlC } = await stackOnTerminal([
    ...["--redis-port", String(port), "--data-dir", dataDir, "--workers", "1", "--allow-private"],
  ]);
  const queue = await Queue.connect({ redisUrl: `redis://127.0.0.1:${port}` });
  cleanups.push(() => queue.close());
  await queue.enqueue("wordcount", { url: `${page.url}/slow` });
  await page.requested; // the worker is inside the job: its drain waits for it
  ctrlC();
  await waitFor(out, /worker\.1 +\| .*stopping/, 15_000);
  // The point of the test is the time between the two keypresses, not an event to wait for.
  await Bun.sleep(REPEAT_WINDOW_MS + 200);
  expect(out.text).not.toContain("second signal");
  ctrlC();
  expect(await exitCodeWithin(proc, 15_000, out)).toBe(130);
  expect(out.text).toContain("second signal: killing everything now");
}, 60_000);

test("a stack killed with SIGKILL takes its workers and Redis with it", async () => {
  const [port, dataDir] = [await findFreePort(), tempDir()];
  const args = ["--redis-port", String(port), "--data-dir", dataDir, "--workers", "1"];
  const proc = Bun.spawn([process.execPath, join(REPO_ROOT, "bin/stack.ts"), ...args], {
    env: await stackEnv(),
    stdout: "pipe",
    stderr: "pipe",
  });
  const out = await whenReady(proc);
  const pids = [...out.text.matchAll(/\bpid (\d+)/g)].map((m) => Number(m[1]));
  expect(pids.length).toBe(3); // redis, worker.1, dashboard
  proc.kill("SIGKILL");
  await until(() => pids.every((pid) => !running(pid)), "the children to exit", 30_000);
}, 60_000);

/** A loopback page that never answers until the test ends; `requested` once it is asked. */
function hangingPage() {
  const requested = Promise.withResolvers<void>();
  const release = Promise.withResolvers<Response>();
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch: () => {
      requested.resolve();
      return release.promise;
    },
  });
  cleanups.push(() => {
    release.resolve(new Response("bye"));
    return server.stop(true);
  });
  return { url: `http://127.0.0.1:${server.port}`, requested: requested.promise };
}

/** Alive and not a zombie (a reparented zombie waits for init to reap it). */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}
