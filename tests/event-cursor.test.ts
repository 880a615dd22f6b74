// The events cursor (lib/queue/event-cursor.ts) without Redis: its text, its checks, and the
// entry ids right before and after one, at the edges of a stream id's range.
import { describe, expect, test } from "bun:test";
import {
  encodeCursor,
  nextEntry,
  parseCursor,
  previousEntry,
  queueTag,
} from "../lib/queue/event-cursor.ts";

const MAX = "18446744073709551615";

describe("events cursor", () => {
  test("encodes per shard the entry and, mid-entry, the jobs seen; parses back", () => {
    const tag = queueTag("courier", "default");
    expect(tag).toMatch(/^[0-9a-f]{8}$/);
    expect(queueTag("courier", "other")).not.toBe(tag);
    expect(queueTag("courier:x", "y")).not.toBe(queueTag("courier", "x:y"));
    const positions = [
      { entry: "0-0", seen: 0 },
      { entry: "1764423456789-3", seen: 2 },
      { entry: `${MAX}-18446744073709551614`, seen: 0 },
    ];
    const cursor = encodeCursor(tag, positions);
    expect(cursor).toBe(`v1:${tag}:0-0,1764423456789-3+2,${MAX}-18446744073709551614`);
    expect(parseCursor(cursor, tag, 3)).toEqual(positions);
  });

  test.each([
    ["v1:TAG:1-1,2-2", 3, /has 2 shard\(s\); this queue has 3/],
    ["v2:TAG:1-1", 1, /is not a cursor/],
    ["v1:TAG:1-1:x", 1, /is not a cursor/],
    ["v1:TAG:18446744073709551616-0", 1, /malformed position/],
    ["v1:TAG:1-1+", 1, /malformed position/],
    ["v1:TAG:1-1+01", 1, /malformed position/],
    ["v1:TAG: 1-1", 1, /malformed position/],
    ["v1:00000000:1-1", 1, /another queue or prefix/],
    // The last id a stream may hold: nothing can follow it, a read from there would never end.
    [`v1:TAG:${MAX}-${MAX}`, 1, /with no entry after it/],
    [`v1:TAG:${MAX}-${MAX}+1`, 1, /with no entry after it/],
  ])("%p refused", (text, shards, message) => {
    const tag = queueTag("p", "q");
    expect(() => parseCursor(text.replace("TAG", tag), tag, shards)).toThrow(message);
  });

  test.each([
    ["0-0", "0-1"],
    ["5-9", "5-10"],
    [`5-${MAX}`, "6-0"],
  ])("the entry after %p is %p, and back", (id, next) => {
    expect(nextEntry(id)).toBe(next);
    expect(previousEntry(next)).toBe(id);
  });

  test("nothing comes before 0-0", () => {
    expect(previousEntry("0-0")).toBe("0-0");
  });
});
