// The dashboard's token, route by route: every action route refuses a request without the
// token and one with a wrong token (403, nothing done) and serves one with it; the table is
// checked against the routes the server declares, so a new action route needs a row here. With
// `tokenReads`, every read route is guarded the same way, and the page itself stays open.
import { afterEach, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { type Dashboard, startDashboard } from "../lib/dashboard/server.ts";
import { ConfigError } from "../lib/errors.ts";
import { deadJobs } from "./fixtures/dashboard.ts";
import { ROOT, redisUrl, testPrefix } from "./helpers.ts";

const TOKEN = "auth-test-token-0001";
const running: Dashboard[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((d) => d.stop()));
});

async function dashboard(prefix: string, tokenReads = false): Promise<Dashboard> {
  const d = await startDashboard({
    redisUrl: redisUrl(),
    prefix,
    port: 0,
    token: TOKEN,
    tokenReads,
  });
  running.push(d);
  return d;
}

async function counts(d: Dashboard) {
  const res = await fetch(`${d.url}/api/overview`, { headers: { "x-courier-token": TOKEN } });
  const { counts, paused } = (await res.json()) as {
    counts: { waiting: number; dead: number };
    paused: boolean;
  };
  return { waiting: counts.waiting, dead: counts.dead, paused };
}

interface ActionRow {
  route: string;
  path: (id: string) => string;
  body?: unknown;
  status: number;
  /** The counts once it has run (from 1 dead job, nothing waiting, not paused). */
  after: { waiting: number; dead: number; paused?: boolean };
  /** The queue is paused before (through /api/pause, with the token). */
  startPaused?: boolean;
}

const ACTIONS: ActionRow[] = [
  {
    route: "/api/dead/:id/requeue",
    path: (id) => `/api/dead/${id}/requeue`,
    status: 200,
    after: { waiting: 1, dead: 0 },
  },
  {
    route: "/api/dead/:id/delete",
    path: (id) => `/api/dead/${id}/delete`,
    status: 200,
    after: { waiting: 0, dead: 0 },
  },
  {
    route: "/api/dead/requeue-all",
    path: () => "/api/dead/requeue-all",
    status: 200,
    after: { waiting: 1, dead: 0 },
  },
  {
    // The dead job has ended (failed): a cancel answers so and changes nothing.
    route: "/api/jobs/:id/cancel",
    path: (id) => `/api/jobs/${id}/cancel`,
    status: 200,
    after: { waiting: 0, dead: 1 },
  },
  {
    route: "/api/trigger",
    path: () => "/api/trigger",
    body: { url: "www.example.org" },
    status: 201,
    after: { waiting: 1, dead: 1 },
  },
  {
    route: "/api/pause",
    path: () => "/api/pause",
    status: 200,
    after: { waiting: 0, dead: 1, paused: true },
  },
  {
    // Nothing waits (the one job is dead): removes nothing, leaves the letter.
    route: "/api/empty",
    path: () => "/api/empty",
    status: 200,
    after: { waiting: 0, dead: 1 },
  },
  {
    // No schedule of that name: 404 once the token is right, nothing done.
    route: "/api/schedules/:id/pause",
    path: () => "/api/schedules/nightly/pause",
    status: 404,
    after: { waiting: 0, dead: 1 },
  },
  {
    route: "/api/schedules/:id/resume",
    path: () => "/api/schedules/nightly/resume",
    status: 404,
    after: { waiting: 0, dead: 1 },
  },
  {
    route: "/api/resume",
    path: () => "/api/resume",
    status: 200,
    startPaused: true,
    after: { waiting: 0, dead: 1, paused: false },
  },
];

describe("every action route needs the token", () => {
  test("the table names every action route the server declares", () => {
    // Every POST route is declared as `"<path>": act(…)` (or with a POST key) in _routes.ts.
    const source = readFileSync(join(ROOT, "lib/dashboard/routes.ts"), "utf8");
    const declared = [...source.matchAll(/"(\/[^"]+)": (?:act\(|\{\s*POST:)/g)].map((m) => m[1]);
    expect(declared.sort()).toEqual(ACTIONS.map((a) => a.route).sort());
  });

  test.each(ACTIONS.map((a) => [a.route, a] as const))("%s", async (_, row) => {
    const prefix = testPrefix();
    const [id] = await deadJobs(prefix, 1);
    const d = await dashboard(prefix);
    const send = (headers: Record<string, string>, path = row.path(id!)) =>
      fetch(d.url + path, {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body: JSON.stringify(row.body ?? {}),
      });
    if (row.startPaused)
      expect((await send({ "x-courier-token": TOKEN }, "/api/pause")).ok).toBe(true);
    const refusals: [Record<string, string>, string][] = [
      [{}, "this action needs the dashboard's token"],
      [{ "x-courier-token": "wrong" }, "wrong token"],
      [{ authorization: "Bearer wrong" }, "wrong token"],
      [{ authorization: "Bearer " }, "this action needs the dashboard's token"],
    ];
    for (const [headers, error] of refusals) {
      const res = await send(headers);
      expect({ status: res.status, body: await res.json() }).toEqual({
        status: 403,
        body: { error },
      });
    }
    const paused = row.startPaused === true;
    expect(await counts(d)).toEqual({ waiting: 0, dead: 1, paused }); // nothing was done
    const ok = await send({ authorization: `Bearer ${TOKEN}` });
    expect(ok.status).toBe(row.status);
    expect(await counts(d)).toEqual({ paused: false, ...row.after });
  });
});

describe("--token-reads", () => {
  const READS = [
    "/api/overview",
    "/api/workers",
    "/api/failures",
    "/api/dead",
    "/api/jobs/some-id",
    "/api/jobs?state=waiting",
    "/api/events",
    "/api/queues",
    "/metrics",
  ];

  test("every read needs the token, its answer stored by no cache; the page, its scripts and the icon do not", async () => {
    const d = await dashboard(testPrefix(), true);
    for (const path of READS) {
      for (const headers of [{}, { "x-courier-token": "wrong" }] as Record<string, string>[]) {
        const res = await fetch(d.url + path, { headers });
        const error = headers["x-courier-token"]
          ? "wrong token"
          : "reading this dashboard needs the dashboard's token";
        expect({ path, status: res.status, body: await res.json() }).toEqual({
          path,
          status: 403,
          body: { error },
        });
      }
      const controller = new AbortController();
      const res = await fetch(d.url + path, {
        headers: { authorization: `Bearer ${TOKEN}` },
        signal: controller.signal,
      });
      // What the token let through is stored by no cache (a proxy's served it to anyone).
      const cache = res.headers.get("cache-control");
      expect({ path, status: res.status, cache }).toEqual({
        path,
        status: path.startsWith("/api/jobs/") ? 404 : 200,
        cache: "no-store",
      });
      controller.abort();
    }
    for (const path of ["/", "/app.js", "/live.js", "/style.css", "/favicon.ico"]) {
      expect({ path, status: (await fetch(d.url + path)).status }).toEqual({ path, status: 200 });
    }
  });

  test("without it, reads are open; asking for it with no token is a configuration error", async () => {
    const d = await dashboard(testPrefix());
    for (const path of READS.filter((p) => p !== "/api/events" && !p.startsWith("/api/jobs"))) {
      expect({ path, status: (await fetch(d.url + path)).status }).toEqual({ path, status: 200 });
    }
    const started = startDashboard({ redisUrl: redisUrl(), port: 0, tokenReads: true });
    await expect(started).rejects.toThrow(
      new ConfigError("--token-reads needs a token: give --token (or COURIER_DASHBOARD_TOKEN)"),
    );
  });
});
