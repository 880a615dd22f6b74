// `info` over many queues reads a few at a time (adminDefaults.queuesReadAtOnce): reading them
// all at once, 20,000 queues queued 1.5 million commands (2.4 GB) and the last passed the
// command timeout, so the report failed. Counted here as queues with a command out at once.
import { describe, expect, test } from "bun:test";
import { Admin } from "../lib/admin/admin.ts";
import { infoReader, type UnreadableQueue } from "../lib/admin/info.ts";
import { type QueueSeen, writeInfo } from "../lib/cli/info-out.ts";
import { adminDefaults } from "../lib/config.ts";
import { queueKeys } from "../lib/engine/keys.ts";
import { pinShards, rawRedis, redisUrl, runCli, testPrefix } from "./helpers.ts";

// Queues planted as one shard each (their meta and stream), read as such.
pinShards(1);

const QUEUES = 3 * adminDefaults.queuesReadAtOnce;

/** `count` queues under a new prefix, each with one waiting job: q000, q001, … */
async function manyQueues(count: number): Promise<{ prefix: string; names: string[] }> {
  const prefix = testPrefix();
  const names = Array.from({ length: count }, (_, i) => `q${String(i).padStart(3, "0")}`);
  await using r = await rawRedis();
  await Promise.all(
    names.map(async (name) => {
      const keys = queueKeys(prefix, name);
      await r.sendCommand(["HSET", keys.meta, "format", "2", "created_at", "1796072470529"]);
      await r.sendCommand(["XADD", keys.stream, "*", "t", "ok", "p", "null", "a", "0", "m", "1"]);
    }),
  );
  return { prefix, names };
}

