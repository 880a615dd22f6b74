// Schedules.list and pages over many schedules (lib/schedule/schedules.ts, read.ts): every
// schedule and its next run read back right, in calls of a bounded size (no reply grows with the
// schedule count) and one next-run read per queue, not one per schedule; one queue's read by its
// `names` index without reading another queue's; the index built for schedules saved before it.
import { expect, test } from "bun:test";
import { readQueueSchedules } from "../lib/admin/info-schedules.ts";
import { scheduleKeys } from "../lib/engine/keys.ts";
import { InputError } from "../lib/errors.ts";
import type { Redis } from "../lib/redis/connect.ts";
import { Schedules } from "../lib/schedule/schedules.ts";
import { openQueue, testPrefix } from "./helpers.ts";

/** `client` with every command it sends, and every reply's strings (flattened), recorded. */
function recorded(client: Redis): { client: Redis; sent: string[][]; replies: string[][] } {
  const sent: string[][] = [];
  const replies: string[][] = [];
  const spy = new Proxy(client, {
    get(target, prop, receiver) {
      if (prop !== "sendCommand") return Reflect.get(target, prop, receiver);
      return async (args: string[]) => {
        sent.push([...args]);
        const reply = await target.sendCommand(args);
        replies.push([reply].flat(3).map(String));
        return reply;
      };
    },
  });
  return { client: spy, sent, replies };
}

test("1,100 schedules on two queues: all listed with their next runs, in bounded calls", async () => {
  const prefix = testPrefix();
  await using q = await openQueue({ prefix });
  const writer = new Schedules(q.client, prefix, "q");
  const names = Array.from({ length: 1_100 }, (_, i) => `s${String(i).padStart(4, "0")}`);
  // Every third on queue r; each a minute apart from the next, so a next run read for the
  // wrong name would not match.
  const added = await Promise.all(
    names.map((name, i) =>
      writer.add({ name, every: `${i + 1}m`, task: "t", ...(i % 3 === 0 ? { queue: "r" } : {}) }),
    ),
  );
  const sk = scheduleKeys(prefix);
  // A paused one has no next run: a null in the middle of a queue's reply.
  expect(await writer.pause("s0500")).toBe(true);

  const { client, sent } = recorded(q.client);
  const list = await new Schedules(client, prefix, "q").list();
  expect(list.map((s) => s.name)).toEqual(names);
  for (const [i, s] of list.entries()) {
    const score = await q.client.sendCommand<string | null>([
      "ZSCORE",
      sk.next(i % 3 === 0 ? "r" : "q"),
      s.name,
    ]);
    expect(s.next).toBe(score === null ? null : Number(score));
    expect(s.def?.queue).toBe(i % 3 === 0 ? "r" : "q");
    if (s.name !== "s0500") expect(s.next).toBe(added[i]!.next);
  }
  expect(list[500]!.next).toBeNull();
  // Bounded: no call names more than 500 schedules; the next runs in one call per queue per
  // page of names (HSCAN's pages, each at most 500), not one per schedule.
  expect(Math.max(...sent.map((c) => c.length))).toBeLessThanOrEqual(502);
  const nextReads = sent.filter((c) => c[0] === "ZMSCORE" || c[0] === "ZSCORE");
  const pages = sent.filter((c) => c[0] === "HMGET").length;
  expect(pages).toBeLessThanOrEqual(5);
  expect(nextReads.length).toBeLessThanOrEqual(2 * pages);

  // One queue's: only its own, with the same next runs.
  const onR = await new Schedules(q.client, prefix, "q").list("r");
  expect(onR.map((s) => s.name)).toEqual(names.filter((_, i) => i % 3 === 0));
  expect(onR.map((s) => s.next)).toEqual(list.filter((_, i) => i % 3 === 0).map((s) => s.next));
});

/** `n` schedules named `<tag>0000`... on `queue`, added at once. */
function addMany(s: Schedules, tag: string, n: number, queue: string) {
  const names = Array.from({ length: n }, (_, i) => `${tag}${String(i).padStart(4, "0")}`);
  return Promise.all(names.map((name) => s.add({ name, every: "1h", task: "t", queue })));
}

