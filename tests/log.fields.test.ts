// createLogger (lib/log.ts), the CLI worker's logger and a library's: a field of any value a task
// logs (`ctx.log("warn", "parse failed", { err })`) is written, in both formats, and no field
// loses its line; a format it does not write, or a write that is no function, is refused.
import { describe, expect, test } from "bun:test";
import { ConfigError, createLogger } from "../lib/index.ts";

const circular: Record<string, unknown> = { a: 1 };
circular.self = circular;
const shared = { n: 1 };
// A database's error: its code and detail are fields of its own, beside the message.
const dbError = Object.assign(new Error("duplicate key"), { code: "23505", detail: "id=1" });
const selfError: Error & { self?: unknown } = new RangeError("loop");
selfError.self = selfError;
const throwing = {
  get value() {
    throw new Error("getter boom");
  },
};

// [what, fields, the human line's fields, the JSON line's fields]
const cases: [string, Record<string, unknown>, string, Record<string, unknown>][] = [
  ["an Error", { err: new Error("boom") }, "err=boom", { err: "boom" }],
  [
    "an Error of a class",
    { err: new SyntaxError("bad JSON") },
    'err="SyntaxError: bad JSON"',
    { err: "SyntaxError: bad JSON" },
  ],
  [
    "a BigInt",
    { rows: 12345678901234567890n },
    "rows=12345678901234567890",
    { rows: "12345678901234567890" },
  ],
  [
    "an Error with fields of its own (a code): kept beside its text",
    { err: dbError },
    'err="{\\"message\\":\\"duplicate key\\",\\"code\\":\\"23505\\",\\"detail\\":\\"id=1\\"}"',
    { err: { message: "duplicate key", code: "23505", detail: "id=1" } },
  ],
  [
    "an Error that contains itself",
    { err: selfError },
    'err="{\\"message\\":\\"RangeError: loop\\",\\"self\\":\\"[Circular]\\"}"',
    { err: { message: "RangeError: loop", self: "[Circular]" } },
  ],
  [
    "an object that contains itself",
    { req: circular },
    'req="{\\"a\\":1,\\"self\\":\\"[Circular]\\"}"',
    { req: { a: 1, self: "[Circular]" } },
  ],
  [
    "one object twice, which is no cycle",
    { pair: { a: shared, b: shared } },
    'pair="{\\"a\\":{\\"n\\":1},\\"b\\":{\\"n\\":1}}"',
    { pair: { a: { n: 1 }, b: { n: 1 } } },
  ],
  [
    "a Date",
    { at: new Date(0) },
    "at=1970-01-01T00:00:00.000Z",
    { at: "1970-01-01T00:00:00.000Z" },
  ],
  [
    "a getter that throws",
    { bad: throwing },
    'bad="not written: getter boom"',
    { bad: "not written: getter boom" },
  ],
  [
    "a getter that throws beside other fields: they are kept (a ctx.log's job and task)",
    { job: "1-0", bad: throwing, n: 10n },
    'job=1-0 bad="not written: getter boom" n=10',
    { job: "1-0", bad: "not written: getter boom", n: "10" },
  ],
];

describe("createLogger writes every field", () => {
  test.each(cases)("%s", (_, fields, human, json) => {
    const lines: string[] = [];
    createLogger("human", (l) => lines.push(l)).log("warn", "event", fields);
    createLogger("json", (l) => lines.push(l)).log("warn", "event", fields);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toEndWith(` WARN event ${human}`);
    const { time: _time, ...rest } = JSON.parse(lines[1]!);
    expect(rest).toEqual({ level: "warn", event: "event", ...json });
  });
});

test("no fields (null) is a line with none, in either format", () => {
  const lines: string[] = [];
  const log = (f: "human" | "json") => createLogger(f, (l) => lines.push(l));
  for (const f of ["human", "json"] as const) log(f).log("warn", "event", null as never);
  expect(lines[0]).toEndWith(" WARN event");
  expect(JSON.parse(lines[1]!)).toMatchObject({ level: "warn", event: "event" });
  expect(Object.keys(JSON.parse(lines[1]!))).toEqual(["time", "level", "event"]);
});

describe("createLogger's arguments", () => {
  test.each([
    [["JSON"], 'log format must be human or json, got "JSON"'],
    [["text"], 'log format must be human or json, got "text"'],
    [["json", "stdout"], 'write must be a function, got "stdout"'],
    [["json", undefined, 5], "now must be a function, got 5"],
  ])("refuses %j: a ConfigError, not human lines unsaid or every line lost", (args, message) => {
    const create = createLogger as (...a: unknown[]) => unknown;
    const err = (() => {
      try {
        create(...args);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toBe(message);
  });
});
