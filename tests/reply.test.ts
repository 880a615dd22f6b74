// The flat [field, value, …] replies of Redis, read by the one helper: pure, tested with tables.
import { expect, test } from "bun:test";
import { field, pairs, toMap } from "../lib/redis/reply.ts";

test.each<[string[], [string, string][]]>([
  [[], []],
  [["a", "1"], [["a", "1"]]],
  [
    ["a", "1", "b", "2"],
    [
      ["a", "1"],
      ["b", "2"],
    ],
  ],
  [["a", "1", "dangling"], [["a", "1"]]], // an odd last element is ignored
])("pairs(%p)", (flat, expected) => {
  expect([...pairs(flat)]).toEqual(expected);
});

test("toMap keys by text, keeps values as they are, and the last of a repeated field wins", () => {
  expect(toMap<unknown>(["n", 1, "name", "g", "n", 2])).toEqual(
    new Map<string, unknown>([
      ["n", 2],
      ["name", "g"],
    ]),
  );
});

test.each([
  [["id", "j1", "task", "t"], "task", "t"],
  [["id", "j1"], "task", null],
  [["id"], "id", null], // a name without its value
  [["task", "id", "id", "j2"], "id", "j2"], // a value equal to a name is not a name
  [null, "id", null],
])("field(%p, %p) is %p", (fields, name, expected) => {
  expect(field(fields, name)).toBe(expected);
});
