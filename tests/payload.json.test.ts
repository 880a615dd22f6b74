// A payload is checked as JSON.stringify serialises it: what it cannot serialise (a BigInt, a
// function, a Symbol, a toJSON returning undefined, a toJSON, getter or Proxy that throws) is an
// InputError in one line, not a raw TypeError; what a toJSON produces is what the depth and
// number checks judge (a 5,000-deep array, a NaN). A schedule's payload: the same rule.
import { describe, expect, test } from "bun:test";
import { InputError } from "../lib/errors.ts";
import { jsonDepthProblem, PAYLOAD_DEPTH_MAX } from "../lib/queue/payload-depth.ts";
import { prepareJob } from "../lib/queue/prepare.ts";
import { checkSpec } from "../lib/schedule/spec.ts";
import { openQueue, testPrefix } from "./helpers.ts";

const deepArray = (depth: number) => {
  let p: unknown = 1;
  for (let i = 0; i < depth; i++) p = [p];
  return p;
};
const NOTHING =
  "the payload is no JSON value: a function, a Symbol, or a toJSON that returns undefined";
const CANNOT = "the payload cannot be written as JSON: ";
const DEEP = /^the payload nests too deeply: more than 1000 levels/;

const cases: [string, () => unknown, string | RegExp][] = [
  ["a function", () => () => 1, NOTHING],
  ["a Symbol", () => Symbol("s"), NOTHING],
  ["a toJSON returning undefined", () => ({ toJSON: () => undefined }), NOTHING],
  ["a BigInt", () => ({ n: 10n }), `${CANNOT}JSON.stringify cannot serialize BigInt.`],
  [
    "a toJSON that throws",
    () => ({
      toJSON() {
        throw new Error("toJSON boom");
      },
    }),
    `${CANNOT}toJSON boom`,
  ],
  [
    "a getter that throws",
    () => ({
      get x() {
        throw new Error("getter boom");
      },
    }),
    `${CANNOT}getter boom`,
  ],
  [
    "a Proxy whose ownKeys throws",
    () =>
      new Proxy(
        {},
        {
          ownKeys() {
            throw new Error("proxy boom");
          },
        },
      ),
    `${CANNOT}proxy boom`,
  ],
  ["a toJSON yielding 5,000 levels", () => ({ toJSON: () => deepArray(5_000) }), DEEP],
  [
    "a toJSON yielding NaN",
    () => ({ a: { toJSON: () => Number.NaN } }),
    "the payload holds a number JSON cannot carry (NaN) at payload.a: it would be stored as null",
  ],
  [
    "a toJSON yielding an Infinity inside",
    () => ({ list: [1, { toJSON: () => ({ x: Number.POSITIVE_INFINITY }) }] }),
    "the payload holds a number JSON cannot carry (Infinity) at payload.list[1].x: it would be stored as null",
  ],
];

describe("a job's payload", () => {
  test.each(cases)("%s: InputError", (_name, payload, message) => {
    const err = (() => {
      try {
        prepareJob({ task: "t", payload: payload() }, { maxAttempts: 3 });
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(InputError);
    if (typeof message === "string") expect((err as Error).message).toBe(message);
    else expect((err as Error).message).toMatch(message);
  });

  test("what a toJSON returns is what is stored, and checked", () => {
    const o = { maxAttempts: 3 };
    const at = { toJSON: () => deepArray(PAYLOAD_DEPTH_MAX) };
    expect(prepareJob({ task: "t", payload: at }, o).payload).toBe(JSON.stringify(at));
    expect(prepareJob({ task: "t", payload: new Date(0) }, o).payload).toBe(
      '"1970-01-01T00:00:00.000Z"',
    );
    expect(prepareJob({ task: "t", payload: { a: null, b: [null] } }, o).payload).toBe(
      '{"a":null,"b":[null]}',
    );
  });

  test("Queue.enqueue rejects with InputError, nothing stored", async () => {
    await using q = await openQueue({ prefix: testPrefix() });
    await expect(q.enqueue("t", { n: 1n }, { id: "j1" })).rejects.toThrow(InputError);
    expect(await q.getJob("j1")).toBeNull();
  });
});

describe("the depth of a JSON text", () => {
  test("brackets in strings are no level; escaped quotes do not end a string", () => {
    const n = PAYLOAD_DEPTH_MAX + 1;
    expect(jsonDepthProblem(JSON.stringify(deepArray(n)))).toMatch(DEEP);
    expect(jsonDepthProblem(JSON.stringify(deepArray(PAYLOAD_DEPTH_MAX)))).toBeUndefined();
    expect(jsonDepthProblem(JSON.stringify(["[".repeat(5_000)]))).toBeUndefined();
    expect(jsonDepthProblem(JSON.stringify([`\\"${"{".repeat(5_000)}`]))).toBeUndefined();
    expect(jsonDepthProblem(JSON.stringify(["\\", deepArray(n)]))).toMatch(DEEP);
  });
});

describe("a schedule's payload: the same rule", () => {
  test.each(cases)("%s: InputError", (_name, payload, message) => {
    const spec = { name: "s1", every: "5m", task: "t", payload: payload() };
    const err = (() => {
      try {
        checkSpec(spec, "default");
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(InputError);
    if (typeof message === "string") expect((err as Error).message).toBe(message);
    else expect((err as Error).message).toMatch(message);
  });
});
