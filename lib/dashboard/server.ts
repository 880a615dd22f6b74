// The dashboard: one Bun.serve with the page, its scripts, the JSON API, live updates (SSE)
// and /metrics. It binds to 127.0.0.1 unless told otherwise; actions need its token, and so do
// reads when it is started with `tokenReads`.
import type { Server } from "bun";
import { Admin } from "../admin/admin.ts";
import { defaults, INTERVAL_LIMIT_MS, type QueueOptions } from "../config.ts";
import { ConfigError } from "../errors.ts";
import { kind } from "../option-keys.ts";
import { NODE_WAIT_MS } from "../redis/cluster.ts";
import { hostPort, listenError } from "../worker/health.ts";
import * as reads from "./api-reads.ts";
import { listenAddress } from "./auth.ts";
import { LiveHub } from "./live.ts";
import {
  checkDashboardOptions,
  checkDashboardToken,
  DASHBOARD_KEYS,
  dashboardDefaults,
} from "./options.ts";

import { Queues } from "./queues.ts";
import { apiFor, routes } from "./routes.ts";

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

/** Also `await using`: stopped as the block ends. */
export interface Dashboard extends AsyncDisposable {
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

export async function startDashboard(options: DashboardOptions = {}): Promise<Dashboard> {
  checkDashboardOptions(options);
  const host = options.host ?? dashboardDefaults.host;
  if (options.tokenReads && !options.token) {
    throw new ConfigError("--token-reads needs a token: give --token (or COURIER_DASHBOARD_TOKEN)");
  }
  if (options.token === "") options = { ...options, token: undefined }; // no token: actions off
  checkDashboardToken(options.token);
  const maxLive = options.maxLive ?? dashboardDefaults.maxLive;
  if (!Number.isInteger(maxLive) || maxLive < 1) {
    throw new ConfigError(`maxLive must be a whole number of at least 1, got ${kind(maxLive)}`);
  }
  const everyMs = refreshEveryMs(options.refreshMs);
  const queues = new Queues(await Admin.connect(queueOptions(options)));
  const snapshotOf = (name: string) => {
    const admin = name === queues.name ? queues.admin : queues.admin.forQueue(name);
    return async () => {
      await queues.readable(admin); // a format changed since: the streams end with the refusal
      return reads.snapshot(apiFor(queues, admin, options));
    };
  };
  const hub = new LiveHub(snapshotOf, everyMs, maxLive);
  const wantPort = options.port ?? dashboardDefaults.port;
  const { hostname, loopback } = await listenAddress(host);
  let server: Server<undefined>;
  try {
    const table = routes({
      ...options,
      host,
      loopback,
      queues,
      hub,
      maxLive,
      server: () => server,
    });
    const idleTimeout = idleTimeoutS(options.commandTimeoutMs ?? defaults.commandTimeoutMs);
    server = Bun.serve({ hostname, port: wantPort, idleTimeout, ...table });
  } catch (err) {
    await queues.close();
    throw listenError(err, host, wantPort); // one wording for every command (exit 2)
  }
  const port = server.port ?? 0;
  const stop = async () => {
    hub.close();
    await server.stop(true);
    await queues.close();
  };
  return {
    url: `http://${hostPort(host, port)}`,
    port,
    actions: Boolean(options.token),
    tokenReads: Boolean(options.tokenReads),
    loopback,
    get liveListeners() {
      return hub.listeners;
    },
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

/**
 * Bun.serve's idleTimeout, in seconds (Bun's default, 10, is no longer than a read's own limit:
 * a read Redis left unanswered had its connection closed, with no answer, before its 503):
 * past the longest a read waits for Redis, by dashboardDefaults.idleMarginS; at most Bun's 255.
 */
export function idleTimeoutS(commandTimeoutMs: number): number {
  const waitMs = Math.max(commandTimeoutMs, NODE_WAIT_MS);
  return Math.min(IDLE_TIMEOUT_MAX_S, Math.ceil(waitMs / 1_000) + dashboardDefaults.idleMarginS);
}

/** The longest idleTimeout Bun takes. */
const IDLE_TIMEOUT_MAX_S = 255;

/** The options the dashboard's Admin connects with: its own left out (Admin knows none). */
function queueOptions(options: DashboardOptions): Partial<QueueOptions> {
  return Object.fromEntries(Object.entries(options).filter(([k]) => !DASHBOARD_KEYS.includes(k)));
}

/**
 * How often live pages refresh: `refreshMs`, never below dashboardDefaults.refreshMs (a full
 * read each time); NaN would make it every millisecond, so a value that is no whole number of
 * ms is refused.
 */
function refreshEveryMs(refreshMs: unknown): number {
  if (refreshMs === undefined) return dashboardDefaults.refreshMs;
  const whole = typeof refreshMs === "number" && Number.isInteger(refreshMs);
  if (!whole || refreshMs < 0 || refreshMs > INTERVAL_LIMIT_MS) {
    throw new ConfigError(
      `refreshMs must be a whole number of ms from 0 to ${INTERVAL_LIMIT_MS}, got ${kind(refreshMs)}`,
    );
  }
  return Math.max(dashboardDefaults.refreshMs, refreshMs);
}
