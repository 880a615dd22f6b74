// `schedule list` with one queue's key of schedules of another type (another program's key):
// that queue is left out and named on stderr (exit 6, as `info` exits for an unreadable queue),
// every other queue's schedules are listed, and `--json` is one whole document (R-192: it was
// cut off after the pages before that queue's, text stopped there, and the line named no key).
// The library's pages without a `skip` still throw the WRONGTYPE.
import { expect, test } from "bun:test";
import { writeSchedules } from "../lib/cli/schedule.ts";
import { scheduleKeys } from "../lib/engine/keys.ts";
import { Schedules } from "../lib/schedule/schedules.ts";
import { openQueue, runCli, testPrefix } from "./helpers.ts";

const line = (queue: string, key: string) =>
  `schedule: queue ${queue} not listed: key ${key} holds another type than Courier writes (WRONGTYPE); another program uses these keys: give Courier its own --prefix, or delete that key\n`;

test("a queue whose next runs' key is another program's: left out and named, the others listed whole", async () => {
  const prefix = testPrefix();
  await using q = await openQueue({ prefix });
  const s = new Schedules(q.client, prefix, "sq");
  // 3 pages of sq's, and one of badq's among them (HSCAN meets it on some page, in no order).
  const names = Array.from({ length: 1_200 }, (_, i) => `s${String(i).padStart(5, "0")}`);
  await Promise.all(names.map((name) => s.add({ name, every: "1h", task: "t" })));
  await s.add({ name: "s00600x", every: "1h", task: "t", queue: "badq" });
  const sk = scheduleKeys(prefix);
  await q.client.sendCommand(["DEL", sk.next("badq")]);
  await q.client.sendCommand(["SET", sk.next("badq"), "x"]);

  const json = await runCli("schedule", ["list", "--json", "--prefix", prefix]);
  expect(json.stderr).toBe(line("badq", sk.next("badq")));
  expect(json.code).toBe(6);
  const listed = JSON.parse(json.stdout).schedules.map((x: { name: string }) => x.name);
  expect(listed.sort()).toEqual(names);

  const text = await runCli("schedule", ["list", "--prefix", prefix]);
  expect(text.stderr).toBe(line("badq", sk.next("badq")));
  expect(text.code).toBe(6);
  const rows = text.stdout.trimEnd().split("\n");
  expect(rows[0]).toMatch(/^NAME +QUEUE +WHEN/);
  expect(
    rows
      .slice(1)
      .map((r) => r.split(" ")[0])
      .sort(),
  ).toEqual(names);

  // Its own listing: empty, and said; another queue's: as usual.
  const bad = await runCli("schedule", ["list", "--json", "--queue", "badq", "--prefix", prefix]);
  expect([bad.stdout, bad.stderr, bad.code]).toEqual([
    '{"schedules":[]}\n',
    line("badq", sk.next("badq")),
    6,
  ]);
  const good = await runCli("schedule", ["list", "--queue", "sq", "--prefix", prefix]);
  expect([good.stderr, good.code]).toEqual(["", 0]);
  expect(good.stdout.trimEnd().split("\n").length).toBe(1 + names.length);

  // The library's own listing, given no `skip`, still says the WRONGTYPE.
  expect(s.list()).rejects.toThrow(/WRONGTYPE/);
});

test("a queue whose names index is another program's key: its --queue listing is empty and names it", async () => {
  const prefix = testPrefix();
  await using q = await openQueue({ prefix });
  const s = new Schedules(q.client, prefix, "q");
  await s.add({ name: "nightly", every: "1h", task: "t" });
  expect(await s.count("q")).toBe(1); // the index built, as by any first read
  const sk = scheduleKeys(prefix);
  await q.client.sendCommand(["DEL", sk.names("q")]);
  await q.client.sendCommand(["SET", sk.names("q"), "x"]);

  const r = await runCli("schedule", ["list", "--queue", "q", "--prefix", prefix]);
  expect([r.stdout, r.stderr, r.code]).toEqual(["no schedules\n", line("q", sk.names("q")), 6]);
  // Every queue's listing reads no index: the schedule is there.
  const all = await runCli("schedule", ["list", "--prefix", prefix]);
  expect([all.stderr, all.code]).toEqual(["", 0]);
  expect(all.stdout).toMatch(/^nightly +q +/m);
});

test("--json cut by a later page's failure (not a foreign key): never a document that parses", async () => {
  // A page read, then Redis fails (NOPERM, a lost connection): the error goes to the caller
  // (one line, a non-zero exit), and what was written stays an unclosed document that no
  // reader takes for a whole one, not one closed early that would parse.
  const info = { name: "a", def: null, next: null };
  async function* pages() {
    yield [info];
    throw new Error("NOPERM on page 2");
  }
  let out = "";
  const written = writeSchedules(pages(), true, (text) => {
    out += text;
  });
  await expect(written).rejects.toThrow("NOPERM on page 2");
  expect(out).toBe('{"schedules":[{"name":"a","corrupt":true}');
  expect(() => JSON.parse(out)).toThrow();
});
