// `dead show/requeue/delete` settle each id on its own (R88 finding 3): a failed outcome whose
// letter id is past a stream id's range (two 64-bit numbers) falls back to the scan, as a
// missing pointer does, instead of sending Redis an id it refuses; and an id whose keys Redis
// refuses (a key of its shard of another type) is reported on its own line, exit 6,
// while the call's other ids are still done. So is a job whose own record or failed value is a
// key of another type (h-101): requeue said it was alive (exit 4), delete deleted that key.
// No stack trace either way.
import { describe, expect, test } from "bun:test";
import { Admin } from "../lib/admin/admin.ts";
import { shardKeys, shardOf } from "../lib/engine/keys.ts";
import { PermanentError } from "../lib/errors.ts";
import { defineTask } from "../lib/types.ts";
import { openQueue, rawRedis, redisUrl, runCli, startWorker, testPrefix } from "./helpers.ts";

const fails = defineTask({
  name: "fails",
  run: async () => {
    throw new PermanentError("no luck");
  },
});

/** Dead jobs of the given ids in a queue of `shards` shards. */
async function killJobs(prefix: string, ids: string[], shards: number): Promise<void> {
  await using q = await openQueue({ prefix, shards });
  const w = await startWorker({ prefix, shards, tasks: [fails] });
  await q.enqueueMany(ids.map((id) => ({ task: "fails", payload: {}, id })));
  await q.waitForJobs(ids, { timeoutMs: 5_000 });
  await w.stop();
}

const dead = (prefix: string, ...args: string[]) => runCli("dead", [...args, "--prefix", prefix]);

/** Whether the job has a dead letter (read with the library, not the CLI under test). */
async function isDead(prefix: string, id: string): Promise<boolean> {
  const admin = await Admin.connect({ redisUrl: redisUrl(), prefix });
  try {
    return (await admin.deadLetter(id)) !== null;
  } finally {
    await admin.close();
  }
}

describe("a failed outcome whose letter id is past a stream id's range", () => {
  test("show, requeue and delete find the letter by the scan; the other ids are done", async () => {
    const prefix = testPrefix();
    await killJobs(prefix, ["d0", "d1", "d2", "d3"], 1);
    const [keys] = shardKeys(prefix, "default", 1);
    await using r = await rawRedis();
    const value = String(await r.sendCommand(["GET", keys!.result("d1")]));
    const [head, ...rest] = value.split("\n");
    const tokens = head!.split(" ");
    expect(tokens[5]).toMatch(/^\d+-\d+$/); // the letter's id, where parseOutcome reads it
    tokens[5] = "99999999999999999999-0";
    const bad = [tokens.join(" "), ...rest].join("\n");
    await r.sendCommand(["SET", keys!.result("d1"), bad, "KEEPTTL"]);

    const show = await dead(prefix, "show", "d1");
    expect(show.stderr).toBe("");
    expect(show.code).toBe(0);
    expect(show.stdout).toMatch(/^id: +d1$/m);

    const requeued = await dead(prefix, "requeue", "d0", "d1", "d2");
    expect(requeued.stderr).toBe("");
    expect(requeued.code).toBe(0);
    expect(requeued.stdout.split("\n").filter(Boolean)).toEqual(["d0", "d1", "d2"]);

    await r.sendCommand(["SET", keys!.result("d3"), bad.replace("d1", "d3"), "KEEPTTL"]);
    const deleted = await dead(prefix, "delete", "d3");
    expect(deleted.stderr).toBe("");
    expect(deleted.code).toBe(0);
    expect(deleted.stdout).toBe("d3\n");
    expect(await isDead(prefix, "d3")).toBe(false);
  });
});

