// A reader that stops reading (a pager, a full pipe) holds a long output's producer back
// (lib/cli/write-out.ts): `cancel -` reads and cancels no further chunk, `schedule list` reads
// no further page, until the pipe is read again; then each finishes whole. How far each got is
// read in Redis (its calls, INFO commandstats), never guessed from the output.
import { expect, test } from "bun:test";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { scheduleKeys, shardKeys } from "../lib/engine/keys.ts";
import { Schedules } from "../lib/schedule/schedules.ts";
import {
  commandCalls,
  openQueue,
  rawRedis,
  spawnCliUnread,
  testPrefix,
  testShards,
  until,
} from "./helpers.ts";

/**
 * `count()` once it has stopped changing. A stalled producer cannot be seen, only the absence of
 * its progress: read until several reads in a row agree. A producer that is merely slow ends
 * the wait early and the bound asserted after still holds; one that never stalls runs to its end.
 */
async function whenStill(count: () => Promise<number>): Promise<number> {
  let last = await count();
  for (let same = 0; same < 10; ) {
    await Bun.sleep(50);
    const now = await count();
    same = now === last ? same + 1 : 0;
    last = now;
  }
  return last;
}

/** Reads a stream to its end. */
function text(stream: ReadableStream<Uint8Array>): Promise<string> {
  return new Response(stream).text();
}

test("cancel - --json: an unread stdout holds the cancels back; once read, every id is answered", async () => {
  const prefix = testPrefix();
  await using r = await rawRedis();
  // 30,000 ids of no job: a cancel.lua call per 100, each answered by a JSON line (~40 bytes).
  const n = 30_000;
  const ids = Array.from({ length: n }, (_, i) => `slow-${i}`);
  const calls = async () => (await commandCalls(r, "evalsha")) - before;
  const before = await commandCalls(r, "evalsha");
  const file = join(tmpdir(), `${prefix}.ids`);
  await Bun.write(file, `${ids.join("\n")}\n`);
  const { proc: cancel, release } = spawnCliUnread(
    "cancel",
    ["-", "--json", "--prefix", prefix],
    file,
  );
  await until(async () => (await calls()) >= 10, "the first chunk canceled");
  // The pipe (64 KiB) and one chunk's lines held: a few thousand ids, nowhere near all 300 calls.
  const held = await whenStill(calls);
  expect(held).toBeLessThan(n / 100 / 3);
  expect(cancel.exitCode).toBeNull();
  release();

  const [out, err, code] = await Promise.all([
    text(cancel.stdout),
    text(cancel.stderr),
    cancel.exited,
  ]);
  expect(err).toBe("");
  expect(code).toBe(4); // every id unknown
  const lines = out.trimEnd().split("\n");
  expect(lines.length).toBe(n);
  expect(JSON.parse(lines.at(-1)!)).toEqual({ id: ids.at(-1), verdict: "unknown" });
  expect(await calls()).toBeGreaterThanOrEqual(n / 100);
});

test("schedule list --json: an unread stdout holds the next page back; once read, one whole document", async () => {
  const prefix = testPrefix();
  await using q = await openQueue({ prefix });
  await using r = await rawRedis();
  const s = new Schedules(q.client, prefix, "q");
  // 12 pages of 500 schedules, each page's JSON ~100 KB: more than the pipe holds.
  const n = 6_000;
  const names = Array.from({ length: n }, (_, i) => `s${String(i).padStart(5, "0")}`);
  await Promise.all(names.map((name) => s.add({ name, every: "1h", task: "t" })));
  const near = scheduleKeys(prefix).names("q");
  const before = await commandCalls(r, "zrange", near);
  const pages = async () => (await commandCalls(r, "zrange", near)) - before;

  const args = ["list", "--json", "--queue", "q", "--prefix", prefix];
  const { proc: list, release } = spawnCliUnread("schedule", args);
  await until(async () => (await pages()) >= 1, "the first page read");
  const held = await whenStill(pages);
  expect(held).toBeLessThanOrEqual(3);
  expect(list.exitCode).toBeNull();
  release();

  const [out, err, code] = await Promise.all([text(list.stdout), text(list.stderr), list.exited]);
  expect(err).toBe("");
  expect(code).toBe(0);
  const listed = JSON.parse(out).schedules.map((x: { name: string }) => x.name);
  expect(listed).toEqual(names);
  expect(await pages()).toBe(n / 500 + 1); // the last, empty, says the end
});

// `queue events --from start` of a long events stream wrote each line with no wait (C1's note):
// a stalled reader let it read every page into memory. It waits for stdout's drain now, so its
// reads (100 entries an XRANGE) stop with the pipe.
test("queue events --from start: an unread stdout holds the reads back; once read, every event", async () => {
  const prefix = testPrefix();
  await using q = await openQueue({ prefix });
  await q.enqueue("t", null); // the queue exists
  await using r = await rawRedis();
  const events = shardKeys(prefix, "default", testShards() ?? 1)[0]!.events;
  // 20,000 events of one job each (a finish names its batch's jobs): a JSON line of ~150 bytes.
  const n = 20_000;
  for (let i = 0; i < n; i += 1_000) {
    const adds = Array.from({ length: 1_000 }, (_, k) => [
      "XADD",
      events,
      "*",
      "type",
      "finished",
      "ids",
      `job-${i + k}`,
    ]);
    await Promise.all(adds.map((a) => r.sendCommand(a)));
  }
  const before = await commandCalls(r, "xrange", events);
  const reads = async () => (await commandCalls(r, "xrange", events)) - before;
  const args = ["events", "default", "--from", "start", "--json", "--count", String(n)];
  const { proc, release } = spawnCliUnread("queue", [...args, "--prefix", prefix]);
  await until(async () => (await reads()) >= 1, "the first read");
  const held = await whenStill(reads);
  expect(held).toBeLessThan(n / 100 / 3);
  expect(proc.exitCode).toBeNull();
  release();
  const [out, code] = await Promise.all([text(proc.stdout), proc.exited]);
  expect(code).toBe(0);
  const lines = out.trimEnd().split("\n");
  expect(lines).toHaveLength(n);
  expect(JSON.parse(lines.at(-1)!)).toMatchObject({ type: "finished", id: `job-${n - 1}` });
});
