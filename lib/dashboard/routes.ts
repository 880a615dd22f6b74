// The dashboard's routes, each wrapped in what it needs: the Host check and security headers
// (all), the queue it names (`?queue=`, the API), the token (actions; reads too when the
// dashboard asks a token for them) and a bounded body (actions). Errors become JSON.
import type { Server } from "bun";
import type { Admin } from "../admin/admin.ts";
import * as api from "./api.ts";
import * as actions from "./api-actions.ts";
import * as reads from "./api-reads.ts";
import { loadAssets } from "./assets.ts";
import { checkHost, checkToken, type Verdict } from "./auth.ts";
import { readBody } from "./body.ts";
import type { LiveHub } from "./live.ts";
import { dashboardDefaults } from "./options.ts";
import type { Queues } from "./queues.ts";
import { setSchedulePaused } from "./schedules.ts";

// Defence in depth: even a string that slipped into the DOM as markup could not run a script.
const SECURITY_HEADERS = {
  "content-security-policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
};

type Req = Request & { params: Record<string, string> };
type Handler = (req: Req) => Promise<Response>;
/** An API route: the request and the API of the queue it names. */
type Route = (req: Req, ctx: api.Api) => Promise<Response>;

export interface RouteDeps {
  /** Listening on loopback only (listenAddress): the Host check is on. */
  loopback: boolean;
  /** The host it was given (`--host`): a Host header naming it passes the check too. */
  host: string;
  token?: string;
  tokenReads?: boolean;
  queues: Queues;
  hub: LiveHub;
  maxLive: number;
  /** The server, once started (a stalled live connection is timed out through it). */
  server: () => Server<undefined>;
}

/** The API of one queue, for a request about it. */
export function apiFor(queues: Queues, admin: Admin, o: { token?: string }): api.Api {
  return { admin, producer: () => queues.producer(admin), actions: Boolean(o.token) };
}

/** Host check, errors as JSON (503 while Redis is unreachable), security headers. */
function checked(d: RouteDeps, handler: Handler, token?: "action" | "read"): Handler {
  return async (req) => {
    const checks = [
      checkHost(req, d.loopback, d.host),
      token ? checkToken(req, d.token, token) : null,
    ];
    const denied = checks.find((v): v is Verdict & { ok: false } => v !== null && !v.ok);
    const res = denied
      ? api.json({ error: denied.error }, denied.status)
      : await handler(req).catch(failure);
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) res.headers.set(k, v);
    return res;
  };
}

/** A route about one queue (`?queue=`, default the dashboard's own). */
function scoped(d: RouteDeps, route: Route): Handler {
  return async (req) => {
    const admin = await d.queues.resolve(new URL(req.url));
    if ("error" in admin) return api.json({ error: admin.error }, admin.status);
    // A key of the queue holding another type: 409 naming it (as `info` names it), not a 500.
    const answer = await admin.settle(route(req, apiFor(d.queues, admin, d)));
    return answer instanceof Response ? answer : api.json({ error: answer.unreadable }, 409);
  };
}

/**
 * An action: the token, the queue's data format checked again (one HGET a shard: another
 * Courier may have taken the queue since it was last read; a refusal is a 409, nothing
 * written), then a body of at most bodyMaxBytes (413 beyond).
 */
function action(d: RouteDeps, fn: (req: Req, ctx: api.Api, body: string) => Promise<Response>) {
  const withBody: Route = async (req, ctx) => {
    await ctx.admin.checkFormat();
    const body = await readBody(req, dashboardDefaults.bodyMaxBytes);
    return typeof body === "string" ? fn(req, ctx, body) : body;
  };
  return checked(d, scoped(d, withBody), "action");
}

/** Live updates, or 503 when `maxLive` connections are open. */
function events(d: RouteDeps): Route {
  return async (req, ctx) => {
    // A stalled connection's socket is closed within seconds (uWS checks timeouts every 4 s).
    const onStalled = () => d.server().timeout(req, 1);
    const stream = d.hub.subscribe(ctx.admin.options.queue, req.signal, onStalled);
    if (stream) return stream;
    const error = `too many live connections (${d.maxLive}): close a dashboard page, or raise --max-live`;
    const res = api.json({ error }, 503);
    res.headers.set("retry-after", "5");
    return res;
  };
}

/**
 * A route about the `:id` in its path (`/api/jobs/:id`, `/api/dead/:id/requeue`, …: the third
 * segment), percent-decoded once, from the raw path: Bun's params are decoded already (decoding
 * them again read `%2541` as `A` and failed on `%25zz`), and turn a malformed escape (`%zz`)
 * into U+FFFD silently. A malformed one is 400.
 *
 * Bun routes the path as sent, but req.url is the normalised one: a `.` or `..` segment
 * (`%2e` too) resolved, a backslash made a slash. Its third segment is then another id
 * (`/api/schedules/%2e/pause` read as schedule `pause`), so an id that is not the one routed
 * (the param) is refused, nothing done.
 */
