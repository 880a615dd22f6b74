// `bin/queue.ts events NAME` end to end: a queue's events printed one a line (text or JSON),
// resumed from a printed cursor with nothing repeated, stopped by --count; and the mistakes
// that must fail with one line and the documented exit code.
import { expect, test } from "bun:test";
import { queueTag } from "../lib/queue/event-cursor.ts";
import { defineTask } from "../lib/types.ts";
import { openQueue, runCli, spawnCli, startWorker, testPrefix, until } from "./helpers.ts";

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

// Its reader gone (`| head -1`), it ends as on Ctrl-C, exit 0, as `info --watch` does: the write
// that failed ended its loop, and runCli then waited for an exit the closed pipe's handler had
// left to the SIGTERM it sent; it never ended, spinning a core.
test("events with the reader gone: ends at the next event, exit 0", async () => {
  const prefix = testPrefix();
  await using q = await openQueue({ prefix });
  const w = await startWorker({ prefix, tasks: [noop] });
  try {
    const first = await q.enqueue(noop, { n: 0 });
    await q.waitForJobs([first], { timeoutMs: 10_000 });
    const proc = spawnCli("queue", ["events", "default", "--prefix", prefix, "--from", "start"]);
    const reader = proc.stdout.getReader();
    await reader.read(); // the first event, then the reader goes away
    await reader.cancel();
    const stderr = new Response(proc.stderr).text();
    // Each event written now meets the closed pipe; the first of them ends it.
    await until(async () => {
      if (proc.exitCode !== null) return true;
      await q.enqueue(noop, { n: 1 });
      return false;
    }, "queue events to end once its reader has gone");
    expect(await proc.exited).toBe(0);
    expect(await stderr).toBe("");
  } finally {
    await w.stop();
  }
}, 30_000);