describe("an id whose shard's keys hold another type", () => {
  // Two ids, one in each shard of a 2-shard queue: shard 1 has its `key` (dead letters, read
  // first; counters, checked by the requeue script) replaced by a string.
  async function setUp(
    key: "dead" | "stats",
  ): Promise<{ prefix: string; good: string; bad: string }> {
    const prefix = testPrefix();
    const ids = ["a0", "a1", "a2", "a3", "a4", "a5", "a6", "a7"];
    const good = ids.find((id) => shardOf(id, 2) === 0)!;
    const bad = ids.find((id) => shardOf(id, 2) === 1)!;
    await killJobs(prefix, [good, bad], 2);
    const keys = shardKeys(prefix, "default", 2)[1]!;
    await using r = await rawRedis();
    await r.sendCommand(["DEL", keys[key]]);
    await r.sendCommand(["SET", keys[key], "not ours"]);
    return { prefix, good, bad };
  }

  test("requeue: the other id is requeued, this one on its own line, exit 6", async () => {
    const { prefix, good, bad } = await setUp("stats");
    const out = await dead(prefix, "requeue", bad, good);
    expect(out.stdout).toBe(`${good}\n`);
    expect(out.stderr).toMatch(new RegExp(`^dead: ${bad}: Redis refused .*WRONGTYPE.*\\n$`));
    expect(out.stderr).not.toContain("unexpected error");
    expect(out.code).toBe(6);
    expect(await isDead(prefix, good)).toBe(false);

    const json = await dead(prefix, "requeue", bad, "--json");
    expect(JSON.parse(json.stdout)).toMatchObject({ id: bad, verdict: "unreadable" });
    expect(json.code).toBe(6);
  });

  test("delete: the other id is deleted, this one on its own line, exit 6", async () => {
    const { prefix, good, bad } = await setUp("dead");
    const out = await dead(prefix, "delete", good, bad);
    expect(out.stdout).toBe(`${good}\n`);
    expect(out.stderr).toMatch(new RegExp(`^dead: ${bad}: Redis refused .*WRONGTYPE.*\\n$`));
    expect(out.code).toBe(6);
    expect(await isDead(prefix, good)).toBe(false);
  });
});

describe("a dead job whose own record or outcome key holds another type", () => {
  // A job's record (`job:<id>`, a hash) or failed outcome (`r:<id>`, a string) replaced by a
  // key of another type: requeue cannot read whether the job is alive, so that id is
  // unreadable (exit 6, naming the key), never `active` (exit 4: "queued or running again").
  for (const [which, cmd] of [
    ["record", ["SADD", "x"]],
    ["result", ["HSET", "f", "v"]],
  ] as const) {
    test(`requeue: its ${which} of another type is unreadable, exit 6; the other id is requeued`, async () => {
      const prefix = testPrefix();
      await using r = await rawRedis();
      const key = await deadWithOtherType(r, prefix, which, cmd);
      const out = await dead(prefix, "requeue", "w1", "w0");
      expect(out.stdout).toBe("w0\n");
      expect(out.stderr).toBe(
        `dead: w1: cannot be read: key ${key} holds a ${which === "record" ? "set" : "hash"} where Courier keeps a ${which === "record" ? "hash" : "string"}; another program uses these keys: give Courier its own --prefix, or delete that key\n`,
      );
      expect(out.code).toBe(6);
      expect(await isDead(prefix, "w1")).toBe(true);
      expect(await isDead(prefix, "w0")).toBe(false);
      expect(await r.sendCommand(["TYPE", key])).toBe(which === "record" ? "set" : "hash");

      const json = await dead(prefix, "requeue", "w1", "--json");
      expect(JSON.parse(json.stdout)).toMatchObject({ id: "w1", verdict: "unreadable" });
      expect(json.code).toBe(6);
    });

    // Delete would have deleted that key with the letter: it is not Courier's to delete.
    test(`delete: its ${which} of another type is unreadable, left as it is, exit 6; the other id is deleted`, async () => {
      const prefix = testPrefix();
      await using r = await rawRedis();
      const key = await deadWithOtherType(r, prefix, which, cmd);
      const out = await dead(prefix, "delete", "w1", "w0");
      expect(out.stdout).toBe("w0\n");
      expect(out.stderr).toMatch(
        new RegExp(
          `^dead: w1: cannot be read: key ${key} holds a \\w+ where Courier keeps a ${which === "record" ? "hash" : "string"}; another program .*\\n$`,
        ),
      );
      expect(out.code).toBe(6);
      expect(await isDead(prefix, "w1")).toBe(true);
      expect(await isDead(prefix, "w0")).toBe(false);
      expect(await r.sendCommand(["TYPE", key])).toBe(which === "record" ? "set" : "hash");

      const json = await dead(prefix, "delete", "w1", "--json");
      expect(JSON.parse(json.stdout)).toMatchObject({ id: "w1", deleted: false });
      expect(json.code).toBe(6);
    });
  }
});

