// The dashboard's documents stay true to its code: the README's endpoint table names every
// route, `/api/events` names every part of a snapshot, the `/metrics` row every family
// rendered; `dashboard --help` names every action; docs/internals.md's dashboard paragraph
// cites files that exist.
import { expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { renderMetrics } from "../lib/admin/metrics.ts";
import type { QueueCounts } from "../lib/admin/stats.ts";
import { type RouteDeps, routes } from "../lib/dashboard/routes.ts";
import { ROOT } from "./helpers.ts";

const README = readFileSync(resolve(ROOT, "README.md"), "utf8");
/** The README's endpoint table, one row a line. */
const ENDPOINT_ROWS = README.split("| endpoint | answers |")[1]!.split("\n\n")[0]!.split("\n");

function row(start: string): string {
  const found = ENDPOINT_ROWS.find((r) => r.startsWith(`| \`${start}`));
  if (!found) throw new Error(`no row for ${start} in the README's endpoint table`);
  return found;
}

test("the endpoint table names every route of the API and /metrics", () => {
  const deps = { host: "127.0.0.1", maxLive: 1 } as unknown as RouteDeps;
  const paths = Object.keys(routes(deps).routes).filter(
    (p) => p.startsWith("/api/") || p === "/metrics",
  );
  const table = ENDPOINT_ROWS.join("\n");
  const named = new Set(
    [...table.matchAll(/`(?:GET |POST )?(\/[^`? ]+)[^`]*`/g)].flatMap((m) => {
      // `/api/schedules/:id/pause|resume` names both.
      const [path, alts] = [m[1]!.replace(/[^/]*\|[^/]*$/, ""), /([^/]*\|[^/]*)$/.exec(m[1]!)];
      const each = alts ? alts[1]!.split("|").map((a) => path + a) : [m[1]!];
      return each.map((p) => p.replace(/:\w+/g, ":id")); // `:name` is the route's `:id`
    }),
  );
  expect(paths.filter((p) => !named.has(p))).toEqual([]);
});

test("/api/events names every part of a snapshot", () => {
  // The snapshot's parts, as lib/dashboard/api-reads.ts sends them.
  const source = readFileSync(resolve(ROOT, "lib/dashboard/api-reads.ts"), "utf8");
  const parts = /return \{ ((?:actions: [^,]+, )?overview: o, [^}]+) \};/
    .exec(source)![1]!
    .split(", ");
  const events = row("GET /api/events");
  for (const part of parts.map((p) => p.split(":")[0]!))
    expect({ part, named: events.includes(part) }).toEqual({ part, named: true });
});

/** `courier_jobs_{a,b}_total` → both names; a brace without a comma is a label, left out. */
function expand(token: string): string[] {
  const m = /\{([a-z_]+(?:,[a-z_]+)+)\}/.exec(token);
  if (!m) return [token];
  return m[1]!.split(",").flatMap((alt) => expand(token.replace(m[0], alt)));
}

test("the /metrics row names every family rendered", () => {
  const counts = { queue: "q", totals: {}, byPriority: undefined } as unknown as QueueCounts;
  const text = renderMetrics([{ counts, liveWorkers: 0, durations: null }]);
  const families = [...text.matchAll(/^# TYPE (courier_\w+)/gm)].map((m) => m[1]!);
  const metricsRow = row("GET /metrics");
  const named = new Set(
    [...metricsRow.matchAll(/courier_[a-z_]*(?:\{[a-z_]+(?:,[a-z_]+)+\}[a-z_]*)*/g)].flatMap((m) =>
      expand(m[0]),
    ),
  );
  expect(families.filter((f) => !named.has(f))).toEqual([]);
});

test("dashboard --help names every action", async () => {
  const { command } = await import("../bin/dashboard.ts");
  const description = String((command.meta as { description?: string }).description);
  for (const action of [
    "requeue",
    "delete",
    "cancel",
    "trigger",
    "pause",
    "resume",
    "empty",
    "schedule",
  ]) {
    expect({ action, named: description.includes(action) }).toEqual({ action, named: true });
  }
});

test("docs/internals.md's dashboard paragraph cites files that exist", () => {
  const internals = readFileSync(resolve(ROOT, "docs/internals.md"), "utf8");
  const paragraph = internals.split("The dashboard (`lib/dashboard/`)")[1]!.split("\n\n")[0]!;
  const files = [...paragraph.matchAll(/`([\w.-]+\.ts)`/g)].map((m) => m[1]!);
  expect(files.length).toBeGreaterThan(0);
  expect(files.filter((f) => !existsSync(resolve(ROOT, "lib/dashboard", f)))).toEqual([]);
});