/** The most queues with a command of theirs unanswered at once, over the client's commands. */
function countQueuesOut(admin: Admin): { most: () => number } {
  const out = new Map<string, number>();
  let most = 0;
  const client = admin.client as unknown as {
    sendCommand: (args: readonly string[], ...rest: unknown[]) => Promise<unknown>;
  };
  const send = client.sendCommand.bind(client);
  client.sendCommand = (args, ...rest) => {
    // The queue of a key `<prefix>:{<queue>}:…`; keyless commands (INFO, TIME) count for none.
    const queue = args.map((a) => /\{([^}#]+)/.exec(a)?.[1]).find((q) => q !== undefined);
    if (queue === undefined) return send(args, ...rest);
    out.set(queue, (out.get(queue) ?? 0) + 1);
    most = Math.max(most, out.size);
    const done = () => {
      const left = (out.get(queue) ?? 1) - 1;
      if (left === 0) out.delete(queue);
      else out.set(queue, left);
    };
    const answer = send(args, ...rest);
    answer.then(done, done);
    return answer;
  };
  return { most: () => most };
}

describe("info over many queues", () => {
  test("finding them reads at most queuesReadAtOnce layouts at once", async () => {
    const { prefix, names } = await manyQueues(QUEUES);
    const admin = await Admin.connect({ redisUrl: redisUrl(), prefix });
    try {
      const counted = countQueuesOut(admin);
      expect(await admin.findQueues()).toEqual(names);
      expect(counted.most()).toBeGreaterThan(1);
      expect(counted.most()).toBeLessThanOrEqual(adminDefaults.queuesReadAtOnce);
    } finally {
      await admin.close();
    }
  });

  test("the report reads at most queuesReadAtOnce queues at once, all of them, in name order", async () => {
    const { prefix, names } = await manyQueues(QUEUES);
    const admin = await Admin.connect({ redisUrl: redisUrl(), prefix });
    try {
      const counted = countQueuesOut(admin);
      const report = await infoReader(admin, names)();
      expect(report.queues.map((q) => q.queue)).toEqual(names);
      expect(report.queues.every((q) => "waiting" in q && q.waiting === 1)).toBe(true);
      expect(counted.most()).toBeGreaterThan(1);
      expect(counted.most()).toBeLessThanOrEqual(adminDefaults.queuesReadAtOnce);
    } finally {
      await admin.close();
    }
  });

  test("info writes every queue, text and JSON as one object, as the report holds them", async () => {
    const { prefix, names } = await manyQueues(QUEUES);
    const text = await runCli("info", ["--prefix", prefix]);
    expect(text.stderr).toBe("");
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^redis memory /);
    expect([...text.stdout.matchAll(/^queue (\S+)$/gm)].map((m) => m[1])).toEqual(names);
    expect(text.stdout.endsWith("  workers: none\n")).toBe(true);
    const json = await runCli("info", ["--prefix", prefix, "--json"]);
    expect(json.code).toBe(0);
    const report = JSON.parse(json.stdout);
    expect(Object.keys(report)).toEqual(["time", "redis", "queues"]);
    expect(report.queues.map((q: { queue: string }) => q.queue)).toEqual(names);
    expect(report.queues[0]).toMatchObject({ waiting: 1, shards: 1, workers: [] });
  });
});

describe("a one-off info writes each queue as it is read", () => {
  test("a queue's block (text or JSON) is out before the next queue is read", async () => {
    for (const json of [false, true]) {
      const out: string[] = [];
      // What had been written when each queue was asked for.
      const writtenBefore: string[] = [];
      async function* queues(): AsyncGenerator<UnreadableQueue> {
        for (const queue of ["a", "b", "c"]) {
          writtenBefore.push(out.join(""));
          yield { queue, unreadable: "x" };
        }
      }
      const real = process.stdout.write;
      process.stdout.write = ((chunk: string) => out.push(chunk) > 0) as typeof real;
      let seen: QueueSeen[];
      try {
        seen = await writeInfo({ time: "t", redis: null, queues: queues() }, json, "p");
      } finally {
        process.stdout.write = real;
      }
      // What --watch keeps of a report: names, and why unreadable.
      expect(seen).toEqual(["a", "b", "c"].map((queue) => ({ queue, unreadable: "x" })));
      const name = json ? '"queue":"a"' : "queue a\n";
      expect(writtenBefore[1]).toContain(name);
      expect(writtenBefore[2]).toContain(json ? '"queue":"b"' : "queue b\n");
      const whole = out.join("");
      if (json) {
        expect(JSON.parse(whole)).toEqual({
          time: "t",
          redis: null,
          queues: ["a", "b", "c"].map((queue) => ({ queue, unreadable: "x" })),
        });
      } else {
        expect(whole).toBe(
          "queue a\n  unreadable: x\n\nqueue b\n  unreadable: x\n\nqueue c\n  unreadable: x\n",
        );
      }
    }
  });
});

test("--watch closes a report cut by a failed read: its JSON line parses, saying so; the text too", async () => {
  for (const json of [false, true]) {
    const out: string[] = [];
    async function* queues(): AsyncGenerator<UnreadableQueue> {
      yield { queue: "a", unreadable: "x" };
      throw new Error("Redis did not answer\nsecond line");
    }
    const real = process.stdout.write;
    process.stdout.write = ((chunk: string) => out.push(chunk) > 0) as typeof real;
    let failure: unknown;
    try {
      await writeInfo({ time: "t", redis: null, queues: queues() }, json, "p", true);
    } catch (err) {
      failure = err;
    } finally {
      process.stdout.write = real;
    }
    expect(String(failure)).toContain("Redis did not answer"); // still thrown: said on stderr
    const whole = out.join("");
    expect(whole.endsWith("\n")).toBe(true); // the next refresh starts a line of its own
    if (json) {
      expect(JSON.parse(whole)).toEqual({
        time: "t",
        redis: null,
        queues: [{ queue: "a", unreadable: "x" }],
        incomplete: "Redis did not answer",
      });
    } else {
      expect(whole).toBe("queue a\n  unreadable: x\n\n(report cut short: Redis did not answer)\n");
    }
  }
});
