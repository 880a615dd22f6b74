// A page of dead letters is bounded by bytes as well as by count (DEAD_PAGE_BYTES): 300 letters
// of 1 MB made one page of 300 MB (986 MB of RSS for one `GET /api/dead?limit=500`, R-190).
// Paging on, every letter comes once, newest first, over every shard.
import { expect, test } from "bun:test";
import { Admin } from "../lib/admin/admin.ts";
import { DEAD_PAGE_BYTES } from "../lib/admin/letters.ts";
import { shardKeys } from "../lib/engine/keys.ts";
import { openQueue, rawRedis, redisUrl, testPrefix } from "./helpers.ts";

// One shard, and three (the page's bytes shared out, stopping at the newest letter a shard
// was cut at: older letters of it may be newer than the other shards' next ones).
test.each([1, 3])(
  "letters of 1 MB on %d shard(s): each page about DEAD_PAGE_BYTES, every one once, newest first",
  async (shards) => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix, shards });
    await q.enqueue("t", null); // the queue's layout (its shards) recorded
    const keys = shardKeys(prefix, "default", shards);
    await using r = await rawRedis();
    const payload = JSON.stringify("x".repeat(1_000_000));
    const n = 12;
    // One ms apart: no two letters of one ms, whose order across shards is the shard's.
    const start = Date.now();
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      const id = `big-${String(i).padStart(2, "0")}`;
      const k = keys[i % keys.length]!;
      await r.sendCommand([
        "XADD",
        k.dead,
        `${start + i}-0`,
        "id",
        id,
        "task",
        "t",
        "payload",
        payload,
        "error",
        "e",
      ]);
      ids.push(id);
    }
    const admin = await Admin.connect({ redisUrl: redisUrl(), prefix });
    try {
      const seen: string[] = [];
      let cursor: string | null = null;
      for (let page = 0; page < 2 * n; page++) {
        const got = await admin.deadLetters({ cursor, limit: 500 });
        expect(got.total).toBe(n);
        const bytes = got.letters.reduce((b, l) => b + JSON.stringify(l.payload).length, 0);
        // At most the bound and the letter that crossed it.
        expect(bytes).toBeLessThanOrEqual(DEAD_PAGE_BYTES + 1_000_010);
        seen.push(...got.letters.map((l) => l.id));
        cursor = got.next;
        if (cursor === null) break;
      }
      expect(cursor).toBeNull();
      expect(seen).toEqual([...ids].reverse()); // written in order, read newest first
      expect(new Set(seen).size).toBe(n);
    } finally {
      await admin.close();
    }
  },
  30_000,
);
