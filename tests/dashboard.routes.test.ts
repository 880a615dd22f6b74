// The dashboard's paths: a route's id percent-decoded once (`%2541` is the id "%41", never "A";
// `%25zz` is "%zz", never a 500), a malformed escape 400, and a method a route does not take
// 405 with Allow (not 404, as if the path did not exist).

import { afterEach, describe, expect, test } from "bun:test";
import { request } from "node:http";
import { allowedMethods } from "../lib/dashboard/routes.ts";
import { type Dashboard, startDashboard } from "../lib/dashboard/server.ts";
import { openQueue, redisUrl, testPrefix } from "./helpers.ts";

const TOKEN = "s3cret-test-token-0094";
const running: Dashboard[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((d) => d.stop()));
});

async function dashboard(prefix: string): Promise<Dashboard> {
  const d = await startDashboard({ redisUrl: redisUrl(), prefix, port: 0, token: TOKEN });
  running.push(d);
  return d;
}

async function call(d: Dashboard, path: string, method = "GET") {
  const headers = { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" };
  const res = await fetch(d.url + path, {
    method,
    headers,
    body: method === "POST" ? "{}" : undefined,
  });
  return { status: res.status, body: await res.json(), allow: res.headers.get("allow") };
}

describe("route ids, decoded once", () => {
  test.each([
    ["/api/jobs/%2541", 400, { error: '"%41" is not a job id' }],
    ["/api/jobs/%25zz", 400, { error: '"%zz" is not a job id' }],
    ["/api/jobs/%zz", 400, { error: "the id in the path is not percent-encoded text" }],
    ["/api/jobs/%E2%82", 400, { error: "the id in the path is not percent-encoded text" }],
    [
      "/api/jobs/no%3Asuch",
      404,
      { error: "no job no:such: unknown id, or its record has expired" },
    ],
  ])("GET %s → %i", async (path, status, body) => {
    const d = await dashboard(testPrefix());
    expect(await call(d, path)).toEqual({ status, body, allow: null });
  });

  test("an id with an escaped character is found; actions take ids the same way", async () => {
    const prefix = testPrefix();
    await using q = await openQueue({ prefix });
    await q.enqueue("t", null, { id: "a:b" });
    const d = await dashboard(prefix);
    const job = await call(d, "/api/jobs/a%3Ab");
    expect(job.status).toBe(200);
    expect(job.body.id).toBe("a:b");
    expect((await call(d, "/api/jobs/%25zz/cancel", "POST")).body).toEqual({
      error: '"%zz" is not a job id',
    });
    expect((await call(d, "/api/dead/%zz/requeue", "POST")).status).toBe(400);
  });
});

describe("methods", () => {
  test.each([
    ["/api/jobs/x", "DELETE", "GET"],
    ["/api/overview", "OPTIONS", "GET"],
    ["/api/pause", "GET", "POST"],
    ["/api/dead/requeue-all", "PUT", "POST"],
    ["/", "DELETE", "GET"],
  ])("%s %s → 405, Allow: %s", async (path, method, allow) => {
    const d = await dashboard(testPrefix());
    const r = await call(d, path, method);
    expect(r.status).toBe(405);
    expect(r.allow).toBe(allow);
    expect(r.body).toEqual({ error: `method ${method} not allowed here: use ${allow}` });
  });

  test("TRACE (which fetch refuses to send) is 405 too; a path with no route stays 404", async () => {
    const d = await dashboard(testPrefix());
    const status = await new Promise<number | undefined>((resolve, reject) => {
      const req = request(`${d.url}/api/overview`, { method: "TRACE" }, (res) => {
        res.resume();
        resolve(res.statusCode);
      });
      req.on("error", reject);
      req.end();
    });
    expect(status).toBe(405);
    expect((await call(d, "/api/nowhere", "DELETE")).status).toBe(404);
    expect((await call(d, "/api/jobs/x/y")).status).toBe(404);
  });

  test.each([
    ["/api/jobs/abc", "GET"],
    ["/api/jobs/", undefined],
    ["/api/dead/x/requeue", "POST"],
    ["/api/dead/x/other", undefined],
    ["/api", undefined],
  ])("allowedMethods(%p) is %p", (path, allow) => {
    const table = {
      "/api/jobs/:id": { GET: 1 },
      "/api/dead/:id/requeue": { POST: 1 },
      "/api/dead/requeue-all": { POST: 1 },
    };
    expect(allowedMethods(table, path)).toBe(allow);
  });
});
