// The word-count task scheduled by name through the library (Schedules.add): its payload is
// checked as `schedule add --task wordcount` checks it, by the same function (one line,
// nothing stored). Unchecked, a URL with a password was stored (and shown by every listing), a
// non-http one or no URL at all failed at every tick, for as long as the schedule lived.
import { expect, test } from "bun:test";
import { scheduleKeys } from "../lib/engine/keys.ts";
import { saveSchedule } from "../lib/engine/schedule.ts";
import { CourierError, InputError, InvalidUrlError } from "../lib/errors.ts";
import { Schedules } from "../lib/schedule/schedules.ts";
import { rawRedis, runCli, testPrefix } from "./helpers.ts";

const SHAPE = 'task wordcount takes the payload {"url": "…"}';

test.each([
  [{ url: "http://user:pw@example.org/" }, 'invalid URL "http://***@example.org/"'],
  [{ url: "ftp://example.org/" }, 'invalid URL "ftp://example.org/"'],
  [{ url: "http://exa mple.org/" }, "invalid URL"],
  [{ x: 1 }, SHAPE],
  [null, SHAPE],
  [undefined, SHAPE],
  ["https://example.org/", SHAPE],
])(
  "Schedules.add of wordcount with payload %p: the CLI's line, nothing stored",
  async (payload, line) => {
    const prefix = testPrefix();
    await using r = await rawRedis();
    const s = new Schedules(r as never, prefix);
    const spec = { name: "crawl", every: "1h", task: "wordcount", payload };
    const err = await s.add(spec).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CourierError);
    expect(err).toBeInstanceOf(line === SHAPE ? InputError : InvalidUrlError);
    const message = (err as Error).message;
    expect(message).toStartWith(line);
    expect(message).not.toContain("pw");
    expect(await r.sendCommand(["EXISTS", scheduleKeys(prefix).defs])).toBe(0);
    if (payload === undefined) return;
    // The CLI says the same line (its shape's with a hint of --url).
    const cli = await runCli("schedule", [
      ...["add", "crawl", "--every", "1h", "--task", "wordcount", "--prefix", prefix],
      ...["--payload", JSON.stringify(payload)],
    ]);
    expect(cli.code).toBe(2);
    expect(cli.stderr).toStartWith(`schedule: ${message}`);
  },
);

test("Schedules.add of wordcount: the URL stored normalised, as the CLI stores it", async () => {
  const prefix = testPrefix();
  await using r = await rawRedis();
  const s = new Schedules(r as never, prefix);
  const url = "HTTP://Example.ORG/a#frag";
  const added = await s.add({ name: "crawl", every: "1h", task: "wordcount", payload: { url } });
  expect(added.def?.payload).toEqual({ url: "http://example.org/a" });
  await runCli("schedule", [
    ...["add", "cli", "--every", "1h", "--task", "wordcount", "--prefix", prefix],
    ...["--payload", JSON.stringify({ url })],
  ]);
  expect((await s.get("cli"))?.def?.payload).toEqual(added.def?.payload);
});

test("Schedules.add of wordcount again, over a definition stored before the URL was normalised: nothing changed", async () => {
  const prefix = testPrefix();
  await using r = await rawRedis();
  const s = new Schedules(r as never, prefix, "q");
  const k = scheduleKeys(prefix);
  // What the library stored before it normalised the URL: the payload as given.
  const url = "https://example.com";
  const old = { queue: "q", every_ms: 3_600_000, task: "wordcount", payload: { url } };
  const json = JSON.stringify({ ...old, missed: "once", paused: false, created_at: 1 });
  await saveSchedule(r as never, k, "crawl", { op: "add", json, next: 2, queue: "q" });
  // A program adding its schedules at every start: the same call after the upgrade. It threw
  // "exists with another definition" (the stored URL compared with the normalised one).
  const again = await s.add({ name: "crawl", every: "1h", task: "wordcount", payload: { url } });
  expect(again.created).toBe(false);
  expect(await r.sendCommand(["HGET", k.defs, "crawl"])).toBe(json);
  // Another URL is still another definition; the line names the option and the flag.
  const other = { name: "crawl", every: "1h", task: "wordcount", payload: { url: `${url}/a` } };
  const err = await s.add(other).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(InputError);
  expect((err as Error).message).toBe(
    "schedule crawl exists with another definition: remove it first, or replace it (add's replace: true, schedule add --replace)",
  );
});