function byId(fn: (ctx: api.Api, id: string) => Promise<Response>): Route {
  return async (req, ctx) => {
    const raw = new URL(req.url).pathname.split("/")[3] ?? "";
    let id: string;
    try {
      id = decodeURIComponent(raw);
    } catch {
      return api.json({ error: "the id in the path is not percent-encoded text" }, 400);
    }
    if (id !== req.params.id) return api.json({ error: REWRITTEN_PATH }, 400);
    return fn(ctx, id);
  };
}

const REWRITTEN_PATH =
  "the path has a . or .. segment or a raw backslash, which URLs rewrite: no id is read from it";

/** Bun.serve's `routes` and `fetch` (404 for anything else). */
export function routes(d: RouteDeps) {
  const readToken = d.tokenReads ? "read" : undefined;
  const read = (route: Route) => checked(d, scoped(d, route), readToken);
  const readJson = (fn: (ctx: api.Api) => Promise<unknown>) =>
    read(async (_, ctx) => api.json(await fn(ctx)));
  const act = (fn: (req: Req, ctx: api.Api, body: string) => Promise<Response>) => ({
    POST: action(d, fn),
  });
  const assets = loadAssets();
  const asset = (path: string) =>
    checked(d, async () => {
      const a = assets.get(path)!;
      return new Response(a.body, { headers: { "content-type": a.type } });
    });
  const queueList = async () => api.json({ queues: await d.queues.list(), default: d.queues.name });
  const table: Record<string, Record<string, Handler>> = {
    ...Object.fromEntries([...assets.keys()].map((path) => [path, { GET: asset(path) }])),
    "/api/queues": { GET: checked(d, queueList, readToken) },
    "/api/overview": { GET: readJson((ctx) => reads.overview(ctx)) },
    "/api/workers": { GET: readJson((ctx) => reads.workers(ctx)) },
    "/api/failures": { GET: readJson((ctx) => reads.failures(ctx)) },
    "/api/limits": { GET: readJson((ctx) => reads.limits(ctx)) },
    "/api/dead": { GET: read((req, ctx) => reads.deadPage(ctx, new URL(req.url))) },
    "/api/jobs": { GET: read((req, ctx) => reads.jobsPage(ctx, new URL(req.url))) },
    "/api/jobs/:id": { GET: read(byId((ctx, id) => reads.job(ctx, id))) },
    "/api/events": { GET: read(events(d)) },
    "/metrics": { GET: read((_, ctx) => reads.metrics(ctx)) },
    // Actions: every one is in tests/dashboard.auth.test.ts's table.
    "/api/dead/requeue-all": act((_, ctx) => actions.requeueAll(ctx)),
    "/api/dead/:id/requeue": act(byId((ctx, id) => actions.requeue(ctx, id))),
    "/api/dead/:id/delete": act(byId((ctx, id) => actions.remove(ctx, id))),
    "/api/trigger": act((_, ctx, body) => actions.trigger(ctx, body)),
    "/api/jobs/:id/cancel": act(byId((ctx, id) => actions.cancel(ctx, id))),
    "/api/pause": act((_, ctx) => actions.setPaused(ctx, true)),
    "/api/resume": act((_, ctx) => actions.setPaused(ctx, false)),
    "/api/empty": act((_, ctx) => actions.empty(ctx)),
    "/api/schedules/:id/pause": act(byId((ctx, id) => setSchedulePaused(ctx, id, true))),
    "/api/schedules/:id/resume": act(byId((ctx, id) => setSchedulePaused(ctx, id, false))),
  };
  const unrouted = checked(d, async (req) => {
    const allow = allowedMethods(table, new URL(req.url).pathname);
    // The router saw the path as sent; req.url is normalised. A route that takes this method
    // there means the path only reached it through a `.`/`..` segment or a backslash: no route.
    const rewritten = allow?.split(", ").includes(req.method);
    if (!allow || rewritten) return api.json({ error: "not found" }, 404);
    const error = `method ${req.method} not allowed here: use ${allow}`;
    const res = api.json({ error }, 405);
    res.headers.set("allow", allow);
    return res;
  });
  return { routes: table, fetch: (req: Request) => unrouted(Object.assign(req, { params: {} })) };
}

/**
 * The methods a path's route takes (`GET`, `POST`), or undefined for no route: a DELETE or an
 * OPTIONS on a route is 405 with Allow, not 404 as if the path did not exist.
 */
export function allowedMethods(
  table: Record<string, Record<string, unknown>>,
  path: string,
): string | undefined {
  const parts = path.split("/");
  for (const [pattern, methods] of Object.entries(table)) {
    const want = pattern.split("/");
    const same = (p: string, i: number) => p === parts[i] || (p.startsWith(":") && parts[i] !== "");
    if (want.length === parts.length && want.every(same)) return Object.keys(methods).join(", ");
  }
  return undefined;
}

/**
 * Redis unreachable (down, restarting) is 503 with the cause; Redis full, 507. Anything else
 * is a bug or a reply the API should have prevented: 500, told in the dashboard's log, never
 * in the response (a raw Redis error names keys and commands).
 */
function failure(err: unknown): Response {
  const { status, error } = api.publicFailure(err);
  return api.json({ error }, status);
}
