#!/usr/bin/env bun
// The web dashboard, like rq-dashboard: `[--host H] [--port P] [--token T [--token-reads]]
// [--max-live N]`.
import { isIPv4 } from "node:net";
import { defineCommand } from "citty";
import { onStopSignals } from "../lib/cli/stop-signals.ts";
import { dashboardDefaults } from "../lib/dashboard/options.ts";
import { startDashboard } from "../lib/dashboard/server.ts";
import { shownInput } from "../lib/safe-text.ts";
import { withPortHint } from "../lib/worker/health.ts";
import {
  commonArgs,
  intArgOrEnv,
  queueArgs,
  runCli,
  runsWithStdoutClosed,
  UsageError,
} from "./_cli.ts";

const command = defineCommand({
  meta: {
    name: "dashboard",
    description:
      "Serve a live dashboard of the queues under the prefix (counts, throughput, workers, failures, dead letters, jobs; --queue is the one it opens on), its JSON API under /api/ and Prometheus metrics at /metrics. Actions (requeue, delete and requeue all dead jobs, cancel a job, trigger a URL, pause, resume and empty the queue, a schedule's pause and resume) are off unless a token is given; requests must then carry it. Stops on SIGINT/SIGTERM/SIGHUP.",
  },
  args: {
    host: {
      type: "string",
      description: `Address to listen on (env COURIER_DASHBOARD_HOST; default ${dashboardDefaults.host}: this machine only)`,
    },
    port: {
      type: "string",
      description: `Port (env COURIER_DASHBOARD_PORT; default ${dashboardDefaults.port}; 0 = any free port)`,
    },
    token: {
      type: "string",
      description:
        "Turns actions on; at least 16 characters of printable ASCII (e.g. `openssl rand -hex 16`); the page asks for it, API calls send it as Authorization: Bearer or X-Courier-Token (env COURIER_DASHBOARD_TOKEN; default: actions off)",
    },
    "token-reads": {
      type: "boolean",
      description:
        "Reads need the token too: the API, live updates and /metrics answer 403 without it, and the page asks for it (env COURIER_DASHBOARD_TOKEN_READS=1, true or yes; 0, false, no or empty is off, another value exits 2; needs --token; default: reads open)",
    },
    "max-live": {
      type: "string",
      description: `Live connections (open pages) served at once; the next gets 503 (env COURIER_DASHBOARD_MAX_LIVE; default ${dashboardDefaults.maxLive})`,
    },
    ...commonArgs,
  },
  async run({ args }) {
    const env = process.env;
    const host = listenHost(args.host || env.COURIER_DASHBOARD_HOST || undefined);
    const port = intArgOrEnv(args.port, "port", "COURIER_DASHBOARD_PORT", 0, 65_535);
    const dashboard = await startDashboard({
      ...queueArgs(args),
      host,
      port,
      token: args.token || env.COURIER_DASHBOARD_TOKEN || undefined,
      // The env checked even with --token-reads: a bad value is refused either way.
      tokenReads: envSwitch(env.COURIER_DASHBOARD_TOKEN_READS) || args["token-reads"],
      maxLive: intArgOrEnv(args["max-live"], "max-live", "COURIER_DASHBOARD_MAX_LIVE", 1, 100_000),
    }).catch((err) => {
      throw withPortHint(err, "give another --port or COURIER_DASHBOARD_PORT");
    });
    // Listening before the line that says it serves: a signal sent on seeing that line (a
    // supervisor, a test) found no handler yet, and its default action killed the process.
    const stopped = new Promise<void>((resolve) => {
      onStopSignals(() => resolve(), { once: true });
    });
    const actions = dashboard.actions ? "actions on, with the token" : "actions off: no token";
    const reads = dashboard.tokenReads ? "; reads need the token too" : "";
    process.stdout.write(
      `dashboard on ${dashboard.url}  (${actions}${reads}; metrics at /metrics)\n`,
    );
    if (!dashboard.loopback) {
      process.stderr.write(
        "dashboard: warning: not on a loopback address: whoever reaches this port can read every job's payload\n",
      );
    }
    await stopped;
    await dashboard.stop();
  },
});
runsWithStdoutClosed(command); // its output is a log

/** An address of digits and dots must be a real IPv4 address (256.1.1.1 is not one). */
function listenHost(host: string | undefined): string | undefined {
  if (host !== undefined && /^[\d.]+$/.test(host) && !isIPv4(host)) {
    throw new UsageError(
      `host ${host} (--host or COURIER_DASHBOARD_HOST) is not an IPv4 address: each part is 0-255`,
    );
  }
  return host;
}

/**
 * COURIER_DASHBOARD_TOKEN_READS: 1, true or yes is on; 0, false, no or empty off. Anything else
 * is refused: read as off, a typo (`on`) left every read open while the operator thought not.
 */
function envSwitch(value: string | undefined): boolean {
  if (/^(1|true|yes)$/i.test(value ?? "")) return true;
  if (/^(0|false|no|)$/i.test(value ?? "")) return false;
  throw new UsageError(
    `COURIER_DASHBOARD_TOKEN_READS must be 1, true or yes (reads need the token) or 0, false, no or empty (reads open), got "${shownInput(value!)}"`,
  );
}

export { command };

if (import.meta.main) await runCli(command);
