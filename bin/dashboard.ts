#!/usr/bin/env bun
// The web dashboard, like rq-dashboard: `[--host H] [--port P] [--token T]`.
import { isIPv4 } from "node:net";
import { defineCommand } from "citty";
import { dashboardDefaults } from "../lib/dashboard/options.ts";
import { startDashboard } from "../lib/dashboard/server.ts";
import { listenError } from "../lib/health.ts";
import { commonArgs, intArg, queueArgs, runCli, UsageError } from "./_cli.ts";

const command = defineCommand({
  meta: {
    name: "dashboard",
    description:
      "Serve a live dashboard of one queue (counts, throughput, workers, failures, dead letters, jobs), its JSON API under /api/ and Prometheus metrics at /metrics. Actions (requeue, delete, trigger) are off unless a token is given; requests must then carry it. Stops on SIGINT/SIGTERM.",
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
        "Turns actions on; the page asks for it, API calls send it as Authorization: Bearer or X-Courier-Token (env COURIER_DASHBOARD_TOKEN; default: actions off)",
    },
    ...commonArgs,
  },
  async run({ args }) {
    const env = process.env;
    const host = listenHost(args.host || env.COURIER_DASHBOARD_HOST || undefined);
    const port = intArg(args.port ?? env.COURIER_DASHBOARD_PORT, "port", 0, 65_535);
    const dashboard = await startDashboard({
      ...queueArgs(args),
      host,
      port,
      token: args.token || env.COURIER_DASHBOARD_TOKEN || undefined,
    }).catch((err) => {
      throw listenError(err, host ?? dashboardDefaults.host, port ?? dashboardDefaults.port);
    });
    const actions = dashboard.actions ? "actions on, with the token" : "actions off: no token";
    process.stdout.write(`dashboard on ${dashboard.url}  (${actions}; metrics at /metrics)\n`);
    if (!dashboard.loopback) {
      process.stderr.write(
        "dashboard: warning: not on a loopback address: whoever reaches this port can read every job's payload\n",
      );
    }
    await new Promise<void>((resolve) => {
      process.once("SIGINT", resolve);
      process.once("SIGTERM", resolve);
    });
    await dashboard.stop();
  },
});

/** An address of digits and dots must be a real IPv4 address (256.1.1.1 is not one). */
function listenHost(host: string | undefined): string | undefined {
  if (host !== undefined && /^[\d.]+$/.test(host) && !isIPv4(host)) {
    throw new UsageError(
      `host ${host} (--host or COURIER_DASHBOARD_HOST) is not an IPv4 address: each part is 0-255`,
    );
  }
  return host;
}

export { command };

if (import.meta.main) await runCli(command);
