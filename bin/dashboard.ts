#!/usr/bin/env bun
// The web dashboard, like rq-dashboard: `[--host H] [--port P] [--token T]`.
import { defineCommand } from "citty";
import { dashboardDefaults } from "../lib/dashboard/options.ts";
import { startDashboard } from "../lib/dashboard/server.ts";
import { commonArgs, intArg, queueArgs, runCli } from "./_cli.ts";

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
    const port = args.port ?? env.COURIER_DASHBOARD_PORT;
    const dashboard = await startDashboard({
      ...queueArgs(args),
      host: args.host || env.COURIER_DASHBOARD_HOST || undefined,
      port: intArg(port, "port", 0, 65_535),
      token: args.token || env.COURIER_DASHBOARD_TOKEN || undefined,
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

export { command };

if (import.meta.main) await runCli(command);
