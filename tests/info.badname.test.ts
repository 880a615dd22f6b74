// A stream under the prefix whose name no queue may have (another program's key, or one written
// by hand): `info` shows it as unreadable, its name made safe for a terminal, and the other
// queues as usual, exit 6; the dashboard leaves it out of /api/queues (it refuses the name, 400).
import { afterEach, describe, expect, test } from "bun:test";
import { type Dashboard, startDashboard } from "../lib/dashboard/server.ts";
import { openQueue, rawRedis, redisUrl, runCli, testPrefix } from "./helpers.ts";

const BAD = "bad\x1b[2J name";
const running: Dashboard[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((d) => d.stop()));
});

async function prefixWithBadStream(): Promise<string> {
  const prefix = testPrefix();
  await using q = await openQueue({ prefix, queue: "good" });
  await q.enqueue("t", null);
  await using r = await rawRedis();
  await r.sendCommand(["XADD", `${prefix}:{${BAD}}:stream`, "*", "x", "1"]);
  return prefix;
}

describe("a stream whose name is no queue name", () => {
  test("info: shown as unreadable (escaped), the other queues shown, exit 6", async () => {
    const prefix = await prefixWithBadStream();
    const text = await runCli("info", ["--prefix", prefix]);
    expect(text.stderr).toBe("");
    expect(text.code).toBe(6);
    expect(text.stdout).not.toContain("\x1b");
    expect(text.stdout).toContain(
      "queue bad\\x1b[2J name\n  unreadable: its keys' name is no queue name",
    );
    expect(text.stdout).toMatch(/^queue good\n {2}waiting 1 /m);

    const json = await runCli("info", ["--prefix", prefix, "--json"]);
    expect(json.code).toBe(6);
    const report = JSON.parse(json.stdout);
    const byName = new Map(report.queues.map((q: { queue: string }) => [q.queue, q]));
    expect(byName.get(BAD)).toMatchObject({ unreadable: expect.stringContaining("no queue name") });
    expect(byName.get("good")).toMatchObject({ waiting: 1 });
  });

  test("the dashboard leaves it out of /api/queues, as it refuses the name", async () => {
    const prefix = await prefixWithBadStream();
    const d = await startDashboard({ redisUrl: redisUrl(), prefix, port: 0 });
    running.push(d);
    const queues = await (await fetch(`${d.url}/api/queues`)).json();
    expect(queues.queues).toContain("good");
    expect(queues.queues).not.toContain(BAD);
    const res = await fetch(`${d.url}/api/overview?queue=${encodeURIComponent(BAD)}`);
    expect(res.status).toBe(400);
  });
});
