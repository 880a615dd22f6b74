// `dead requeue ID…` sends one shard's letters in calls of at most MOVE_BYTES (R106 finding 1):
// when a later call failed (a full Redis, a lost connection), the answers of the earlier calls
// were lost: no id printed, "wrote nothing" said, exit 7, though some ids were requeued. Each id
// is now answered: the ones done as done, the ones of the failed call and after as failed, with
// the cause, one line each, the exit code of that failure. `dead delete` likewise, over shards.
// `requeue --all` likewise: it counted nothing and said "wrote nothing" after requeuing some.
// The failure is injected into the CLI's process (tests/fixtures/fail-requeue.ts).
import { describe, expect, test } from "bun:test";
import { resolve } from "node:path";
import { Admin } from "../lib/admin/admin.ts";
import { startDashboard } from "../lib/dashboard/server.ts";
import { shardOf } from "../lib/engine/keys.ts";
import { PermanentError } from "../lib/errors.ts";
import { defineTask } from "../lib/types.ts";
import { failScript } from "./fixtures/fail-requeue.ts";
import { openQueue, ROOT, redisUrl, runCli, startWorker, testPrefix } from "./helpers.ts";

const TOKEN = "s3cret-test-token-0108";

const fails = defineTask({
  name: "fails",
  run: async () => {
    throw new PermanentError("no luck");
  },
});

/** Dead jobs of the given ids, each letter `kb` KiB (600: one a requeue call). */
async function killJobs(prefix: string, ids: string[], shards: number, kb: number) {
  await using q = await openQueue({ prefix, shards });
  const w = await startWorker({ prefix, shards, tasks: [fails] });
  const payload = "x".repeat(kb * 1024);
  await q.enqueueMany(ids.map((id) => ({ task: "fails", payload, id })));
  await q.waitForJobs(ids, { timeoutMs: 10_000 });
  await w.stop();
}

/** `dead …` with the Nth call of `script` failing (`as`: an OOM reply, or a lost connection). */
function deadFailing(prefix: string, fail: string, args: string[], as = "oom") {
  const env = {
    BUN_OPTIONS: `--preload ${resolve(ROOT, "tests/fixtures/fail-requeue.ts")}`,
    COURIER_TEST_FAIL_SCRIPT: fail,
    COURIER_TEST_FAIL_AS: as,
  };
  return runCli("dead", [...args, "--prefix", prefix], { env });
}

async function deadIds(prefix: string, ids: string[]): Promise<string[]> {
  const admin = await Admin.connect({ redisUrl: redisUrl(), prefix });
  try {
    const letters = await Promise.all(ids.map((id) => admin.deadLetter(id)));
    return ids.filter((_, i) => letters[i] !== null);
  } finally {
    await admin.close();
  }
}

const OOM =
  "failed: Redis is out of memory (maxmemory reached, policy noeviction): it refused this command and wrote nothing of it;";

describe("dead requeue ID… whose second call fails", () => {
  test("a full Redis: the first call's id requeued, the others failed, each said, exit 7", async () => {
    const prefix = testPrefix();
    await killJobs(prefix, ["p0", "p1", "p2"], 1, 600);
    const out = await deadFailing(prefix, "requeue:2", ["requeue", "p0", "p1", "p2", "nope"]);
    expect(out.stdout).toBe("p0\n");
    const lines = out.stderr.split("\n").filter(Boolean);
    expect(lines).toHaveLength(3);
    expect(lines[0]).toStartWith(`dead: p1: ${OOM}`);
    expect(lines[1]).toStartWith(`dead: p2: ${OOM}`);
    expect(lines[2]).toBe("dead: nope: no dead letter for this job");
    expect(out.code).toBe(7);
    expect(await deadIds(prefix, ["p0", "p1", "p2"])).toEqual(["p1", "p2"]);

    // A Redis that stops answering: its own exit code (6), each id a JSON line.
    const json = await deadFailing(
      prefix,
      "requeue:2",
      ["requeue", "p1", "p2", "--json"],
      "noanswer",
    );
    const rows = json.stdout
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l));
    expect(rows).toEqual([
      { id: "p1", verdict: "requeued" },
      { id: "p2", verdict: "failed", reason: "Redis at redis://x did not answer within 10000 ms" },
    ]);
    expect(json.stderr).toBe("");
    expect(json.code).toBe(6);
  });

  test("the first call fails: nothing was done, said once as before, exit 7", async () => {
    const prefix = testPrefix();
    await killJobs(prefix, ["q0", "q1"], 1, 600);
    const out = await deadFailing(prefix, "requeue:1", ["requeue", "q0", "q1"]);
    expect(out.stdout).toBe("");
    expect(out.stderr).toStartWith("dead: Redis is out of memory");
    expect(out.stderr.split("\n").filter(Boolean)).toHaveLength(1);
    expect(out.code).toBe(7);
  });
});

