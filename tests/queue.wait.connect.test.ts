// A wait's time limit bounds the whole call, opening its blocking connection included: a
// connect that hangs (a peer that accepts and never answers) ends with the wait's deadline, not
// the connect limit's (lib/queue/waiters.ts).
import { expect, test } from "bun:test";
import { viaProxy } from "./fixtures/proxy.ts";
import { openQueue, testPrefix } from "./helpers.ts";

test("a wait whose connection never opens ends at its timeout, its jobs pending", async () => {
  const { proxy, url } = viaProxy();
  try {
    await using q = await openQueue({ prefix: testPrefix(), redisUrl: url });
    const id = await q.enqueue("t", 1);
    proxy.stall(); // new connections accepted, never answered
    const started = performance.now();
    const { ended, pending } = await q.waitForJobs([id], { timeoutMs: 300 });
    const took = performance.now() - started;
    expect(pending).toEqual([id]);
    expect(ended.size).toBe(0);
    expect(took).toBeLessThan(2_000);
  } finally {
    proxy.close();
  }
});
