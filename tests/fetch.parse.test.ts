// The start script's flat reply and the history fields, read back: pure, tested with tables.
import { describe, expect, test } from "bun:test";
import { parseStarts } from "../lib/engine/calls/start.ts";
import { parseHistory } from "../lib/engine/record.ts";

describe("parseStarts", () => {
  const cases: [string, (string | number)[], ReturnType<typeof parseStarts>][] = [
    ["nothing", [], { toRun: [], setAside: [] }],
    [
      "one job to run",
      ["1-0", "j1", 3, 2, 5, "add", '{"a":1}'],
      {
        toRun: [
          {
            entryId: "1-0",
            jobId: "j1",
            runNo: 3,
            attempt: 2,
            maxAttempts: 5,
            task: "add",
            payload: '{"a":1}',
          },
        ],
        setAside: [],
      },
    ],
    [
      "entries set aside between jobs to run",
      ["1-0", "", "bad", "2-0", "j2", 1, 1, 3, "t", "null", "3-0", "j3", "done"],
      {
        toRun: [
          {
            entryId: "2-0",
            jobId: "j2",
            runNo: 1,
            attempt: 1,
            maxAttempts: 3,
            task: "t",
            payload: "null",
          },
        ],
        setAside: [
          { entryId: "1-0", jobId: "", verdict: "bad" },
          { entryId: "3-0", jobId: "j3", verdict: "done" },
        ],
      },
    ],
    [
      "every verdict",
      ["1-0", "a", "missing", "2-0", "b", "dead"],
      {
        toRun: [],
        setAside: [
          { entryId: "1-0", jobId: "a", verdict: "missing" },
          { entryId: "2-0", jobId: "b", verdict: "dead" },
        ],
      },
    ],
  ];
  test.each(cases)("%s", (_name, reply, expected) => {
    expect(parseStarts(reply)).toEqual(expected);
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
