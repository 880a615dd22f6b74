// `info --watch` with a queue it cannot read (one of its keys of another type): the watch goes
// on refreshing (R-192: it ended after one report, exit 6, nothing on stderr), each report shows
// that queue as unreadable and the others as usual, and stderr says so once, not every tick;
// once the key is mended, once more that it reads again. Stopped, it exits as its last report
// would: 6 while a queue is unreadable, else 0.
import { expect, test } from "bun:test";
import { queueKeys } from "../lib/engine/keys.ts";
import { oneShardFile, openQueue, rawRedis, readUntil, spawnCli, testPrefix } from "./helpers.ts";

// Plants the broken key in the one-shard layout (queueKeys).
oneShardFile();

/** The reports read so far, one JSON object a line (`--watch --json`). */
function reportsIn(text: string): { queues: { queue: string; unreadable?: string }[] }[] {
  return text
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l));
}

test("a queue it cannot read: shown so in every report, said once on stderr, the watch goes on; mended, said once more", async () => {
  const prefix = testPrefix();
  await using q = await openQueue({ prefix });
  await q.enqueue("t", null);
  const bad = queueKeys(prefix, "strq");
  await using r = await rawRedis();
  await r.sendCommand(["XGROUP", "CREATE", bad.stream, "workers", "0", "MKSTREAM"]);
  await r.sendCommand(["SET", bad.delayed, "x"]);

  const watch = spawnCli("info", ["--prefix", prefix, "--watch", "--json", "--interval", "1"]);
  const out = watch.stdout.getReader();
  let text = "";
  const untilReports = async (enough: (n: ReturnType<typeof reportsIn>) => boolean) => {
    text += await readUntil(out, (t) => t.endsWith("\n") && enough(reportsIn(text + t)));
  };
  await untilReports((reports) => reports.length >= 3);
  for (const report of reportsIn(text)) {
    const byName = new Map(report.queues.map((x) => [x.queue, x]));
    expect(byName.get("strq")?.unreadable).toContain("holds another type");
    expect(byName.get("default")).toMatchObject({ waiting: 1 });
  }
  expect(watch.exitCode).toBeNull();

  await r.sendCommand(["DEL", bad.delayed]);
  await untilReports((reports) => reports.at(-1)!.queues.every((x) => !("unreadable" in x)));
  out.releaseLock();
  watch.kill("SIGINT");
  expect(await watch.exited).toBe(0);
  const lines = (await new Response(watch.stderr).text()).split("\n");
  expect(lines[0]).toStartWith(
    "info: queue strq unreadable: a key of this queue holds another type",
  );
  expect(lines.slice(1)).toEqual(["info: queue strq readable again", ""]);
});

test("stopped while a queue is unreadable: exit 6", async () => {
  const prefix = testPrefix();
  const bad = queueKeys(prefix, "strq");
  await using r = await rawRedis();
  await r.sendCommand(["SET", bad.stream, "x"]);
  const watch = spawnCli("info", ["--prefix", prefix, "--watch", "--json", "--interval", "1"]);
  const out = watch.stdout.getReader();
  const text = await readUntil(out, (t) => t.split("\n").length > 3);
  out.releaseLock();
  watch.kill("SIGINT");
  expect(await watch.exited).toBe(6);
  expect(reportsIn(text)[2]!.queues).toEqual([{ queue: "strq", unreadable: expect.any(String) }]);
  const stderr = await new Response(watch.stderr).text();
  expect(stderr.split("\n").length).toBe(2); // one line, said once
});
