// The engine's formats, without Redis: entry validation (what gets buried, and why), the outcome
// value read back as written, and the id forms.
import { describe, expect, test } from "bun:test";
import { parseEntry } from "../lib/engine/entry.ts";
import { autoIdMs, callerIdProblem, isAutoId, shardOf } from "../lib/engine/keys.ts";
import { parseOutcome, runTail } from "../lib/engine/outcome.ts";

const E = "1764423456789-3";

describe("entry check", () => {
  const cases: [string, string[], string | null][] = [
    ["the common entry", ["t", "t", "p", "{}", "a", "0", "m", "3"], null],
    [
      "with id, runs, options",
      ["t", "t", "p", "1", "a", "2", "m", "3", "i", "x-1", "n", "4", "o", "{}"],
      null,
    ],
    ["no task", ["p", "{}", "a", "0", "m", "3"], "no task"],
    ["empty task", ["t", "", "p", "{}", "a", "0", "m", "3"], "no task"],
    ["no payload", ["t", "t", "a", "0", "m", "3"], "no payload"],
    ["no attempt count", ["t", "t", "p", "1", "m", "3"], "no attempt count"],
    [
      "attempt garbled",
      ["t", "t", "p", "1", "a", "1.5", "m", "3"],
      "attempt count is not a number",
    ],
    ["attempt hex", ["t", "t", "p", "1", "a", "0x1", "m", "3"], "attempt count is not a number"],
    ["no max", ["t", "t", "p", "1", "a", "0"], "no max_attempts"],
    [
      "max 0",
      ["t", "t", "p", "1", "a", "0", "m", "0"],
      "max_attempts is not a number of 1 or more",
    ],
    ["used up", ["t", "t", "p", "1", "a", "3", "m", "3"], "attempts used up (3 of 3)"],
    ["bad id", ["t", "t", "p", "1", "a", "0", "m", "3", "i", "a b"], "job id is not valid"],
    ["bad runs", ["t", "t", "p", "1", "a", "0", "m", "3", "n", "-1"], "runs is not a number"],
  ];
  test.each(cases)("%s", (_, fields, problem) => {
    const c = parseEntry(E, fields);
    expect(c.ok ? null : c.problem).toBe(problem);
  });

  test("a good entry as a job; the id is `i`, else the entry id", () => {
    expect(parseEntry(E, ["t", "t", "p", "{}", "a", "1", "m", "3"])).toEqual({
      ok: true,
      job: {
        entryId: E,
        jobId: E,
        task: "t",
        payload: "{}",
        attemptsBefore: 1,
        maxAttempts: 3,
        runsBefore: 0,
        options: null,
        hasRecord: false,
      },
    });
    const given = parseEntry(E, ["t", "t", "p", "{}", "a", "0", "m", "3", "i", "job-9", "n", "2"]);
    expect(given.ok && given.job).toMatchObject({ jobId: "job-9", runsBefore: 2, hasRecord: true });
    expect(parseEntry(E, ["t", "t", "i", "job-9"])).toMatchObject({ ok: false, id: "job-9" });
    expect(parseEntry(E, ["t", "t", "i", "a b"])).toMatchObject({ ok: false, id: "" });
  });

  test("a field given twice counts as its last; other names, and an odd last name, are ignored", () => {
    const twice = parseEntry(E, ["t", "a", "p", "1", "a", "0", "m", "3", "t", "b", "a", "2"]);
    expect(twice.ok && twice.job).toMatchObject({ task: "b", attemptsBefore: 2 });
    const others = ["x", "1", "constructor", "1", "toString", "z", "__proto__", "q", "tt", "2"];
    const c = parseEntry(E, ["t", "t", "p", "{}", ...others, "a", "0", "m", "3", "k"]);
    expect(c.ok && c.job).toEqual({
      entryId: E,
      jobId: E,
      task: "t",
      payload: "{}",
      attemptsBefore: 0,
      maxAttempts: 3,
      runsBefore: 0,
      options: null,
      hasRecord: false,
    });
    expect(parseEntry(E, ["p", "{}", "a", "0", "m", "3", "constructor", "x"])).toMatchObject({
      ok: false,
      problem: "no task",
    });
  });
});

