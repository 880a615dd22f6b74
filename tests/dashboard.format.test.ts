// A queue whose data format is another Courier's: the dashboard answers its refusal (409, the
// refusal's own line), never "503 Redis unavailable" (it matched the error's class name). A
// format changed after the dashboard first read the queue is found: every action checks it
// again (nothing written), reads within FORMAT_RECHECK_MS of the last check (its own `now`).
import { afterEach, expect, test } from "bun:test";
import { FORMAT_RECHECK_MS } from "../lib/dashboard/queues.ts";
import { type Dashboard, startDashboard } from "../lib/dashboard/server.ts";
import { queueKeys } from "../lib/engine/keys.ts";
import { oneShardFile, openQueue, readUntil, redisUrl, testPrefix } from "./helpers.ts";

oneShardFile(); // the meta key written is a one-shard queue's

const TOKEN = "s3cret-test-token-0190";
const REFUSAL =
  'queue "default" has data format 999, this Courier reads format 2: upgrade Courier (or use another --queue/--prefix)';
const running: Dashboard[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((d) => d.stop()));
});

test("trigger into a queue of another format: 409 with the refusal's line", async () => {
  const prefix = testPrefix();
  await using q = await openQueue({ prefix });
  await q.enqueue("t", null);
  const d = await startDashboard({ redisUrl: redisUrl(), prefix, port: 0, token: TOKEN });
  running.push(d);
  await q.client.sendCommand(["HSET", queueKeys(prefix, "default").meta, "format", "999"]);
  const res = await fetch(`${d.url}/api/trigger`, {
    method: "POST",
    headers: { "x-courier-token": TOKEN, "content-type": "application/json" },
    body: JSON.stringify({ url: "https://example.org/" }),
  });
  expect({ status: res.status, body: await res.json() }).toEqual({
    status: 409,
    body: { error: REFUSAL },
  });
});

function post(d: Dashboard, path: string) {
  const headers = { "x-courier-token": TOKEN, "content-type": "application/json" };
  return fetch(d.url + path, { method: "POST", headers, body: "{}" });
}

test.each([["/api/empty"], ["/api/empty?queue=other"], ["/api/dead/requeue-all?queue=other"]])(
  "POST %s after the queue's format changed: 409, nothing written",
  async (path) => {
    const prefix = testPrefix();
    const queue = path.includes("other") ? "other" : "default";
    await using q = await openQueue({ prefix, queue });
    await q.enqueue("t", null);
    const d = await startDashboard({ redisUrl: redisUrl(), prefix, port: 0, token: TOKEN });
    running.push(d);
    // Read first: the dashboard has seen the queue in this Courier's format.
    expect((await fetch(`${d.url}/api/overview?queue=${queue}`)).status).toBe(200);
    const keys = queueKeys(prefix, queue);
    await q.client.sendCommand(["HSET", keys.meta, "format", "999"]);
    const res = await post(d, path);
    expect({ status: res.status, body: await res.json() }).toEqual({
      status: 409,
      body: { error: REFUSAL.replace('"default"', `"${queue}"`) },
    });
    expect(await q.client.sendCommand(["XLEN", keys.stream])).toBe(1);
  },
);

test.each([["default"], ["other"]])(
  "reads of queue %s trust a format check for FORMAT_RECHECK_MS of the dashboard's clock, then check again",
  async (queue) => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix, queue });
    await q.enqueue("t", null);
    let now = 1_000_000;
    const d = await startDashboard({ redisUrl: redisUrl(), prefix, port: 0, now: () => now });
    running.push(d);
    const read = async () => (await fetch(`${d.url}/api/overview?queue=${queue}`)).status;
    expect(await read()).toBe(200);
    await q.client.sendCommand(["HSET", queueKeys(prefix, queue).meta, "format", "999"]);
    now += FORMAT_RECHECK_MS - 1;
    expect(await read()).toBe(200);
    now += 1;
    expect(await read()).toBe(409);
    expect(await read()).toBe(409); // a refusal is not trusted as a pass
  },
);

test.each([["default"], ["other"]])(
  "a live stream of queue %s whose format changed ends with the actions' refusal; a new one is a 409",
  async (queue) => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix, queue });
    await q.enqueue("t", null);
    let now = 1_000_000;
    const d = await startDashboard({ redisUrl: redisUrl(), prefix, port: 0, now: () => now });
    running.push(d);
    const events = `${d.url}/api/events?queue=${queue}`;
    const controller = new AbortController();
    const res = await fetch(events, { signal: controller.signal });
    const reader = res.body!.getReader();
    try {
      await readUntil(reader, (t) => t.includes("event: snapshot\n"));
      await q.client.sendCommand(["HSET", queueKeys(prefix, queue).meta, "format", "999"]);
      now += FORMAT_RECHECK_MS;
      const refusal = REFUSAL.replace('"default"', `"${queue}"`);
      // The refusal, or three snapshots more (a stream that never says it: fail, not hang).
      const said = await readUntil(
        reader,
        (t) => t.includes("event: refused\n") || t.split("event: snapshot").length > 4,
      );
      expect(said).toEndWith(`event: refused\ndata: ${JSON.stringify({ error: refusal })}\n\n`);
      expect((await reader.read()).done).toBe(true); // the stream ends there
      const again = await fetch(events);
      expect({ status: again.status, body: await again.json() }).toEqual({
        status: 409,
        body: { error: refusal },
      });
    } finally {
      controller.abort();
    }
  },
);
