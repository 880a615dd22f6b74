// The dashboard: one Bun.serve with the page, its scripts, the JSON API, live updates (SSE)
// and /metrics. It binds to 127.0.0.1 unless told otherwise; actions need its token, and so do
// reads when it is started with `tokenReads`.
import type { Server } from "bun";
import { Admin } from "../admin/admin.ts";
import type { QueueOptions } from "../config.ts";
import { describeCause } from "../connect.ts";
import { ConfigError } from "../errors.ts";
import * as api from "./_api.ts";
import { loadAssets } from "./_assets.ts";
import { checkHost, checkToken, isLoopback, type Verdict } from "./_auth.ts";
import { readBody } from "./_body.ts";
import { LiveHub } from "./_live.ts";
import { Queues } from "./_queues.ts";
import { dashboardDefaults } from "./options.ts";

export { dashboardDefaults };

export interface DashboardOptions extends Partial<QueueOptions> {
  host?: string;
  /** 0 = any free port. */
  port?: number;
  /** Turns actions (requeue, delete, trigger) on; they then need it in a request header. */
  token?: string;
  /** Reads (the API, live updates, /metrics) need the token too; needs `token`. */
  tokenReads?: boolean;
  refreshMs?: number;
  /** Live connections served at once (default 100); the next gets 503. */
  maxLive?: number;
}

export interface Dashboard {
  url: string;
  port: number;
  /** Whether requeue, delete and trigger are on. */
  actions: boolean;
  /** Whether reads need the token too. */
  tokenReads: boolean;
  /** Whether it listens on a loopback address only (reachable from this machine alone). */
  loopback: boolean;
  /** Live connections open now. */
  readonly liveListeners: number;
  stop(): Promise<void>;
}

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