describe("dead show of a job whose own record or outcome key holds another type", () => {
  // R106 finding 2: it exited 0 with no attempts (`"job":null`) and said nothing; the letter is
  // still shown, and the key is named as `result` names it, exit 6.
  for (const [which, cmd, has, wants] of [
    ["record", ["SADD", "x"], "set", "hash"],
    ["result", ["HSET", "f", "v"], "hash", "string"],
  ] as const) {
    test(`its ${which} a ${has}: the letter, then the line, exit 6`, async () => {
      const prefix = testPrefix();
      await killJobs(prefix, ["s1"], 1);
      const keys = shardKeys(prefix, "default", 1)[0]!;
      const key = keys[which]("s1");
      await using r = await rawRedis();
      // A record of another type is read only once the failed value has expired (it says all).
      await r.sendCommand(["DEL", key, ...(which === "record" ? [keys.result("s1")] : [])]);
      await r.sendCommand([cmd[0], key, ...cmd.slice(1)]);
      const line = `dead: job s1 cannot be read: key ${key} holds a ${has} where Courier keeps a ${wants}; another program uses these keys: give Courier its own --prefix, or delete that key\n`;
      const out = await dead(prefix, "show", "s1");
      expect(out.stdout).toMatch(/^id: +s1$/m);
      expect(out.stderr).toBe(line);
      expect(out.code).toBe(6);
      const json = await dead(prefix, "show", "s1", "--json");
      expect(JSON.parse(json.stdout)).toMatchObject({ id: "s1", job: null });
      expect(json.stderr).toBe(line);
      expect(json.code).toBe(6);
    });
  }

  test("an expired record is no such key: the letter alone, exit 0", async () => {
    const prefix = testPrefix();
    await killJobs(prefix, ["s2"], 1);
    const keys = shardKeys(prefix, "default", 1)[0]!;
    await using r = await rawRedis();
    await r.sendCommand(["DEL", keys.record("s2"), keys.result("s2")]);
    const out = await dead(prefix, "show", "s2");
    expect(out.stderr).toBe("");
    expect(out.code).toBe(0);
  });
});

describe("requeue --all and a dead job whose record is a key of another type", () => {
  test("the others are requeued; the one left is said, with the first's key, exit 6", async () => {
    const prefix = testPrefix();
    await killJobs(prefix, ["v0", "v1", "v2"], 1);
    const [keys] = shardKeys(prefix, "default", 1);
    const key = keys!.record("v1");
    await using r = await rawRedis();
    await r.sendCommand(["DEL", key]);
    await r.sendCommand(["SADD", key, "x"]);
    const out = await dead(prefix, "requeue", "--all");
    expect(out.stdout).toBe("requeued 2 dead jobs\n");
    expect(out.stderr).toBe(
      `dead: 1 dead job not requeued, its keys unreadable (dead requeue ID says each); the first, v1: cannot be read: key ${key} holds a set where Courier keeps a hash; another program uses these keys: give Courier its own --prefix, or delete that key\n`,
    );
    expect(out.code).toBe(6);
    expect(await isDead(prefix, "v1")).toBe(true);

    const json = await dead(prefix, "requeue", "--all", "--json");
    expect(JSON.parse(json.stdout)).toEqual({ requeued: 0, unreadable: 1 });
    expect(json.code).toBe(6);
  });
});

/** Dead jobs w0 and w1, w1's `which` key rewritten as another type by `cmd`; returns that key. */
async function deadWithOtherType(
  r: Awaited<ReturnType<typeof rawRedis>>,
  prefix: string,
  which: "record" | "result",
  cmd: readonly string[],
): Promise<string> {
  await killJobs(prefix, ["w0", "w1"], 1);
  const [keys] = shardKeys(prefix, "default", 1);
  const key = keys![which]("w1");
  await r.sendCommand(["DEL", key]);
  await r.sendCommand([cmd[0]!, key, ...cmd.slice(1)]);
  return key;
}
