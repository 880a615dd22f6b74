// The dashboard's HTTP side without a browser: the page and its scripts, the JSON API, live
// updates, /metrics, the token on actions, the Host check, and the trigger's URL check.
import { afterEach, describe, expect, test } from "bun:test";
import { type Dashboard, startDashboard } from "../lib/dashboard/server.ts";
import { shardKeys } from "../lib/engine/keys.ts";
import { ConfigError, PermanentError } from "../lib/errors.ts";
import { defineTask } from "../lib/types.ts";
import { deadJobs, firstSnapshot } from "./fixtures/dashboard.ts";
import { openQueue, rawRedis, redisUrl, testPrefix } from "./helpers.ts";

const TOKEN = "s3cret-test-token-0001";
const running: Dashboard[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((d) => d.stop()));
});

async function dashboard(prefix: string, token?: string): Promise<Dashboard> {
  const d = await startDashboard({
    redisUrl: redisUrl(),
    prefix,
    port: 0,
    token,
  });
  running.push(d);
  return d;
}

async function get(d: Dashboard, path: string, headers: Record<string, string> = {}) {
  const res = await fetch(d.url + path, { headers });
  const type = res.headers.get("content-type") ?? "";
  const body = type.startsWith("application/json") ? await res.json() : await res.text();
  return { status: res.status, type, body, headers: res.headers };
}