describe("dead delete ID… over two shards, one shard's call failing", () => {
  test("the other shard's id deleted and said; this one failed, exit 7", async () => {
    const prefix = testPrefix();
    const ids = ["b0", "b1", "b2", "b3", "b4", "b5", "b6", "b7"];
    const a = ids.find((id) => shardOf(id, 2) === 0)!;
    const b = ids.find((id) => shardOf(id, 2) === 1)!;
    await killJobs(prefix, [a, b], 2, 1);
    // Shards are called at once: whichever calls second fails, the other is deleted.
    const out = await deadFailing(prefix, "discard:2", ["delete", a, b]);
    const left = await deadIds(prefix, [a, b]);
    expect(left).toHaveLength(1);
    const gone = left[0] === a ? b : a;
    expect(out.stdout).toBe(`${gone}\n`);
    expect(out.stderr).toStartWith(`dead: ${left[0]}: ${OOM}`);
    expect(out.code).toBe(7);
  });
});

describe("dead requeue --all whose second call fails", () => {
  test("what was requeued is counted, then why the rest was not, exit 7", async () => {
    const prefix = testPrefix();
    await killJobs(prefix, ["r0", "r1", "r2"], 1, 600);
    const out = await deadFailing(prefix, "requeue:2", ["requeue", "--all"]);
    expect(out.stdout).toBe("requeued 1 dead job\n");
    expect(out.stderr).toStartWith(
      "dead: the other dead jobs were not requeued: Redis is out of memory (maxmemory reached",
    );
    expect(out.stderr.split("\n").filter(Boolean)).toHaveLength(1);
    expect(out.code).toBe(7);
    expect(await deadIds(prefix, ["r0", "r1", "r2"])).toHaveLength(2);

    const json = await deadFailing(prefix, "requeue:2", ["requeue", "--all", "--json"], "noanswer");
    expect(JSON.parse(json.stdout)).toEqual({
      requeued: 1,
      failed: "Redis at redis://x did not answer within 10000 ms",
    });
    expect(json.code).toBe(6);

    // Nothing done (the first call fails): the failure said once, as by any command.
    const none = await deadFailing(prefix, "requeue:1", ["requeue", "--all"]);
    expect(none.stdout).toBe("");
    expect(none.stderr).toStartWith("dead: Redis is out of memory");
    expect(none.code).toBe(7);
  });

  test("the dashboard's Requeue all: the count, with the failure's status and words", async () => {
    const prefix = testPrefix();
    await killJobs(prefix, ["d0", "d1", "d2"], 1, 600);
    const undo = failScript("requeue", 2); // before the dashboard's client is made: it binds
    const d = await startDashboard({ redisUrl: redisUrl(), prefix, port: 0, token: TOKEN });
    try {
      const res = await fetch(`${d.url}/api/dead/requeue-all`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-courier-token": TOKEN },
        body: "{}",
      });
      expect(res.status).toBe(507);
      const body = (await res.json()) as { requeued: number; error: string };
      expect(body.requeued).toBe(1);
      expect(body.error).toStartWith(
        "Requeued 1 dead job; the others were not: Redis is out of memory",
      );
    } finally {
      undo();
      await d.stop();
    }
  });
});