describe("outcome value", () => {
  test("a finished value reads back as written (names with spaces and newlines, payload newlines)", () => {
    // runTail's arguments: run ms, attempt, max, enqueued ms, worker, task, payload, result.
    const tail = runTail(
      41.6,
      2,
      5,
      1764423456000,
      "host a\n1",
      "re size",
      '{"a":\n1}',
      '{"lines":"x\\ny"}\nmore',
    );
    expect(parseOutcome(`F1764423459999 ${tail}`)).toEqual({
      status: "finished",
      endedAt: 1764423459999,
      runMs: 42,
      attempt: 2,
      maxAttempts: 5,
      enqueuedAt: 1764423456000,
      letter: null,
      worker: "host a\n1",
      task: "re size",
      payload: '{"a": 1}',
      text: '{"lines":"x\\ny"}\nmore',
    });
  });

  test("a pretty-printed payload (raw CR/LF) stays valid JSON with the same value", () => {
    const payload = JSON.stringify({ a: [1, "x\ny"], b: { c: true } }, null, 2).replaceAll(
      "\n",
      "\r\n",
    );
    const tail = runTail(1, 1, 1, null, "w", "t", payload, "null");
    const back = parseOutcome(`F1 ${tail}`);
    expect(back?.payload).not.toMatch(/[\r\n]/);
    expect(JSON.parse(back!.payload)).toEqual({ a: [1, "x\ny"], b: { c: true } });
  });

  test("each tail names its own worker and task, whatever the tail before it named", () => {
    const names = [
      ["w1", "a"],
      ["w1", "b"],
      ['w"2', "b"],
      ["w1", "a"],
    ] as const;
    for (const [worker, task] of names) {
      const back = parseOutcome(`F1 ${runTail(1, 1, 1, null, worker, task, "1\r2", "null")}`);
      expect(back).toMatchObject({ worker, task, payload: "1 2" });
    }
  });

  test("a failed value with unknown parts", () => {
    const v = 'X1764423459999 - 0 - - 1764423459999-0 "w"\n"t"\n{}\ncorrupt record: no max\nline 2';
    expect(parseOutcome(v)).toEqual({
      status: "failed",
      endedAt: 1764423459999,
      runMs: null,
      attempt: 0,
      maxAttempts: null,
      enqueuedAt: null,
      letter: "1764423459999-0",
      worker: "w",
      task: "t",
      payload: "{}",
      text: "corrupt record: no max\nline 2",
    });
  });

  test.each([
    "",
    "F",
    'Fx 1 1 1 - "w"\n"t"\n1\n1',
    'F1 1 1 1 -\n"t"\n1\n1',
    'Q1 1 1 1 - "w"\n"t"\n1\n1',
    'F1 1 1 1 - "w"\n"t"',
  ])("not an outcome: %j", (v) => expect(parseOutcome(v)).toBeNull());
});

describe("ids", () => {
  test("caller ids: the auto-id form and bad characters refused, one line each", () => {
    expect(callerIdProblem("order-7")).toBeNull();
    expect(callerIdProblem("1764423456789-0a")).toBeNull();
    expect(callerIdProblem("123-4")).toBe(
      'job id "123-4" has the form of an id Courier makes (digits-digits): add a letter',
    );
    expect(callerIdProblem("123-4:2")).toContain("has the form of an id Courier makes");
    expect(callerIdProblem("a b")).toBe('job id "a b" must be 1-128 letters, digits or _.:-');
    // A schedule's tick job's prefix: a scheduler's only (no caller's job takes a tick's place).
    expect(callerIdProblem("sched:a:1")).toBe(
      'job id "sched:a:1" starts with sched:, which is reserved for the jobs of recurring schedules',
    );
    expect(callerIdProblem("sched:a:1", true)).toBeNull();
    expect(callerIdProblem("schedule:a")).toBeNull();
  });

  test("auto ids carry their enqueue time; one shard", () => {
    expect(isAutoId(E)).toBe(true);
    expect(isAutoId("order-7")).toBe(false);
    expect(autoIdMs(E)).toBe(1764423456789);
    expect(autoIdMs("order-7")).toBeNull();
    expect(shardOf(E, 1)).toBe(0);
  });
});