async function post(d: Dashboard, path: string, headers: Record<string, string> = {}, body = {}) {
  const res = await fetch(d.url + path, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const fails = defineTask({
  name: "fails",
  run: async (p: { n: number }) => {
    throw new PermanentError(`failure ${p.n} <script>alert(1)</script>`);
  },
});

describe("dashboard over HTTP", () => {
  test("serves the page and its modules with a strict content security policy", async () => {
    const d = await dashboard(testPrefix());
    expect(d.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const page = await get(d, "/");
    expect(page.status).toBe(200);
    expect(page.type).toStartWith("text/html");
    expect(page.body).toContain('<script type="module" src="/app.js"></script>');
    expect(page.headers.get("content-security-policy")).toContain("script-src 'self'");
    for (const path of ["/app.js", "/dom.js", "/chart.js", "/views.js", "/safe-text.js"]) {
      const js = await get(d, path);
      expect(js.type).toStartWith("text/javascript");
      expect(js.body).not.toMatch(/:\s*(string|number|Row)\b[,)]/); // types are gone
      expect(js.body).not.toContain("innerHTML");
      expect(js.body).not.toMatch(/from "\.\.\//); // type imports from the server are erased
    }
    expect((await get(d, "/style.css")).type).toStartWith("text/css");
    expect((await get(d, "/nope")).status).toBe(404);
  });

  test("overview, workers, failures and metrics follow the queue", async () => {
    const prefix = testPrefix();
    await deadJobs(prefix, 2, { task: fails });
    await using q = await openQueue({ prefix });
    await q.enqueueMany([{ task: "later" }, { task: "later" }, { task: "later" }]);
    const d = await dashboard(prefix);
    const o = await get(d, "/api/overview");
    expect(o.body).toMatchObject({
      queue: "default",
      actions: false,
      counts: { waiting: 3, inFlight: 0, delayed: 0, dead: 2, failed: { lastMinute: 2 } },
    });
    expect(o.body.series).toHaveLength(60);
    const f = await get(d, "/api/failures");
    expect(f.body.failures).toHaveLength(2);
    expect(f.body.failures[0]).toMatchObject({ type: "failed", task: "fails", status: "failed" });
    expect(f.body.failures[0].error).toContain("<script>alert(1)</script>");
    expect((await get(d, "/api/workers")).body).toEqual({ workers: [] });
    const m = await get(d, "/metrics");
    expect(m.type).toBe("text/plain; version=0.0.4; charset=utf-8");
    expect(m.body).toContain('courier_jobs_enqueued_total{queue="default"} 5');
    expect(m.body).toContain('courier_jobs_waiting{queue="default"} 3');
    expect(m.body).toContain('courier_jobs_dead{queue="default"} 2');
  });

  test("dead letters come in pages; a job shows its attempts", async () => {
    const prefix = testPrefix();
    const ids = await deadJobs(prefix, 3, { task: fails, shards: 1 });
    const d = await dashboard(prefix);
    const first = (await get(d, "/api/dead?limit=2")).body;
    expect(first.total).toBe(3);
    expect(first.letters.map((l: { id: string }) => l.id)).toEqual([ids[2], ids[1]]);
    const second = (await get(d, `/api/dead?limit=2&cursor=${first.next}`)).body;
    expect(second).toMatchObject({ total: 3, next: null, letters: [{ id: ids[0], attempts: 1 }] });
    const job = await get(d, `/api/jobs/${ids[0]}`);
    expect(job.body).toMatchObject({ id: ids[0], status: "failed", payload: { n: 0 } });
    expect(job.body.history).toEqual([expect.objectContaining({ attempt: 1, outcome: "failed" })]);
    expect((await get(d, "/api/jobs/unknown")).status).toBe(404);
    expect((await get(d, "/api/jobs/bad%20id")).status).toBe(400);
  });

  test("actions are off without a token, and need it when there is one", async () => {
    const prefix = testPrefix();
    const ids = await deadJobs(prefix, 3, { task: fails });
    const off = await dashboard(prefix);
    const refused = await post(off, `/api/dead/${ids[0]}/requeue`, { "x-courier-token": "x" });
    expect(refused.status).toBe(403);
    expect(refused.body.error).toMatch(/^actions are off: start the dashboard with --token/);

    const on = await dashboard(prefix, TOKEN);
    expect((await get(on, "/api/overview")).body.actions).toBe(true);
    expect((await post(on, `/api/dead/${ids[0]}/requeue`)).status).toBe(403);
    const wrong = await post(on, `/api/dead/${ids[0]}/requeue`, { authorization: "Bearer nope" });
    expect(wrong).toEqual({ status: 403, body: { error: "wrong token" } });
    const bearer = { authorization: `Bearer ${TOKEN}` };
    expect(await post(on, `/api/dead/${ids[0]}/requeue`, bearer)).toEqual({
      status: 200,
      body: { id: ids[0], verdict: "requeued" },
    });
    expect((await post(on, `/api/dead/${ids[0]}/requeue`, bearer)).status).toBe(404);
    const header = { "x-courier-token": TOKEN };
    expect(await post(on, `/api/dead/${ids[1]}/delete`, header)).toEqual({
      status: 200,
      body: { id: ids[1], deleted: true },
    });
    expect(await post(on, "/api/dead/requeue-all", header)).toEqual({
      status: 200,
      body: { requeued: 1 },
    });
    const o = (await get(on, "/api/overview")).body.counts;
    expect(o).toMatchObject({ waiting: 2, dead: 0 });
  });

  test("requeue-all says how many letters it left: their job's record is a key of another type", async () => {
    const prefix = testPrefix();
    const ids = await deadJobs(prefix, 2, { task: fails, shards: 1 });
    await using r = await rawRedis();
    const record = shardKeys(prefix, "default", 1)[0]!.record(ids[0]!);
    await r.sendCommand(["DEL", record]);
    await r.sendCommand(["SADD", record, "x"]);
    const on = await dashboard(prefix, TOKEN);
    expect(await post(on, "/api/dead/requeue-all", { "x-courier-token": TOKEN })).toEqual({
      status: 200,
      body: { requeued: 1, unreadable: 1 },
    });
  });

  // R106 finding 2: such a job read as unknown (404 "unknown id"); it is said as `result` says it.
  for (const [which, cmd, has, wants] of [
    ["record", ["SADD", "x"], "set", "hash"],
    ["result", ["HSET", "f", "v"], "hash", "string"],
  ] as const) {
    test(`a job whose ${which} is a key of another type: 409 naming the key, not 404`, async () => {
      const prefix = testPrefix();
      const ids = await deadJobs(prefix, 1, { task: fails, shards: 1 });
      const keys = shardKeys(prefix, "default", 1)[0]!;
      const key = keys[which](ids[0]!);
      await using r = await rawRedis();
      // A record of another type is read only once the failed value has expired (it says all).
      await r.sendCommand(["DEL", key, ...(which === "record" ? [keys.result(ids[0]!)] : [])]);
      await r.sendCommand([cmd[0], key, ...cmd.slice(1)]);
      const d = await dashboard(prefix);
      expect(await get(d, `/api/jobs/${ids[0]}`)).toMatchObject({
        status: 409,
        body: {
          error: `job ${ids[0]} cannot be read: key ${key} holds a ${has} where Courier keeps a ${wants}; another program uses these keys: give Courier its own --prefix, or delete that key`,
        },
      });
    });
  }

  test("trigger enqueues a word-count job; a URL trigger would refuse is a 400 with the reason", async () => {
    const prefix = testPrefix();
    const d = await dashboard(prefix, TOKEN);
    const auth = { "x-courier-token": TOKEN };
    const bad = await post(d, "/api/trigger", auth, { url: "ftp://example.org/" });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatch(/ftp/);
    expect((await post(d, "/api/trigger", auth, { nope: 1 })).status).toBe(400);
    const ok = await post(d, "/api/trigger", auth, { url: "www.example.org" });
    expect(ok.status).toBe(201);
    expect(ok.body.url).toBe("https://www.example.org/");
    // Read as the dashboard made it (its shard count, not the test's: it was given none).
    await using q = await openQueue({ prefix, shards: undefined });
    expect(await q.getJob(String(ok.body.id))).toMatchObject({
      task: "wordcount",
      status: "queued",
      payload: { url: "https://www.example.org/" },
    });
    expect((await post(d, "/api/trigger", {}, { url: "www.example.org" })).status).toBe(403);
  });

  test("a job not yet due reads as scheduled, with the time it runs", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix });
    const id = await q.enqueue("send", null, { delayMs: 3_600_000, id: "later-1" });
    const runAt = (await q.getJob(id))!.runAt!;
    const d = await dashboard(prefix);
    const job = await get(d, `/api/jobs/${id}`);
    expect(job.body).toMatchObject({
      id,
      status: "scheduled",
      runAt: new Date(runAt).toISOString(),
    });
  });

  test("live updates arrive as server-sent events, the first at once", async () => {
    const d = await dashboard(testPrefix());
    const { headers, data } = await firstSnapshot(`${d.url}/api/events`);
    expect(headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
    expect(Object.keys(data)).toEqual([
      "actions",
      "overview",
      "workers",
      "failures",
      "schedules",
      "limits",
    ]);
    expect(data.overview.counts.waiting).toBe(0);
  });

  test("a port in use is a one-line configuration error", async () => {
    const d = await dashboard(testPrefix());
    const again = startDashboard({ redisUrl: redisUrl(), prefix: testPrefix(), port: d.port });
    await expect(again).rejects.toThrow(
      new ConfigError(
        `cannot listen on 127.0.0.1:${d.port}: address in use (another process listens on that port)`,
      ),
    );
    expect((await get(d, "/nowhere")).headers.get("x-content-type-options")).toBe("nosniff");
  });

  test("on loopback, a request naming another host is refused (DNS rebinding)", async () => {
    const d = await dashboard(testPrefix());
    const res = await get(d, "/api/overview", { host: "evil.example:9181" });
    expect(res.status).toBe(421);
    expect((await get(d, "/api/overview", { host: `localhost:${d.port}` })).status).toBe(200);
  });
});
