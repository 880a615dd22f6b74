// The default limit key of a job whose task is named, not given as a Task (a schedule's tick,
// `trigger`, Queue.enqueue({ task: "wordcount" })): the built-in word-count task's host key
// (lib/queue/prepare.ts; docs/internals.md "Rate limits"). The schedule's path against the real
// Redis of tests/preload.ts (6 shards in the cluster pass).
import { expect, test } from "bun:test";
import { scheduleJobId, shardKeys } from "../lib/engine/keys.ts";
import { openLayout } from "../lib/engine/layout.ts";
import { prepareJob } from "../lib/queue/prepare.ts";
import { TickEnqueuer } from "../lib/schedule/enqueue.ts";
import type { ScheduleDef } from "../lib/schedule/spec.ts";
import { openQueue, testPrefix } from "./helpers.ts";

const url = "https://Example.COM:8443/a?b=1";

test.each([
  [
    "wordcount by name: the URL's host",
    { task: "wordcount", payload: { url } },
    "example.com:8443",
  ],
  ["a given key wins", { task: "wordcount", payload: { url }, limitKey: "mine" }, "mine"],
  ["no usable URL: none", { task: "wordcount", payload: { url: "not a url" } }, undefined],
  ["another task named: none", { task: "echo", payload: { url } }, undefined],
])("%s", (_, spec, key) => {
  expect(prepareJob(spec, { maxAttempts: 3 }).limitKey).toBe(key);
});

test("a scheduled word count by name carries its host's limit key in its entry", async () => {
  const prefix = testPrefix();
  await using q = await openQueue({ prefix, queue: "q" });
  await openLayout(q.client, prefix, "q", q.shards, true);
  const def: ScheduleDef = {
    ...{ queue: "q", every_ms: 60_000, task: "wordcount", payload: { url } },
    ...{ missed: "once", paused: false, created_at: 0 },
  };
  expect(await new TickEnqueuer(q.client, prefix).enqueue("crawl", def, 60_000)).toBe(true);
  const id = scheduleJobId("crawl", 60_000);
  const found: Record<string, string>[] = [];
  for (const k of shardKeys(prefix, "q", q.shards)) {
    const rows = await q.client.sendCommand<[string, string[]][]>(["XRANGE", k.stream, "-", "+"]);
    for (const [, flat] of rows) {
      const f: Record<string, string> = {};
      for (let i = 0; i + 1 < flat.length; i += 2) f[flat[i]!] = flat[i + 1]!;
      if (f.i === id) found.push(f);
    }
  }
  expect(found.map((f) => f.k)).toEqual(["example.com:8443"]);
});
