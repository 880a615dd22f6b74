// One dashboard, every queue under its prefix: `/api/queues` lists them, `?queue=` picks one
// for every read and action (a name that is no queue there is refused before anything is
// read), and live updates follow the queue asked for. Also: a dead letter deleted leaves no
// row in the latest failures, and the page has an icon.
import { afterEach, describe, expect, test } from "bun:test";
import { QUEUES_FRESH_MS } from "../lib/dashboard/queues.ts";
import { type Dashboard, startDashboard } from "../lib/dashboard/server.ts";
import { queueKeys } from "../lib/engine/keys.ts";
import { deadJobs, firstSnapshot } from "./fixtures/dashboard.ts";
import { commandCalls, onOneServer, openQueue, rawRedis, redisUrl, testPrefix } from "./helpers.ts";

const TOKEN = "queues-test-token-0001";
const AUTH = { "x-courier-token": TOKEN, "content-type": "application/json" };
const running: Dashboard[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((d) => d.stop()));
});

async function dashboard(prefix: string): Promise<Dashboard> {
  const d = await startDashboard({ redisUrl: redisUrl(), prefix, port: 0, token: TOKEN });
  running.push(d);
  return d;
}

// biome-ignore lint/suspicious/noExplicitAny: the bodies are checked by the assertions
async function get(d: Dashboard, path: string): Promise<{ status: number; body: any }> {
  const res = await fetch(d.url + path);
  return { status: res.status, body: await res.json() };
}

