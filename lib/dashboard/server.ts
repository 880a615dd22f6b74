// The dashboard: one Bun.serve with the page, its scripts, the JSON API, live updates (SSE)
// and /metrics. It binds to 127.0.0.1 unless told otherwise; actions need its token.
import type { Server } from "bun";
import { Admin } from "../admin/admin.ts";
import type { QueueOptions } from "../config.ts";
import { describeCause } from "../connect.ts";
import { ConfigError } from "../errors.ts";
import { Queue } from "../queue.ts";
import * as api from "./_api.ts";
import { loadAssets } from "./_assets.ts";
import { checkHost, checkToken, isLoopback } from "./_auth.ts";
import { Live } from "./_live.ts";
import { dashboardDefaults } from "./options.ts";

export { dashboardDefaults };

export interface DashboardOptions extends Partial<QueueOptions> {
  host?: string;
  /** 0 = any free port. */
  port?: number;
  /** Turns actions (requeue, delete, trigger) on; they then need it in a request header. */
  token?: string;
  refreshMs?: number;
}

export interface Dashboard {
  url: string;
  port: number;
  /** Whether requeue, delete and trigger are on. */
  actions: boolean;
  /** Whether it listens on a loopback address only (reachable from this machine alone). */
  loopback: boolean;
  stop(): Promise<void>;
}

// Defence in depth: even a string that slipped into the DOM as markup could not run a script.
const SECURITY_HEADERS = {
  "content-security-policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
};

type Handler = (req: Request & { params: Record<string, string> }) => Promise<Response>;

export async function startDashboard(options: DashboardOptions = {}): Promise<Dashboard> {
  const host = options.host ?? dashboardDefaults.host;
  const admin = await Admin.connect(options);
  const queue = await Queue.connect(options).catch(async (err) => {
    await admin.close();
    throw err;
  });
  const ctx: api.Api = { admin, queue, actions: Boolean(options.token) };
  const everyMs = Math.max(dashboardDefaults.refreshMs, options.refreshMs ?? 0);
  const live = new Live(() => api.snapshot(ctx), everyMs);
  const assets = loadAssets();

  /** Host check, errors as JSON (503 while Redis is unreachable), security headers. */
  const guard =
    (handler: Handler, action = false): Handler =>
    async (req) => {
      const checks = [checkHost(req, host), action ? checkToken(req, options.token) : null];
      const denied = checks.find((v) => v && !v.ok);
      const res =
        denied && !denied.ok
          ? api.json({ error: denied.error }, denied.status)
          : await handler(req).catch(failure);
      for (const [k, v] of Object.entries(SECURITY_HEADERS)) res.headers.set(k, v);
      return res;
    };
  const read = (fn: (req: Request) => Promise<unknown>) =>
    guard(async (req) => api.json(await fn(req)));
  const asset = (path: string) =>
    guard(async () => {
      const a = assets.get(path)!;
      return new Response(a.body, { headers: { "content-type": a.type } });
    });
  const id = (req: { params: Record<string, string> }) => decodeURIComponent(req.params.id ?? "");

  const notFound = guard(async () => api.json({ error: "not found" }, 404));
  const wantPort = options.port ?? dashboardDefaults.port;
  let server: Server<undefined>;
  try {
    server = Bun.serve({
      hostname: host,
      port: wantPort,
      routes: {
        ...Object.fromEntries([...assets.keys()].map((path) => [path, { GET: asset(path) }])),
        "/api/overview": { GET: read(() => api.overview(ctx)) },
        "/api/workers": { GET: read(() => api.workers(ctx)) },
        "/api/failures": { GET: read(() => api.failures(ctx)) },
        "/api/dead": { GET: read((req) => api.deadPage(ctx, new URL(req.url))) },
        "/api/jobs/:id": { GET: guard((req) => api.job(ctx, id(req))) },
        "/api/events": { GET: guard(async (req) => live.subscribe(req.signal)) },
        "/metrics": { GET: guard(() => api.metrics(ctx)) },
        "/api/dead/requeue-all": { POST: guard(() => api.requeueAll(ctx), true) },
        "/api/dead/:id/requeue": { POST: guard((req) => api.requeue(ctx, id(req)), true) },
        "/api/dead/:id/delete": { POST: guard((req) => api.remove(ctx, id(req)), true) },
        "/api/trigger": { POST: guard((req) => api.trigger(ctx, req), true) },
      },
      fetch: (req) => notFound(Object.assign(req, { params: {} })),
    });
  } catch (err) {
    await Promise.all([admin.close(), queue.close()]);
    if ((err as { code?: string })?.code !== "EADDRINUSE") throw err;
    throw new ConfigError(`port ${wantPort} on ${host} is in use: choose another with --port`);
  }
  const port = server.port ?? 0;
  return {
    url: `http://${host.includes(":") ? `[${host}]` : host}:${port}`,
    port,
    actions: ctx.actions,
    loopback: isLoopback(host),
    async stop() {
      live.close();
      await server.stop(true);
      await Promise.all([admin.close(), queue.close()]);
    },
  };
}

/** Redis errors (down, restarting) are 503 with the cause; anything else is a bug: 500. */
function failure(err: unknown): Response {
  const name = (err as Error)?.constructor?.name ?? "";
  const redis = /Client|Socket|Connect|Reconnect|Redis|Offline|Closed/.test(name);
  return api.json(
    { error: redis ? `Redis unavailable: ${describeCause(err)}` : describeCause(err) },
    redis ? 503 : 500,
  );
}