test("one queue's listing and count read none of another queue's schedules", async () => {
  const prefix = testPrefix();
  await using q = await openQueue({ prefix });
  const writer = new Schedules(q.client, prefix, "q");
  await addMany(writer, "b", 1_000, "qb");
  await addMany(writer, "a", 3, "qa");
  await writer.count("qa"); // the index marked whole (a fresh prefix: nothing to build)
  const { client, sent, replies } = recorded(q.client);
  const reader = new Schedules(client, prefix, "q");
  expect((await reader.list("qa")).map((s) => s.name)).toEqual(["a0000", "a0001", "a0002"]);
  expect(await reader.count("qa")).toBe(3);
  // No command names, and no reply holds, a schedule of qb: `where` and `defs` are not read whole.
  const ofB = (xs: string[]) => xs.some((x) => /^b\d{4}$/.test(x) || x.includes('"qb"'));
  expect(sent.filter(ofB)).toEqual([]);
  expect(replies.filter(ofB)).toEqual([]);
  expect(Math.max(...replies.map((r) => r.length))).toBeLessThanOrEqual(6);
});

test("pages of at most the size asked: one queue's by name, every one by HSCAN, each once", async () => {
  const prefix = testPrefix();
  await using q = await openQueue({ prefix });
  const writer = new Schedules(q.client, prefix, "q");
  await addMany(writer, "q", 250, "q");
  await addMany(writer, "r", 40, "r");
  const { client, replies } = recorded(q.client);
  const reader = new Schedules(client, prefix, "q");
  const sizes: number[] = [];
  const onQ: string[] = [];
  for await (const page of reader.pages("q", 100)) {
    sizes.push(page.length);
    onQ.push(...page.map((s) => s.name));
  }
  expect(sizes).toEqual([100, 100, 50]);
  expect(onQ).toEqual([...onQ].sort());
  expect(new Set(onQ).size).toBe(250);
  const all: string[] = [];
  for await (const page of reader.pages(undefined, 100)) {
    expect(page.length).toBeLessThanOrEqual(100);
    all.push(...page.map((s) => s.name));
  }
  expect(all.length).toBe(290);
  expect(new Set(all).size).toBe(290);
  // No reply holds more than a page (HSCAN's a page of name-definition pairs, COUNT a hint).
  expect(Math.max(...replies.map((r) => r.length))).toBeLessThanOrEqual(2 * 100 + 2 + 20);
});

test("schedules saved before the names index: built in pages on the first read, then kept", async () => {
  const prefix = testPrefix();
  await using q = await openQueue({ prefix });
  const sk = scheduleKeys(prefix);
  const writer = new Schedules(q.client, prefix, "q");
  await addMany(writer, "s", 1_200, "q");
  await addMany(writer, "r", 30, "r");
  // What a Courier before the index left: defs, where, next and queues, no `names`, no marker.
  await q.client.sendCommand(["DEL", sk.names("q"), sk.names("r"), sk.indexed]);
  const { client, sent } = recorded(q.client);
  const reader = new Schedules(client, prefix, "q");
  expect(await reader.count("r")).toBe(30);
  const built = sent.filter((c) => c[0] === "EVALSHA" || c[0] === "EVAL").length;
  expect(built).toBeGreaterThanOrEqual(2); // a page a call, never the whole hash at once
  expect(await q.client.sendCommand(["EXISTS", sk.indexed])).toBe(1);
  const onQ = await reader.list("q");
  expect(onQ.length).toBe(1_200);
  expect(onQ.every((s) => s.def?.queue === "q" && s.next !== null)).toBe(true);
  // Whole now: the next reads build nothing.
  const before = sent.length;
  expect(await reader.count("q")).toBe(1_200);
  expect(sent.slice(before).filter((c) => c[0] === "EVALSHA" || c[0] === "EVAL")).toEqual([]);
});

test("the index follows each save: pause keeps a name, a replace moves it, a remove drops it", async () => {
  const prefix = testPrefix();
  await using q = await openQueue({ prefix });
  const s = new Schedules(q.client, prefix, "q");
  await s.add({ name: "a", every: "1h", task: "t" });
  await s.add({ name: "b", every: "1h", task: "t" });
  expect(await s.pause("a")).toBe(true);
  expect(await s.count("q")).toBe(2);
  await s.add({ name: "b", every: "2h", task: "t", queue: "r" }, { replace: true });
  expect([await s.count("q"), await s.count("r")]).toEqual([1, 1]);
  expect((await s.list("r")).map((x) => x.name)).toEqual(["b"]);
  expect(await s.remove("a")).toBe(true);
  expect(await s.count("q")).toBe(0);
  expect(await s.list("q")).toEqual([]);
});

