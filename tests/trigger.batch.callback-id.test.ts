// `trigger --file … --id-from-url` names its callback from the callback itself as well as the
// jobs: the same command run again finds its callback (no second one), while another --then or
// --then-payload over the same file is another callback, enqueued and run, not taken for the
// first (lib/cli/trigger-batch.ts, callbackIdOf).
import { expect, test } from "bun:test";
import { callbackIdOf, callbackNote } from "../lib/cli/trigger-batch.ts";
import { overShards } from "./fixtures/queue-shards.ts";
import { openQueue, rawRedis, runCli, testPrefix } from "./helpers.ts";

const input = "example.org/a\nexample.org/b\n";

async function trigger(prefix: string, then: string[]) {
  const args = ["--prefix", prefix, "--file", "-", "--id-from-url", ...then];
  const r = await runCli("trigger", args, { stdin: input });
  expect(r.code).toBe(0);
  return /^trigger: callback (\S+) /m.exec(r.stderr)?.[1];
}

test("another --then or --then-payload over the same file is another callback; the same is the same", async () => {
  const prefix = testPrefix();
  const first = await trigger(prefix, ["--then", "tally"]);
  expect(await trigger(prefix, ["--then", "tally"])).toBe(first);
  const other = await trigger(prefix, ["--then", "report"]);
  const payload = await trigger(prefix, ["--then", "tally", "--then-payload", '{"top":5}']);
  const summary = await trigger(prefix, ["--summary"]);
  const ids = [first, other, payload, summary];
  expect(ids.every((id) => id?.startsWith("batch-"))).toBe(true);
  expect(new Set(ids).size).toBe(4);
  await using q = await openQueue({ prefix });
  await using r = await rawRedis();
  const waiting = await overShards(q, async (k) =>
    Number(await r.sendCommand(["ZCARD", k.children])),
  );
  expect(waiting).toBe(4);
});

test("callbackIdOf: the task and payload are part of the id", () => {
  const ids = ["a", "b"];
  const a = callbackIdOf(ids, true, { task: "tally", payload: null });
  expect(callbackIdOf(ids, true, { task: "tally", payload: null })).toBe(a);
  expect(callbackIdOf(ids, true, { task: "report", payload: null })).not.toBe(a);
  expect(callbackIdOf(ids, true, { task: "tally", payload: { top: 5 } })).not.toBe(a);
  expect(callbackIdOf(["b", "a"], true, { task: "tally", payload: null })).not.toBe(a);
});

test("the same command again finds the earlier run's callback and says how it stands, not that it runs", async () => {
  const prefix = testPrefix();
  const args = ["--prefix", prefix, "--file", "-", "--id-from-url", "--then", "tally"];
  const first = await runCli("trigger", args, { stdin: input });
  const id = /^trigger: callback (\S+) \(tally\) runs once all 2 jobs have ended$/m.exec(
    first.stderr,
  )?.[1];
  expect(id).toStartWith("batch-");
  const again = await runCli("trigger", args, { stdin: input });
  expect(again.code).toBe(0);
  expect(again.stderr).toContain(
    `trigger: callback ${id} (tally), from an earlier run of this batch, waits for that run's jobs; none is added\n`,
  );
  await using q = await openQueue({ prefix });
  await q.cancel([id!]);
  const ended = await runCli("trigger", args, { stdin: input });
  expect(ended.stderr).toContain(
    `trigger: callback ${id} (tally), from an earlier run of this batch, has ended (canceled): it does not run again\n`,
  );
  const json = await runCli("trigger", [...args, "--json"], { stdin: input });
  expect(json.stdout.trim().split("\n").at(-1)).toBe(
    JSON.stringify({ callback: id, task: "tally", jobs: 2, created: false }),
  );
});

test("callbackNote: a callback made now, one from an earlier run waiting, and one ended", () => {
  const then = { task: "tally", payload: null, summary: false };
  expect(callbackNote("c", then, 1)).toBe(
    "trigger: callback c (tally) runs once the job has ended",
  );
  expect(callbackNote("c", then, 2, { status: "waiting-for-parents" })).toBe(
    "trigger: callback c (tally), from an earlier run of this batch, waits for that run's jobs; none is added",
  );
  expect(callbackNote("c", then, 2, { status: "failed" })).toBe(
    "trigger: callback c (tally), from an earlier run of this batch, has ended (failed): it does not run again; dead requeue c runs it again",
  );
  expect(callbackNote("c", then, 2, { status: "finished" })).toBe(
    "trigger: callback c (tally), from an earlier run of this batch, has ended (finished): it does not run again",
  );
});
