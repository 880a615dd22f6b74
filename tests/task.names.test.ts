// The rule for a new job's task name (lib/task-check.ts), the library's and the CLI's alike: a
// job the library enqueues and a schedule it saves can be triggered by name from the CLI
// (`trigger --task`, `--then`, `schedule add --task`), and a name the CLI refuses (a space, a
// bidi mark, an invisible character: read one way and stored another, R-192; over 100
// characters) the library refuses for them too. A worker serves any name, and a schedule saved
// before fires under its own: what an earlier Courier took is never stranded (RR).
import { describe, expect, test } from "bun:test";
import { taskNameProblem as cliProblem } from "../lib/cli/trigger-job.ts";
import { scheduleKeys } from "../lib/engine/keys.ts";
import { openLayout } from "../lib/engine/layout.ts";
import { prepareJob } from "../lib/queue/prepare.ts";
import { TickEnqueuer } from "../lib/schedule/enqueue.ts";
import { firePass } from "../lib/schedule/fire.ts";
import { Schedules } from "../lib/schedule/schedules.ts";
import { checkSpec } from "../lib/schedule/spec.ts";
import { defineTask } from "../lib/types.ts";
import { enqueue } from "./fixtures/engine.ts";
import { shardsOf } from "./fixtures/queue-shards.ts";
import { openQueue, type RawRedis, startWorker, testPrefix, until } from "./helpers.ts";

const run = async () => null;

/** Whether each of the library's doors for new work takes `name`: enqueue, a schedule. */
function libraryTakes(name: string): boolean[] {
  const takes = (f: () => unknown) => {
    try {
      f();
      return true;
    } catch {
      return false;
    }
  };
  return [
    takes(() => prepareJob({ task: name, payload: null }, { maxAttempts: 3 })),
    takes(() => checkSpec({ name: "s", every: "5m", task: name }, "q")),
  ];
}

describe("a task name: the library takes what the CLI takes, and no other", () => {
  // biome-ignore format: a table
  const names: [string, string][] = [
    ["a plain name", "send-mail"],
    ["dots, colons, non-ASCII letters", "billing.invoice:émettre"],
    ["100 characters", "t".repeat(100)],
    ["a left-to-right mark (U+200E)", "a\u200eb"],
    ["a right-to-left mark (U+200F)", "a\u200fb"],
    ["a word joiner (U+2060)", "a\u2060b"],
    ["a zero-width space (U+200B)", "a\u200bb"],
    ["a right-to-left override", "a\u202eb"],
    ["a tag character", "a\u{e0041}b"],
    ["a space", "send mail"],
    ["a no-break space", "send\u00a0mail"],
    ["a line break", "a\nb"],
    ["101 characters", "t".repeat(101)],
  ];
  for (const [what, name] of names) {
    test(what, () => {
      const cli = cliProblem(name) === undefined;
      expect(libraryTakes(name)).toEqual([cli, cli]);
      expect(libraryTakes(name)).toEqual([cli, cli]); // the same answer the second time
      // A worker serves it whatever the rule says (a job of it may be queued already).
      expect(defineTask({ name, run }).name).toBe(name);
    });
  }
});

describe("a task name that looks like another is refused: nothing in it shows as nothing", () => {
  // biome-ignore format: a table
  const names: [string, string, boolean][] = [
    ["a plain name", "send-mail", true],
    ["accents and other scripts", "émettre.日本.отправить", true],
    ["a soft hyphen (U+00AD)", "send\u00admail", false],
    ["an invisible operator (U+2061-U+2064)", "send\u2063mail", false],
    ["a Hangul filler (U+3164)", "send\u3164", false],
    ["a halfwidth Hangul filler (U+FFA0)", "\uffa0send", false],
    ["a Hangul choseong filler (U+115F)", "send\u115f", false],
    ["a Mongolian vowel separator (U+180E)", "send\u180email", false],
    // Emoji and scripts are made of these: every earlier Courier took them (`upload-☁️`), and a
    // name refused now would refuse its producers and the re-add of its schedules.
    ["a zero-width joiner (U+200D)", "send\u200dmail", true],
    ["a zero-width non-joiner (U+200C)", "send\u200cmail", true],
    ["a variation selector (U+FE0F)", "send\ufe0f", true],
    ["an emoji with its variation selector", "upload-\u2601\ufe0f", true],
    ["a combining grapheme joiner (U+034F)", "send\u034fmail", false],
    ["a language tag (U+E0001)", "send\u{e0001}", false],
    ["a lone surrogate", "send\ud800", false],
  ];
  for (const [what, name, taken] of names) {
    test(what, () => {
      expect(cliProblem(name) === undefined).toBe(taken);
      expect(libraryTakes(name)).toEqual([taken, taken]);
    });
  }

  test("the refusal shows what the name hides, joiners and variation selectors too", () => {
    expect(cliProblem("send\u200d\u00admail")).toStartWith(
      '"send\\u200d\\xadmail" is not a task name',
    );
    expect(cliProblem("ok\ufe0f\u2063")).toStartWith('"ok\\ufe0f\\u2063" is not a task name');
    expect(cliProblem("a\u3164")).toStartWith('"a\\u3164" is not a task name');
  });
});

test("a job queued under a name the rule refuses now is served by a worker defining it", async () => {
  const prefix = testPrefix();
  await using q = await openQueue({ prefix });
  // As an earlier Courier enqueued it (its enqueue took any name).
  const [job] = await enqueue(q.client as unknown as RawRedis, shardsOf(q)[0]!, [
    { task: "send mail", payload: "{}", maxAttempts: 1 },
  ]);
  const w = await startWorker({
    prefix,
    tasks: [defineTask({ name: "send mail", run: async () => 7 })],
  });
  try {
    await until(async () => (await q.getJob(job!.id))?.status === "finished", "the job served");
    expect((await q.getJob(job!.id))?.result).toBe(7);
  } finally {
    await w.stop();
  }
});

test("a schedule saved before under a name the rule refuses now still fires", async () => {
  const prefix = testPrefix();
  await using q = await openQueue({ prefix });
  await openLayout(q.client, prefix, "default", q.shards, true);
  const schedules = new Schedules(q.client, prefix, "default");
  const { def } = await schedules.add({ name: "old", every: "1h", task: "t" });
  // Its definition as an earlier Courier stored it: Schedules.add took the name then.
  const sk = scheduleKeys(prefix);
  await q.client.sendCommand([
    "HSET",
    sk.defs,
    "old",
    JSON.stringify({ ...def!, task: "a\u200eb" }),
  ]);
  await q.client.sendCommand(["ZADD", sk.next("default"), String(def!.created_at), "old"]);
  await firePass({
    client: q.client,
    prefix,
    enqueuer: new TickEnqueuer(q.client, prefix),
    queues: [],
  });
  const tasks: string[] = [];
  for (const k of shardsOf(q)) {
    const entries = (await q.client.sendCommand(["XRANGE", k.stream, "-", "+"])) as [
      string,
      string[],
    ][];
    for (const [, fields] of entries) tasks.push(fields[fields.indexOf("t") + 1]!);
  }
  expect(tasks).toEqual(["a\u200eb"]);
});
