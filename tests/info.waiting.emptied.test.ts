// The waiting count after `queue empty` (and any delete of entries no worker read): Redis 7's
// group `lag` (entries added minus entries read) never learns of entries deleted unread, so it
// stayed at the number emptied for good: `info`, the dashboard and /metrics said 2 waiting
// where nothing waits. The count is bounded by what the stream holds that is not in flight.
import { expect, test } from "bun:test";
import { Admin } from "../lib/admin/admin.ts";
import { GROUP } from "../lib/engine/keys.ts";
import { shardsOf } from "./fixtures/queue-shards.ts";
import { openQueue, rawRedis, redisUrl, testPrefix } from "./helpers.ts";

test("emptied waiting jobs are not counted waiting (the group's lag is stale then)", async () => {
  const prefix = testPrefix();
  await using q = await openQueue({ prefix });
  await using r = await rawRedis();
  // Every shard's group made and a job of it read and done, as a worker does (Redis counts
  // the entries read from then on).
  for (const k of shardsOf(q)) {
    await r.sendCommand(["XGROUP", "CREATE", k.stream, GROUP, "0", "MKSTREAM"]);
    const entry = String(
      await r.sendCommand(["XADD", k.stream, "*", "t", "echo", "p", "0", "a", "0", "m", "1"]),
    );
    await r.sendCommand(["XREADGROUP", "GROUP", GROUP, "w", "STREAMS", k.stream, ">"]);
    await r.sendCommand(["XACK", k.stream, GROUP, entry]);
    await r.sendCommand(["XDEL", k.stream, entry]);
  }
  await q.enqueue("echo", 1);
  await q.enqueue("echo", 2);
  const admin = await Admin.connect({ redisUrl: redisUrl(), prefix });
  try {
    expect((await admin.overview()).counts.waiting).toBe(2);
    expect((await admin.empty()).waiting).toBe(2);
    expect((await admin.overview()).counts.waiting).toBe(0);
    // Enqueued again: counted as ever.
    await q.enqueue("echo", 3);
    expect((await admin.overview()).counts.waiting).toBe(1);
  } finally {
    await admin.close();
  }
});
