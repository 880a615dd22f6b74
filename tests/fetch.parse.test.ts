// What a read delivered, sorted into jobs to run, entries to bury and tasks lacked, and the
// history fields, read back: pure, tested with tables.
import { describe, expect, test } from "bun:test";
import type { TakenEntry } from "../lib/engine/finish.ts";
import { parseHistory } from "../lib/engine/record.ts";
import { type Sorted, type Startable, sortFresh } from "../lib/worker/entries.ts";

describe("sortFresh: what a plain read delivered, sorted", () => {
  const tasks = new Set(["add", "t"]);
  const job = (entryId: string, f: Partial<Startable>) => ({
    entryId,
    jobId: entryId,
    task: "t",
    payload: "null",
    attempt: 1,
    maxAttempts: 3,
    runNo: 1,
    hasRecord: false,
    deliveries: 1,
    ...f,
  });
  const cases: [string, TakenEntry[], Sorted][] = [
    ["nothing", [], { run: [], bad: [], lacked: [] }],
    [
      "one job to run: attempt a + 1, run n + 1",
      [["1-0", ["t", "add", "p", '{"a":1}', "a", "1", "m", "5", "i", "j1", "n", "2"]]],
      {
        run: [
          job("1-0", {
            jobId: "j1",
            task: "add",
            payload: '{"a":1}',
            attempt: 2,
            maxAttempts: 5,
            runNo: 3,
            hasRecord: true,
          }),
        ],
        bad: [],
        lacked: [],
      },
    ],
    [
      "bad entries and tasks lacked between jobs to run",
      [
        ["1-0", ["garbage", "yes"]],
        ["2-0", ["t", "t", "p", "null", "a", "0", "m", "3"]],
        ["3-0", ["t", "resize", "p", "1", "a", "0", "m", "3"]],
        ["4-0", ["t", "t", "p", "null", "a", "3", "m", "3"]],
      ],
      {
        run: [job("2-0", {})],
        bad: [
          { entryId: "1-0", id: "1-0", problem: "no task" },
          { entryId: "4-0", id: "4-0", problem: "attempts used up (3 of 3)" },
        ],
        lacked: [{ entryId: "3-0", jobId: "3-0", task: "resize" }],
      },
    ],
  ];
  test.each(cases)("%s", (_name, entries, expected) => {
    expect(sortFresh(entries, tasks)).toEqual(expected);
  });
});

describe("parseHistory", () => {
  const cases: [string, Record<string, string>, ReturnType<typeof parseHistory>][] = [
    ["no runs", { status: "queued", task: "t" }, []],
    [
      "a run that finished",
      { "h:1": "1 1000 host:42", "h:1:e": "1250 finished" },
      [
        {
          attempt: 1,
          worker: "host:42",
          startedAt: 1000,
          endedAt: 1250,
          error: null,
          outcome: "finished",
        },
      ],
    ],
    [
      "a failure, then a run cut short (no end), oldest first whatever the field order",
      { "h:2": "2 3000 w 2", "h:1:x": "boom", "h:1:e": "2000 retrying", "h:1": "1 1000 w 1" },
      [
        {
          attempt: 1,
          worker: "w 1",
          startedAt: 1000,
          endedAt: 2000,
          error: "boom",
          outcome: "retrying",
        },
        { attempt: 2, worker: "w 2", startedAt: 3000, endedAt: null, error: null, outcome: null },
      ],
    ],
    [
      "a dead letter requeued after its record expired: start and worker unknown",
      { "h:1": "3  ", "h:1:e": "5000 failed", "h:1:x": "gone" },
      [
        {
          attempt: 3,
          worker: null,
          startedAt: null,
          endedAt: 5000,
          error: "gone",
          outcome: "failed",
        },
      ],
    ],
    [
      "runs past 9 sort as numbers; other fields are not history",
      { "h:10": "10 10 w", "h:9": "9 9 w", hits: "3", "h:9:q": "?" },
      [
        { attempt: 9, worker: "w", startedAt: 9, endedAt: null, error: null, outcome: null },
        { attempt: 10, worker: "w", startedAt: 10, endedAt: null, error: null, outcome: null },
      ],
    ],
  ];
  test.each(cases)("%s", (_name, fields, expected) => {
    expect(parseHistory(new Map(Object.entries(fields)))).toEqual(expected);
  });
});