test("a schedule moved to another queue by a Courier from before the index is not listed under its old queue", async () => {
  const prefix = testPrefix();
  await using q = await openQueue({ prefix });
  const s = new Schedules(q.client, prefix, "q");
  await s.add({ name: "s1", every: "1h", task: "t" });
  await s.add({ name: "s2", every: "1h", task: "t" });
  expect(await s.count("q")).toBe(2); // the index is built
  // An old writer moves s1 to queue r: its definition and `where`, not the names index.
  const k = scheduleKeys(prefix);
  const def = JSON.parse((await q.client.sendCommand<string>(["HGET", k.defs, "s1"]))!);
  await q.client.sendCommand(["HSET", k.defs, "s1", JSON.stringify({ ...def, queue: "r" })]);
  await q.client.sendCommand(["HSET", k.where, "s1", "r"]);
  const listed = (await s.list("q")).map((x) => x.name);
  expect(listed).toEqual(["s2"]);
});

test("info's read of a queue's schedules checks the index once, and every read checks it (a deleted one is built again)", async () => {
  const prefix = testPrefix();
  await using q = await openQueue({ prefix });
  const sk = scheduleKeys(prefix);
  await addMany(new Schedules(q.client, prefix, "q"), "s", 3, "q");
  const { client, sent } = recorded(q.client);
  const checks = () => sent.filter((c) => c[0] === "EXISTS" && c[1] === sk.indexed).length;
  const names = ["s0000", "s0001", "s0002"];
  const first = await readQueueSchedules(client, prefix, "q");
  expect([first?.total, first?.shown.map((s) => s.name)]).toEqual([3, names]);
  expect(checks()).toBe(1); // one for the count and the page
  await q.client.sendCommand(["DEL", sk.names("q"), sk.indexed]);
  const again = await readQueueSchedules(client, prefix, "q");
  expect([again?.total, again?.shown.map((s) => s.name)]).toEqual([3, names]);
  expect(checks()).toBe(2);
});

// A size of 0 reached Redis as `COUNT 0` (a raw `ERR syntax error`); a queue of 5 or a skip
// that is no function were taken. One InputError line each, nothing read.
test.each([
  [[undefined, 0], "pages' size must be a whole number from 1 to 500, got 0"],
  [[undefined, 501], "pages' size must be a whole number from 1 to 500, got 501"],
  [[undefined, 1.5], "pages' size must be a whole number from 1 to 500, got 1.5"],
  [[5], "pages: 5 is no queue name (1-100 letters, digits or _.:-)"],
  [["a b"], 'pages: "a b" is no queue name (1-100 letters, digits or _.:-)'],
  [[undefined, 10, "skip"], 'pages\' skip must be a function, got "skip"'],
])("Schedules.pages(%j) is refused", async (args, message) => {
  const prefix = testPrefix();
  await using q = await openQueue({ prefix });
  const schedules = new Schedules(q.client, prefix, "q");
  const read = async () => {
    for await (const _ of schedules.pages(...(args as [never, never, never]))) return;
  };
  await expect(read()).rejects.toThrow(new InputError(message));
});

test.each([5, null, "a b"])("Schedules.list(%j) is refused, naming list", async (queue) => {
  const prefix = testPrefix();
  await using q = await openQueue({ prefix });
  const listed = new Schedules(q.client, prefix, "q").list(queue as never);
  await expect(listed).rejects.toThrow(InputError);
  await expect(listed).rejects.toThrow(/^list: .* is no queue name/);
});

// count(5) and count() answered 0, as for a queue with no schedules.
test.each([5, undefined, "a b"])("Schedules.count(%j) is refused", async (queue) => {
  const prefix = testPrefix();
  await using q = await openQueue({ prefix });
  const schedules = new Schedules(q.client, prefix, "q");
  const counted = schedules.count(queue as never);
  await expect(counted).rejects.toThrow(InputError);
  await expect(counted).rejects.toThrow(/^count: .* is no queue name/);
});
