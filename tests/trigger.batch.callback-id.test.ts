// `trigger --file … --id-from-url` names its callback from the callback itself as well as the
// jobs: the same command run again finds its callback (no second one), while another --then or
// --then-payload over the same file is another callback, enqueued and run, not taken for the
// first (lib/cli/trigger-batch.ts, callbackIdOf).
import { expect, test } from "bun:test";
import { callbackIdOf } from "../lib/cli/trigger-batch.ts";
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
