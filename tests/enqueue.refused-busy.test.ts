// An enqueue Redis refuses with a transient error reply (BUSY here: a script running past the
// busy threshold; LOADING, TRYAGAIN, CLUSTERDOWN and MASTERDOWN alike) was not run: the Queue
// says Redis is unreachable, never that the job "may or may not have been enqueued" (a lost
// reply's words, which tell the caller that sending it again could enqueue it twice).
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConnectError, LostReplyError } from "../lib/errors.ts";
import { connect } from "../lib/redis/connect.ts";
import { findFreePort, type RedisServer, startRedisServer } from "../lib/stack/redis-server.ts";
import { onOneServer, openQueue, testPrefix, until } from "./helpers.ts";

// A Redis of its own: a busy script stops the whole server.
let dir = "";
let server: RedisServer | undefined;
beforeAll(async () => {
  if (!onOneServer) return;
  dir = mkdtempSync(join(tmpdir(), "courier-busy-"));
  server = await startRedisServer({ persistence: false, port: await findFreePort(), dataDir: dir });
});
afterAll(async () => {
  await server?.stop(2_000);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test.if(onOneServer)(
  "an enqueue refused BUSY: not enqueued, said so, nothing written",
  async () => {
    const url = server!.url;
    await using q = await openQueue({ prefix: testPrefix(), redisUrl: url });
    const admin = await connect(url);
    const busy = await connect(url, { answerMs: 60_000 });
    try {
      await q.enqueue("t", 0); // plain jobs from here
      await admin.sendCommand(["CONFIG", "SET", "busy-reply-threshold", "10"]);
      const running = busy.sendCommand(["EVAL", "while true do end", "0"]).catch(() => {});
      await until(
        () =>
          admin.sendCommand(["PING"]).then(
            () => false,
            (e) => /^BUSY/.test(String(e.message)),
          ),
        "Redis busy with the script",
      );
      for (const opts of [{}, { id: "order-1" }]) {
        // A plain job (its XADD refused, then the script's call) and a script's job.
        const err = await q.enqueue("t", 1, opts).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(ConnectError);
        expect(err).not.toBeInstanceOf(LostReplyError);
        expect(String(err)).toContain("BUSY");
        expect(String(err)).not.toContain("may or may not");
      }
      await admin.sendCommand(["SCRIPT", "KILL"]);
      await running;
      expect(await admin.sendCommand(["XLEN", q.keys.stream])).toBe(1);
    } finally {
      admin.destroy();
      busy.destroy();
    }
  },
);
