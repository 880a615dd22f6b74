// `result ID` of a job whose own record (`job:<id>`, a hash) or failed value (`r:<id>`, a
// string) is a key of another type (a hand edit, another program). status.lua reads such a key
// as absent, so the job read as unknown: "no job ID …: unknown id, or its record has expired",
// exit 4, while `cancel ID` said the key holds another type (exit 6). It now says which key, as
// cancel does, exit 6; an id that is truly unknown still exits 4.
import { describe, expect, test } from "bun:test";
import { shardKeys } from "../lib/engine/keys.ts";
import { RedisRefusedError } from "../lib/errors.ts";
import { openQueue, rawRedis, runCli, testPrefix } from "./helpers.ts";

describe("result and a job's key of another type", () => {
  for (const [which, cmd, has, wants] of [
    ["record", ["SADD", "x"], "set", "hash"],
    ["result", ["HSET", "f", "v"], "hash", "string"],
  ] as const) {
    test(`its ${which} a ${has}: said, naming the key, exit 6`, async () => {
      const prefix = testPrefix();
      await using q = await openQueue({ prefix, shards: 1 });
      await q.enqueueMany([{ task: "t", payload: 1, id: "k0" }]);
      const keys = shardKeys(prefix, "default", 1)[0]!;
      const key = keys[which]("k1");
      await using r = await rawRedis();
      // A job that failed for good (its entry gone): its record says so, and its failed value is
      // replaced; or its record is.
      await r.sendCommand(["HSET", keys.record("k1"), "status", "failed", "t", "t", "a", "1"]);
      await r.sendCommand(["DEL", key]);
      await r.sendCommand([cmd[0], key, ...cmd.slice(1)]);
      const out = await runCli("result", ["k1", "--prefix", prefix]);
      expect(out.stdout).toBe("");
      expect(out.stderr).toBe(
        `result: job k1 cannot be read: key ${key} holds a ${has} where Courier keeps a ${wants}; another program uses these keys: give Courier its own --prefix, or delete that key\n`,
      );
      expect(out.code).toBe(6);
      const thrown = await q.mustGetJob("k1").catch((e: unknown) => e);
      expect(thrown).toBeInstanceOf(RedisRefusedError);
      expect(await q.getJob("k1")).toBeNull(); // getJob still reads it as absent
    });
  }

  // Keys of the right type whose content is garbled read as unknown too ("no job", exit 4,
  // which says the job never was) while `queue jobs` still listed the job.
  test("an outcome key holding a string that is no outcome: said, exit 6", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix, shards: 1 });
    const keys = shardKeys(prefix, "default", 1)[0]!;
    await using r = await rawRedis();
    await r.sendCommand(["SET", keys.result("k2"), "garbage"]);
    const out = await runCli("result", ["k2", "--prefix", prefix]);
    expect(out.stderr).toBe(
      `result: job k2 cannot be read: key ${keys.result("k2")} holds a string that is no outcome\n`,
    );
    expect(out.code).toBe(6);
    expect(await q.mustGetJob("k2").catch((e: unknown) => e)).toBeInstanceOf(RedisRefusedError);
  });

  test("a record whose fields are garbled (nowhere the job is): said, exit 6", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix, shards: 1 });
    await q.enqueue("t", 1, { id: "k3" });
    const keys = shardKeys(prefix, "default", 1)[0]!;
    await using r = await rawRedis();
    await r.sendCommand(["XTRIM", keys.stream, "MAXLEN", "0"]); // its entry gone, by hand
    await r.sendCommand(["HSET", keys.record("k3"), "e", "garbage", "q", "x"]);
    const out = await runCli("result", ["k3", "--prefix", prefix]);
    expect(out.stderr).toBe(
      `result: job k3 cannot be read: its record ${keys.record("k3")} is there but says nowhere the job is (its fields garbled)\n`,
    );
    expect(out.code).toBe(6);
    // cancel says it is corrupt, too, not unknown (exit 6, nothing written).
    const canceled = await runCli("cancel", ["k3", "--prefix", prefix]);
    expect(canceled.stderr).toBe(
      "cancel: k3: not canceled: its outcome or record key holds a hash that says nowhere the job is, not what Courier writes (another program uses these keys)\n",
    );
    expect(canceled.code).toBe(6);
  });

  test("an unknown id is still unknown, exit 4", async () => {
    const prefix = testPrefix();
    const out = await runCli("result", ["nope", "--prefix", prefix]);
    expect(out.code).toBe(4);
    expect(out.stderr).toStartWith("result: no job nope in queue");
  });
});
