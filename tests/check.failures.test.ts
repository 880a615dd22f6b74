// The failed tests `bun run check` repeats at its end (scripts/_failed-tests.ts), from bun's
// output as bun 1.4 prints it: pure, tested with its text.
import { expect, test } from "bun:test";
import { FAILURES_SHOWN_MAX, FailedTests } from "../scripts/_failed-tests.ts";

// One runner (COURIER_TEST_PARALLEL=1) and --parallel alike: a header per file, and a recap
// of the failures at the end when one was not in the last file.
const OUTPUT = `bun test v1.4.5 (a7733435c) 2x PARALLEL

tests/a.test.ts:
(pass) ok [0.13ms]
(fail) bad one [0.09ms]

tests/b.test.ts:
(pass) ok2 [0.14ms]
(fail) group > bad two [0.10ms]

tests/c.test.ts:
(pass) fine [0.11ms]

tests/a.test.ts:
3 | test("bad one",()=>{expect(1).toBe(2)});
error: expect(received).toBe(expected)

 3 pass
 2 fail

2 tests failed:
(fail) bad one [0.09ms]
(fail) group > bad two [0.10ms]
`;

test("each failure once, under its file, the recap at the end not taken again", () => {
  const failed = new FailedTests();
  failed.feed(OUTPUT);
  expect(failed.lines).toEqual([
    "tests/a.test.ts: (fail) bad one [0.09ms]",
    "tests/b.test.ts: (fail) group > bad two [0.10ms]",
  ]);
});

test("a line split across chunks is still found; at most FAILURES_SHOWN_MAX are kept", () => {
  const failed = new FailedTests();
  for (let i = 0; i < OUTPUT.length; i += 7) failed.feed(OUTPUT.slice(i, i + 7));
  expect(failed.lines).toHaveLength(2);
  const many = new FailedTests();
  many.feed(`tests/x.test.ts:\n${"(fail) t [1ms]\n".repeat(FAILURES_SHOWN_MAX + 5)}`);
  expect(many.lines).toHaveLength(FAILURES_SHOWN_MAX);
});
