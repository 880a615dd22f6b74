// requeue.lua writes the run that failed for good back into the record, its start computed from
// the failed value's end and run time: written in digits whatever the stored end (no `%d`, which
// is wrong past 2^63), as include/history.lua's int() writes every number.
import { expect, test } from "bun:test";
import { failJobs } from "../lib/engine/fail.ts";
import { requeueLetters } from "../lib/engine/requeue.ts";
import { deliver, engineQueue, hgetall, plant } from "./fixtures/plant.ts";

const OPTS = { consumer: "w1", failureTtlS: 600, deadMaxLen: 1000, eventsMaxLen: 1000 };

test("a failed value whose end is past 2^63 gives the requeued run's start in digits", async () => {
  await using v = await engineQueue();
  const entry = await plant(v, { t: "echo", p: '"x"', a: 2, m: 3 });
  await deliver(v, "w1");
  const failed = { entry, id: null, hasRecord: false, runNo: 1, runMs: 7, retryInMs: null };
  await failJobs(v.client, v.k, OPTS, [{ ...failed, error: "broke" }]);
  const letters = (await v.r.sendCommand(["XRANGE", v.k.dead, "-", "+"])) as [string, string[]][];
  const letter = letters[0]![0];
  // The stored value, edited by hand: an end no clock gives, 7 ms of run.
  const value = String(await v.r.sendCommand(["GET", v.k.resultPrefix + entry]));
  const huge = "99999999999999999999";
  await v.r.sendCommand(["SET", v.k.resultPrefix + entry, value.replace(/^X\d+ /, `X${huge} `)]);
  expect(await requeueLetters(v.client, v.k, [{ letter, id: null }], 3)).toEqual([
    { id: entry, verdict: "requeued" },
  ]);
  const rec = await hgetall(v, v.k.recordPrefix + entry);
  const [attempt, start, worker] = rec["h:1"]!.split(" ");
  expect([attempt, worker]).toEqual(["3", "w1"]);
  expect(start).toMatch(/^\d+$/);
  expect(Number(start)).toBe(Number(huge) - 7);
  expect(rec["h:1:e"]).toBe(`${huge} failed`);
});

// A letter written by hand whose id no job may have (`../x`): it made `job:../x` and a stream
// entry of it. Kept now, and said unreadable; nothing written for it.
test("a letter naming no job id Courier takes is unreadable: nothing written, the letter kept", async () => {
  await using v = await engineQueue();
  const letter = String(
    await v.r.sendCommand(["XADD", v.k.dead, "*", "id", "../x", "task", "", "payload", "{bad"]),
  );
  const [reply] = await requeueLetters(v.client, v.k, [{ letter, id: null }], 3);
  expect(reply).toEqual({
    id: "../x",
    verdict: "unreadable",
    reason: `courier: dead letter ${letter} names no job: its id is not one Courier takes`,
  });
  expect(await v.r.sendCommand(["XLEN", v.k.stream])).toBe(0);
  expect(await v.r.sendCommand(["EXISTS", `${v.k.recordPrefix}../x`])).toBe(0);
  expect(await v.r.sendCommand(["XLEN", v.k.dead])).toBe(1);
});

// A letter with no id field at all, met by `requeue --all` (no id asked for): answered missing,
// it was counted nowhere, and `requeue --all` said fewer letters left than stayed (RR2).
test("a letter with no id field is unreadable to requeue --all: kept, and said", async () => {
  await using v = await engineQueue();
  const letter = String(await v.r.sendCommand(["XADD", v.k.dead, "*", "junk", "1"]));
  const [reply] = await requeueLetters(v.client, v.k, [{ letter, id: null }], 3);
  expect(reply).toEqual({
    id: "",
    verdict: "unreadable",
    reason: `courier: dead letter ${letter} names no job: it has no id`,
  });
  expect(await v.r.sendCommand(["XLEN", v.k.dead])).toBe(1);
  expect(await v.r.sendCommand(["XLEN", v.k.stream])).toBe(0);
  // Asked for by a job id, the same letter is that job's no more than any other's: missing.
  expect(await requeueLetters(v.client, v.k, [{ letter, id: "1-1" }], 3)).toEqual([
    { id: "1-1", verdict: "missing" },
  ]);
});

// A stream that can take no more ids (its last id written by hand at 2^64-1): the requeue's XADD
// failed after the letter's XDEL, and Redis kept the deletion: the job lost to a record saying
// `queued` (R-193's promote case). Refused before anything is written now, the letter kept.
test("a stream with no ids left: the requeue is refused whole, the letter kept", async () => {
  await using v = await engineQueue();
  const entry = await plant(v, { t: "echo", p: '"x"', a: 2, m: 3 });
  await deliver(v, "w1");
  const failed = { entry, id: null, hasRecord: false, runNo: 1, runMs: 7, retryInMs: null };
  await failJobs(v.client, v.k, OPTS, [{ ...failed, error: "broke" }]);
  const letters = (await v.r.sendCommand(["XRANGE", v.k.dead, "-", "+"])) as [string, string[]][];
  const MAX = "18446744073709551615-18446744073709551615";
  await v.r.sendCommand(["XADD", v.k.stream, MAX, "x", "1"]);
  const err = await requeueLetters(v.client, v.k, [{ letter: letters[0]![0], id: null }], 3).catch(
    (e: unknown) => e,
  );
  expect(String(err)).toContain(`stream ${v.k.stream} has no ids left`);
  expect(await v.r.sendCommand(["XLEN", v.k.dead])).toBe(1);
  expect(await v.r.sendCommand(["EXISTS", v.k.recordPrefix + entry])).toBe(0);
});
