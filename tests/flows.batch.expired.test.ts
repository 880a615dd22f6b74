// A batch whose jobs ended long before its last was sent (input streamed over `resultTtlS`, a
// slow `trigger --file -`): a job whose outcome expired meanwhile was refused as unknown, and
// the whole batch got no callback. The batch's own jobs were acknowledged by Redis: they are
// not checked again, and one whose outcome is gone reads as `unknown` (the drain tells it).
import { expect, test } from "bun:test";
import { enqueueCallback } from "../lib/cli/trigger-batch.ts";
import { InputError } from "../lib/errors.ts";
import { readParents } from "../lib/queue/parents.ts";
import type { Queue } from "../lib/queue/queue.ts";
import type { Redis } from "../lib/redis/connect.ts";
import { deliverJob, drainAll, finishJob } from "./fixtures/flows.ts";
import { keysOf, shardsOf } from "./fixtures/queue-shards.ts";
import { openQueue, rawRedis, testPrefix, until } from "./helpers.ts";

const client = (r: unknown) => r as Redis;

/** `id` delivered and finished, then its outcome gone, as its TTL would take it. */
async function endedAndExpired(q: Queue, id: string): Promise<void> {
  await using r = await rawRedis();
  const { k, entry } = await deliverJob(client(r), q, id);
  await finishJob(client(r), k, entry);
  await drainAll(client(r), q);
  const keys = keysOf(q, id);
  await r.sendCommand(["DEL", keys.resultPrefix + id, keys.recordPrefix + id]);
}

/** Two jobs of task t, queued. */
async function twoJobs(q: Queue): Promise<string[]> {
  const sent = await q.enqueueMany([
    { task: "t", payload: 1 },
    { task: "t", payload: 2 },
  ]);
  return sent.map((e) => e.id);
}

/** 120,000 ids naming `a` and `b` 60,000 times each: past a batch's 100,000, but for repeats. */
const eachTwice = (a: string, b: string) => [
  ...Array<string>(60_000).fill(a),
  ...Array<string>(60_000).fill(b),
];

async function statuses(q: Queue, callback: string): Promise<string[]> {
  await using r = await rawRedis();
  const seen: string[] = [];
  for await (const o of readParents(client(r), shardsOf(q), callback)) seen.push(o.status);
  return seen;
}

test("enqueueBatch: a job whose outcome expired before the last was sent reads as unknown", async () => {
  await using q = await openQueue({ prefix: testPrefix() });
  async function* slow() {
    yield { task: "t", payload: 1, id: "early" };
    await until(async () => (await q.getJob("early")) !== null, "the first job to be sent");
    await endedAndExpired(q, "early");
    yield { task: "t", payload: 2, id: "late" };
  }
  // biome-ignore lint/suspicious/noThenProperty: the option's name; a JobSpec, never a function
  const { ids, callbackId } = await q.enqueueBatch(slow(), { then: { task: "cb" } });
  expect(ids).toEqual(["early", "late"]);
  await using r = await rawRedis();
  await drainAll(client(r), q); // tells the callback its expired parent ended
  expect((await q.getJob(callbackId))?.status).toBe("waiting-for-parents");
  const { k, entry } = await deliverJob(client(r), q, "late");
  await finishJob(client(r), k, entry);
  await drainAll(client(r), q);
  expect((await q.getJob(callbackId))?.status).toBe("queued");
  expect(await statuses(q, callbackId)).toEqual(["unknown", "finished"]);
});

test("trigger --then's callback over its file's jobs, one of them expired: enqueued", async () => {
  await using q = await openQueue({ prefix: testPrefix() });
  const [a, b] = await twoJobs(q);
  await endedAndExpired(q, a!);
  const then = { task: "cb", payload: null, summary: false };
  // Each id a line gave, so twice when the file names a URL twice (--id-from-url): counted once.
  const lines = eachTwice(a!, b!);
  const { id, created } = await enqueueCallback(q, then, lines, { id: "the-callback" });
  expect([id, created]).toEqual(["the-callback", true]);
  expect((await q.getJob(id))?.status).toBe("waiting-for-parents");
  expect(await statuses(q, id)).toEqual(["unknown", "unknown"]); // b not ended: not read yet
  // The callback's own dependsOn is still checked: a typo there is refused, nothing written.
  // biome-ignore lint/suspicious/noThenProperty: the option's name; a JobSpec, never a function
  const typo = q.enqueueBatch([], { then: { task: "cb", dependsOn: ["no-such-job"] } });
  await expect(typo).rejects.toBeInstanceOf(InputError);
});

test.each([
  ["a string", "1-0", "enqueueBatch's enqueued must be an array of at most 100000 job ids"],
  ["a number in it", [1], "enqueueBatch's enqueued: 1 is not a job id"],
  ["an id with a space", ["a b"], 'enqueueBatch\'s enqueued: "a b" is not a job id'],
  // find() found no such element in these, and they passed: the callback's parents unchecked.
  ["a hole", [undefined], "enqueueBatch's enqueued: undefined is not a job id"],
  ["a function in it", [() => "1-0"], "enqueueBatch's enqueued: a function is not a job id"],
])("enqueued as %s is refused before anything is sent", async (_, enqueued, message) => {
  await using q = await openQueue({ prefix: testPrefix() });
  const call = q.enqueueBatch([{ task: "t", payload: 1 }], {
    // biome-ignore lint/suspicious/noThenProperty: the option's name; a JobSpec, never a function
    then: { task: "cb" },
    enqueued,
  } as never);
  await expect(call).rejects.toThrow(message);
  expect(await q.client.sendCommand(["XLEN", q.keys.stream])).toBe(0);
});

test("enqueued: an id of no shard of the queue is still refused (no shard would tell the callback)", async () => {
  await using q = await openQueue({ prefix: testPrefix(), shards: 2 });
  // biome-ignore lint/suspicious/noThenProperty: the option's name; a JobSpec, never a function
  const call = q.enqueueBatch([], { then: { task: "cb", id: "cb" }, enqueued: ["1-0:7"] });
  await expect(call).rejects.toThrow("dependsOn: job 1-0:7 is unknown in this queue");
  expect(await q.getJob("cb")).toBeNull();
});

test("enqueued's repeats count once toward a batch's 100,000, with jobs of its own too", async () => {
  await using q = await openQueue({ prefix: testPrefix() });
  const [a, b] = await twoJobs(q);
  const enqueued = eachTwice(a!, b!);
  const specs = [{ task: "t", payload: 3, id: "own" }];
  // biome-ignore lint/suspicious/noThenProperty: the option's name; a JobSpec, never a function
  const { callbackId } = await q.enqueueBatch(specs, { then: { task: "cb" }, enqueued });
  expect((await q.getJob(callbackId))?.status).toBe("waiting-for-parents");
  expect(await statuses(q, callbackId)).toEqual(["unknown", "unknown", "unknown"]);
});

test("enqueued naming the callback's own id is refused: the callback would wait for itself", async () => {
  await using q = await openQueue({ prefix: testPrefix() });
  const a = await q.enqueue("t", 1);
  // biome-ignore lint/suspicious/noThenProperty: the option's name; a JobSpec, never a function
  const call = q.enqueueBatch([], { then: { task: "cb", id: "self" }, enqueued: [a, "self"] });
  await expect(call).rejects.toThrow(
    "enqueueBatch's enqueued names the callback's own id self: it would wait for itself",
  );
  expect(await q.getJob("self")).toBeNull();
});
