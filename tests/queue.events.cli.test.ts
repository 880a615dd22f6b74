// `bin/queue.ts events NAME` end to end: a queue's events printed one a line (text or JSON),
// resumed from a printed cursor with nothing repeated, stopped by --count; and the mistakes
// that must fail with one line and the documented exit code.
import { expect, test } from "bun:test";
import { queueTag } from "../lib/queue/event-cursor.ts";
import { defineTask } from "../lib/types.ts";
import { openQueue, runCli, startWorker, testPrefix } from "./helpers.ts";

const noop = defineTask({ name: "noop", run: async (p: { n: number }) => p.n });

interface Line {
  type: string;
  id: string;
  cursor: string;
}

test("events from the start, then resumed from a printed cursor: each job once", async () => {
  const prefix = testPrefix();
  await using q = await openQueue({ prefix });
  const w = await startWorker({ prefix, tasks: [noop] });
  const ids: string[] = [];
  try {
    for (let n = 0; n < 4; n++) ids.push(await q.enqueue(noop, { n }));
    await q.waitForJobs(ids, { timeoutMs: 10_000 });
  } finally {
    await w.stop();
  }
  const events = (...args: string[]) =>
    runCli("queue", ["events", "default", "--prefix", prefix, ...args]);
  const first = await events("--from", "start", "--count", "2", "--json");
  expect(first).toMatchObject({ code: 0, stderr: "" });
  const seen = first.stdout
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as Line);
  expect(seen.map((e) => e.type)).toEqual(["finished", "finished"]);

  const rest = await events("--from", seen[1]!.cursor, "--count", "2", "--json");
  expect(rest).toMatchObject({ code: 0, stderr: "" });
  const more = rest.stdout
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as Line);
  expect([...seen, ...more].map((e) => e.id).sort()).toEqual([...ids].sort());

  // Text: one line an event, the cursor last.
  const text = await events("--from", "start", "--count", "1");
  expect(text.code).toBe(0);
  expect(text.stdout).toMatch(/^\S+ {2}finished {2}\S+ .*cursor=\S+\n$/);
});

test.each([
  [["--from", "not-a-cursor"], 2, /cursor/],
  [["--count", "0"], 2, /count/],
])(
  "queue.ts events default %p: exit %p, one line (and the pointer to --help)",
  async (args, code, message) => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix });
    await q.enqueue(noop, { n: 0 }); // the queue exists
    const r = await runCli("queue", ["events", "default", "--prefix", prefix, ...args]);
    expect(r.code).toBe(code);
    const [line, ...more] = r.stderr.trim().split("\n");
    expect(line).toMatch(message);
    expect(more).toEqual(["Run with --help to see the options."]);
  },
);

test("a cursor at the last id a stream may hold (nothing can come after it): exit 2, not a wait forever", async () => {
  const prefix = testPrefix();
  await using q = await openQueue({ prefix });
  await q.enqueue(noop, { n: 0 });
  const last = "18446744073709551615-18446744073709551615";
  const cursor = `v1:${queueTag(prefix, "default")}:${Array(q.shards).fill(last).join(",")}`;
  const r = await runCli("queue", ["events", "default", "--prefix", prefix, "--from", cursor], {
    timeoutMs: 10_000,
  });
  expect(r.code).toBe(2);
  expect(r.stderr.split("\n")[0]).toContain("with no entry after it");
});

test("events of no such queue: exit 4", async () => {
  const r = await runCli("queue", ["events", "nothing-here", "--prefix", testPrefix()]);
  expect(r.code).toBe(4);
  expect(r.stderr).toMatch(/no queue/);
});
