// JSON read back from Redis nested deeper than any payload may be (a hand edit: no enqueue takes
// one): JSON.parse reads it, but every printing of it (`result`, `dead list --json`, the
// dashboard) took JSON.stringify 5 s to fail with a RangeError, a stack trace. Readers keep
// such text as text, as they keep text that is not JSON (lib/engine/ended-record.ts `json`).
import { expect, test } from "bun:test";
import { Admin } from "../lib/admin/admin.ts";
import { runTail } from "../lib/engine/outcome.ts";
import { keysOf } from "./fixtures/queue-shards.ts";
import { openQueue, rawRedis, redisUrl, testPrefix } from "./helpers.ts";

const DEEP = `${"[".repeat(100_000)}${"]".repeat(100_000)}`;

test("a job whose stored payload and result nest too deeply reads them as text", async () => {
  const prefix = testPrefix();
  await using q = await openQueue({ prefix });
  await using r = await rawRedis();
  const value = `F1 ${runTail(1, 1, 3, null, "w", "echo", DEEP, DEEP)}`;
  await r.sendCommand(["SET", keysOf(q, "deep").result("deep"), value]);
  const job = await q.getJob("deep");
  expect(job).toMatchObject({ status: "finished", payload: DEEP, result: DEEP });
  expect(JSON.stringify(job)).toContain(DEEP.slice(0, 10));
});

test("a dead letter whose payload nests too deeply is listed with it as text", async () => {
  const prefix = testPrefix();
  await using q = await openQueue({ prefix });
  await using r = await rawRedis();
  await q.enqueue("echo", null); // the queue's layout recorded (6 shards in the cluster pass)
  const letter = ["id", "deep", "task", "echo", "error", "e", "attempts", "1", "payload", DEEP];
  await r.sendCommand(["XADD", keysOf(q, "deep").dead, "*", ...letter, "max_attempts", "3"]);
  const admin = await Admin.connect({ redisUrl: redisUrl(), prefix });
  try {
    const page = await admin.deadLetters();
    expect(page.letters.map((l) => [l.id, l.payload])).toEqual([["deep", DEEP]]);
    expect(() => JSON.stringify(page)).not.toThrow();
  } finally {
    await admin.close();
  }
});
