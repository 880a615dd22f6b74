// A path whose id segment is `.`, `..` (`%2e%2e` too) or holds a backslash: Bun routes the raw
// path, but req.url is the normalised one (`/api/schedules/%2e/pause` reads as
// `/api/schedules/pause`), so an id read from it would be another's: refused (400), nothing done.
// A path that only normalises onto a route (`/x/../api/pause`) is 404, not a 405 naming the
// method it used.

import { afterEach, expect, test } from "bun:test";
import { request } from "node:http";
import { type Dashboard, startDashboard } from "../lib/dashboard/server.ts";
import { Schedules } from "../lib/schedule/schedules.ts";
import { openQueue, redisUrl, testPrefix } from "./helpers.ts";

const TOKEN = "s3cret-test-token-0190";
const running: Dashboard[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((d) => d.stop()));
});

/** POSTs a raw path, unnormalised (fetch and `new URL` would resolve its dot segments). */
function rawPost(d: Dashboard, path: string): Promise<{ status?: number; body: string }> {
  const { hostname, port } = new URL(d.url);
  return new Promise((resolve, reject) => {
    const headers = { "x-courier-token": TOKEN, "content-type": "application/json" };
    const req = request({ hostname, port, path, method: "POST", headers }, (res) => {
      let body = "";
      res.on("data", (c) => (body += c));
      res.on("end", () => resolve({ status: res.statusCode, body }));
    });
    req.on("error", reject);
    req.end("{}");
  });
}

async function paused(d: Dashboard): Promise<boolean> {
  return (await (await fetch(`${d.url}/api/overview`)).json()).paused;
}

test.each([
  ["/api/schedules/%2e/pause"],
  ["/api/schedules/./pause"],
  ["/api/schedules/%2e%2e/pause"],
  ["/api/schedules/../pause"],
  ["/api/schedules/x\\pause/pause"],
])("POST %s pauses neither schedule `pause` nor the queue (400)", async (path) => {
  const prefix = testPrefix();
  await using q = await openQueue({ prefix });
  const schedules = new Schedules(q.client, prefix);
  await schedules.add({ name: "pause", every: "1h", task: "t" });
  const d = await startDashboard({ redisUrl: redisUrl(), prefix, port: 0, token: TOKEN });
  running.push(d);
  const res = await rawPost(d, path);
  expect(res.status).toBe(400);
  expect(JSON.parse(res.body)).toEqual({
    error:
      "the path has a . or .. segment or a raw backslash, which URLs rewrite: no id is read from it",
  });
  expect((await schedules.get("pause"))?.def?.paused).toBe(false);
  expect(await paused(d)).toBe(false);
});

test.each([["/x/../api/pause"], ["/api/%2e%2e/api/pause"]])(
  "POST %s is 404 (it names no route until normalised)",
  async (path) => {
    const prefix = testPrefix();
    const d = await startDashboard({ redisUrl: redisUrl(), prefix, port: 0, token: TOKEN });
    running.push(d);
    const res = await rawPost(d, path);
    expect({ status: res.status, body: JSON.parse(res.body) }).toEqual({
      status: 404,
      body: { error: "not found" },
    });
    expect(await paused(d)).toBe(false);
  },
);