export async function startDashboard(options: DashboardOptions = {}): Promise<Dashboard> {
  const host = options.host ?? dashboardDefaults.host;
  if (options.tokenReads && !options.token) {
    throw new ConfigError("--token-reads needs a token: give --token (or COURIER_DASHBOARD_TOKEN)");
  }
  const queues = new Queues(await Admin.connect(options));
  const ctxOf = (admin: Admin): api.Api => ({
    admin,
    producer: () => queues.producer(admin),
    actions: Boolean(options.token),
  });
  const everyMs = Math.max(dashboardDefaults.refreshMs, options.refreshMs ?? 0);
  const maxLive = options.maxLive ?? dashboardDefaults.maxLive;
  const hub = new LiveHub(
    (name) => () => api.snapshot(ctxOf(queues.admin.forQueue(name))),
    everyMs,
    maxLive,
  );
  const assets = loadAssets();

  /** Host check, errors as JSON (503 while Redis is unreachable), security headers. */
  const guard =
    (handler: Handler, needsToken = false): Handler =>
    async (req) => {
      const checks = [checkHost(req, host), needsToken ? checkToken(req, options.token) : null];
      const denied = checks.find((v): v is Verdict & { ok: false } => v !== null && !v.ok);
      const res = denied
        ? api.json({ error: denied.error }, denied.status)
        : await handler(req).catch(failure);
      for (const [k, v] of Object.entries(SECURITY_HEADERS)) res.headers.set(k, v);
      return res;
    };
  /** A route about one queue (`?queue=`, default the dashboard's own). */
  const scoped =
    (route: Route): Handler =>
    async (req) => {
      const admin = await queues.resolve(new URL(req.url));
      if (!(admin instanceof Admin)) return api.json({ error: admin.error }, admin.status);
      return route(req, ctxOf(admin));
    };
  const read = (route: Route) => guard(scoped(route), options.tokenReads);
  const readJson = (fn: (ctx: api.Api, req: Req) => Promise<unknown>) =>
    read(async (req, ctx) => api.json(await fn(ctx, req)));
  /** An action: the token, then a body of at most bodyMaxBytes. */
  const action = (fn: (req: Req, ctx: api.Api, body: string) => Promise<Response>) =>
    guard(
      scoped(async (req, ctx) => {
        const body = await readBody(req, dashboardDefaults.bodyMaxBytes);
        return typeof body === "string" ? fn(req, ctx, body) : body;
      }),
      true,
    );
  const events = read(async (req, ctx) => {
    // A stalled connection's socket is closed within a few seconds (uWS checks every 4 s).
    const stream = hub.subscribe(ctx.admin.options.queue, req.signal, () => server.timeout(req, 1));
    if (stream) return stream;
    const error = `too many live connections (${maxLive}): close a dashboard page, or raise --max-live`;
    return Response.json({ error }, { status: 503, headers: { "retry-after": "5" } });
  });
  const asset = (path: string) =>
    guard(async () => {
      const a = assets.get(path)!;
      return new Response(a.body, { headers: { "content-type": a.type } });
    });
  const id = (req: Req) => decodeURIComponent(req.params.id ?? "");

  const notFound = guard(async () => api.json({ error: "not found" }, 404));
  const wantPort = options.port ?? dashboardDefaults.port;
  let server: Server<undefined>;
  try {
    server = Bun.serve({
      hostname: host,
      port: wantPort,
      routes: {
        ...Object.fromEntries([...assets.keys()].map((path) => [path, { GET: asset(path) }])),
        "/api/queues": {
          GET: guard(
            async () => api.json({ queues: await queues.list(), default: queues.name }),
            options.tokenReads,
          ),
        },
        "/api/overview": { GET: readJson((ctx) => api.overview(ctx)) },
        "/api/workers": { GET: readJson((ctx) => api.workers(ctx)) },
        "/api/failures": { GET: readJson((ctx) => api.failures(ctx)) },
        "/api/dead": { GET: read((req, ctx) => api.deadPage(ctx, new URL(req.url))) },
        "/api/jobs/:id": { GET: read((req, ctx) => api.job(ctx, id(req))) },
        "/api/events": { GET: events },
        "/metrics": { GET: read((_, ctx) => api.metrics(ctx)) },
        "/api/dead/requeue-all": { POST: action((_, ctx) => api.requeueAll(ctx)) },
        "/api/dead/:id/requeue": { POST: action((req, ctx) => api.requeue(ctx, id(req))) },
        "/api/dead/:id/delete": { POST: action((req, ctx) => api.remove(ctx, id(req))) },
        "/api/trigger": { POST: action((_, ctx, body) => api.trigger(ctx, body)) },
      },
      fetch: (req) => notFound(Object.assign(req, { params: {} })),
    });
  } catch (err) {
    await queues.close();
    if ((err as { code?: string })?.code !== "EADDRINUSE") throw err;
    throw new ConfigError(`port ${wantPort} on ${host} is in use: choose another with --port`);
  }
  const port = server.port ?? 0;
  return {
    url: `http://${host.includes(":") ? `[${host}]` : host}:${port}`,
    port,
    actions: Boolean(options.token),
    tokenReads: Boolean(options.tokenReads),
    loopback: isLoopback(host),
    get liveListeners() {
      return hub.listeners;
    },
    async stop() {
      hub.close();
      await server.stop(true);
      await queues.close();
    },
  };
}

/**
 * Redis unreachable (down, restarting) is 503 with the cause. Anything else is a bug or a reply
 * the API should have prevented: 500, told in the dashboard's log, never in the response (a
 * raw Redis error names keys and commands).
 */
function failure(err: unknown): Response {
  const name = (err as Error)?.constructor?.name ?? "";
  if (/Client|Socket|Connect|Reconnect|Redis|Offline|Closed/.test(name)) {
    return api.json({ error: `Redis unavailable: ${describeCause(err)}` }, 503);
  }
  // JSON-quoted: a control character in the message does not reach the terminal raw.
  process.stderr.write(`dashboard: internal error: ${JSON.stringify(describeCause(err))}\n`);
  return api.json({ error: "internal error: the dashboard's log has the details" }, 500);
}