describe("queues under the prefix", () => {
  test("lists them, reads and acts on the one named, refuses names that are no queue", async () => {
    const prefix = testPrefix();
    const [deadId] = await deadJobs(prefix, 1, { queue: "images" });
    await using q = await openQueue({ prefix, queue: "mail" });
    await q.enqueueMany([{ task: "send" }, { task: "send" }]);
    const d = await dashboard(prefix);

    // The dashboard's own queue is listed even before it has a stream.
    expect((await get(d, "/api/queues")).body).toEqual({
      queues: ["default", "images", "mail"],
      default: "default",
    });
    expect((await get(d, "/api/overview")).body).toMatchObject({
      queue: "default",
      counts: { waiting: 0, dead: 0 },
    });
    expect((await get(d, "/api/overview?queue=mail")).body).toMatchObject({
      queue: "mail",
      counts: { waiting: 2, dead: 0 },
    });
    expect((await get(d, "/api/dead?queue=images")).body).toMatchObject({
      total: 1,
      letters: [{ id: deadId }],
    });
    expect((await get(d, `/api/jobs/${deadId}?queue=images`)).body.status).toBe("failed");
    expect((await get(d, `/api/jobs/${deadId}`)).status).toBe(404);
    expect((await get(d, "/api/overview?queue=nope")).body).toEqual({
      error: `no queue named nope under prefix ${prefix}`,
    });
    expect((await get(d, "/api/overview?queue=nope")).status).toBe(404);
    expect((await get(d, "/api/dead?queue=a%20b")).status).toBe(400);

    const requeued = await fetch(`${d.url}/api/dead/${deadId}/requeue?queue=images`, {
      method: "POST",
      headers: AUTH,
    });
    expect(requeued.status).toBe(200);
    expect((await get(d, "/api/overview?queue=images")).body.counts).toMatchObject({
      waiting: 1,
      dead: 0,
    });
    const triggered = await fetch(`${d.url}/api/trigger?queue=mail`, {
      method: "POST",
      headers: AUTH,
      body: JSON.stringify({ url: "www.example.org" }),
    });
    expect(triggered.status).toBe(201);
    expect((await get(d, "/api/overview?queue=mail")).body.counts.waiting).toBe(3);
    const refused = await fetch(`${d.url}/api/trigger?queue=nope`, {
      method: "POST",
      headers: AUTH,
      body: JSON.stringify({ url: "www.example.org" }),
    });
    expect(refused.status).toBe(404);
  });

  test("lists exactly the queues it serves: one with only delayed jobs, or only counters", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix, queue: "later" });
    await q.enqueueMany([{ task: "send", delayMs: 60_000 }]);
    await using r = await rawRedis();
    // Each key exists() tests is enough alone: the delayed set (counters deleted by hand), or
    // counters (a queue whose other keys were deleted by hand).
    await r.sendCommand(["DEL", queueKeys(prefix, "later").stats]);
    await r.sendCommand(["HSET", queueKeys(prefix, "counted").stats, "enqueued", "1"]);
    expect(await r.sendCommand(["EXISTS", queueKeys(prefix, "later").stream])).toBe(0);
    const d = await dashboard(prefix);

    const { queues } = (await get(d, "/api/queues")).body;
    expect(queues).toEqual(["counted", "default", "later"]);
    for (const name of queues) {
      expect((await get(d, `/api/overview?queue=${name}`)).status).toBe(200);
    }
    expect((await get(d, "/api/overview?queue=later")).body.counts).toMatchObject({ delayed: 1 });
  });

  // Every page load asks for the queues, and a scan of a big keyspace takes a second and more
  // six tabs at once timed out): one scan serves QUEUES_FRESH_MS of the dashboard's
  // clock, requests under way share it, and a queue made since shows up after.
  // One server: SCANs are counted on it (a cluster's masters may serve other files' scans too).
  test.skipIf(!onOneServer)(
    "one scan serves the queue list for QUEUES_FRESH_MS, shared by requests at once",
    async () => {
      const prefix = testPrefix();
      let now = 1_000_000;
      const d = await startDashboard({ redisUrl: redisUrl(), prefix, port: 0, now: () => now });
      running.push(d);
      await using r = await rawRedis();
      const scans = () => commandCalls(r, "scan");
      const before = await scans();
      const lists = await Promise.all([1, 2, 3].map(() => get(d, "/api/queues")));
      expect(lists.map((l) => l.body.queues)).toEqual([["default"], ["default"], ["default"]]);
      const one = (await scans()) - before;
      expect(one).toBeGreaterThan(0);
      await using q = await openQueue({ prefix, queue: "mail" });
      await q.enqueue("send", null);
      now += QUEUES_FRESH_MS - 1;
      expect((await get(d, "/api/queues")).body.queues).toEqual(["default"]);
      expect((await scans()) - before).toBe(one);
      now += 1;
      expect((await get(d, "/api/queues")).body.queues).toEqual(["default", "mail"]);
      expect((await scans()) - before).toBe(2 * one);
    },
  );

  test("live updates follow the queue asked for", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix, queue: "mail" });
    await q.enqueueMany([{ task: "send" }]);
    const d = await dashboard(prefix);
    const { data } = await firstSnapshot(`${d.url}/api/events?queue=mail`);
    expect(data.overview).toMatchObject({ queue: "mail", counts: { waiting: 1 } });
    expect((await fetch(`${d.url}/api/events?queue=nope`)).status).toBe(404);
  });
});

test("a deleted dead letter leaves no row in the latest failures", async () => {
  const prefix = testPrefix();
  const [gone, kept] = await deadJobs(prefix, 2, { queue: "default", shards: 1 });
  const d = await dashboard(prefix);
  expect((await get(d, "/api/failures")).body.failures.map((f: { id: string }) => f.id)).toEqual([
    kept,
    gone,
  ]);
  const deleted = await fetch(`${d.url}/api/dead/${gone}/delete`, {
    method: "POST",
    headers: AUTH,
  });
  expect(deleted.status).toBe(200);
  const { failures } = (await get(d, "/api/failures")).body;
  expect(failures).toEqual([expect.objectContaining({ id: kept, task: "fails", error: "no" })]);
});

test("the page has an icon", async () => {
  const d = await dashboard(testPrefix());
  const res = await fetch(`${d.url}/favicon.ico`);
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toBe("image/svg+xml");
  expect(await res.text()).toStartWith('<svg xmlns="http://www.w3.org/2000/svg"');
  expect(await (await fetch(d.url)).text()).toContain(
    '<link rel="icon" href="/favicon.ico" type="image/svg+xml">',
  );
});
