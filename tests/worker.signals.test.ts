// `courier worker` (bin/worker.ts) told to stop while it is still starting: a supervisor's
// SIGTERM can come at any moment (the stack's Ctrl-C right after `worker started`), and must
// stop the worker cleanly, never kill it by the signal's default action.
import { afterEach, expect, test } from "bun:test";
import { join } from "node:path";
import type { Socket } from "bun";
import { queueKeys } from "../lib/engine/keys.ts";
import { REPO_ROOT } from "../lib/stack/options.ts";
import { collect, exitCodeWithin } from "./fixtures/output.ts";
import { nodeUrlOf, testPrefix, until } from "./helpers.ts";

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/**
 * A loopback gate in front of the test Redis: connections are accepted at once (`opened`
 * counts them) but what they send waits until `open()`, so a process connecting through it is
 * held inside its start for as long as the test needs.
 */
function gate(url: string) {
  const target = new URL(url);
  let opened = 0;
  let isOpen = false;
  const held: (() => void)[] = [];
  type Pair = { upstream: Promise<Socket<unknown>> };
  const server = Bun.listen<Pair>({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open(client) {
        opened++;
        client.data = {
          upstream: Bun.connect({
            hostname: target.hostname,
            port: Number(target.port),
            socket: {
              data: (_s, chunk) => void client.write(chunk),
              close: () => void client.end(),
            },
          }),
        };
      },
      data(client, chunk) {
        const copy = new Uint8Array(chunk);
        const forward = () => void client.data.upstream.then((u) => u.write(copy));
        if (isOpen) forward();
        else held.push(forward);
      },
      close(client) {
        void client.data?.upstream.then((u) => u.end());
      },
    },
  });
  cleanups.push(() => server.stop(true));
  return {
    url: `redis://127.0.0.1:${server.port}`,
    opened: () => opened,
    open() {
      isOpen = true;
      for (const forward of held.splice(0)) forward();
    },
  };
}

test("a SIGTERM while the worker is starting stops it once started (exit 0), not kills it", async () => {
  const prefix = testPrefix();
  // The server holding the (one-shard) queue: the test Redis, or on a cluster its key's master.
  const g = gate(await nodeUrlOf(queueKeys(prefix, "default").stream));
  const proc = Bun.spawn(
    [process.execPath, join(REPO_ROOT, "bin/worker.ts"), "--redis-url", g.url],
    {
      env: { ...process.env, COURIER_PREFIX: prefix, REDIS_URL: undefined },
      stdout: "pipe",
      stderr: "pipe",
    },
  );
  cleanups.push(() => proc.kill("SIGKILL"));
  const out = collect(proc.stdout, true);
  const err = collect(proc.stderr, true);
  // Connected, its first command held: it is inside Worker.start.
  await until(() => g.opened() > 0, "the worker to connect");
  proc.kill("SIGTERM");
  const ended = () => proc.exitCode !== null || proc.signalCode !== null;
  await until(() => /stopping/.test(out.text) || ended(), "the worker to take the signal", 15_000);
  expect(proc.signalCode).toBeNull(); // before the fix: killed by SIGTERM, here
  g.open();
  expect(await exitCodeWithin(proc, 20_000, out, err)).toBe(0);
  expect(proc.signalCode).toBeNull();
  expect(out.text).toContain("worker started");
  expect(out.text).toContain("worker stopped");
}, 40_000);
