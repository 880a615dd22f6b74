// The cluster pass of `bun run check` (issue 12): the same test files run a second time against a
// local 3+3 Redis Cluster with 6-shard queues (`COURIER_TEST_CLUSTER=1`, tests/preload.ts). It
// takes every test file but those left out below, each for the reason it is listed under: a
// file that does not use the preload's Redis would only run again unchanged, for nothing.
import { readdirSync } from "node:fs";
import { join } from "node:path";

export const LEFT_OUT: Record<string, string[]> = {
  "no Redis: pure functions and tables, fakes, pages in linkedom": [
    "admin.shards.merge",
    "backoff",
    "check.failures",
    "cli.text",
    "cluster.url",
    "config",
    "dashboard.escape",
    "dashboard.failure",
    "dead.duration",
    "engine.formats",
    "event-cursor",
    "fence",
    "fetch.parse",
    "keys",
    "memory.watch",
    "queue.recent",
    "reply",
    "schedule.ticks",
    "worker.settle",
    "wordcount.accuracy",
    "wordcount.count",
    "wordcount.decode",
    "wordcount.extract",
    "wordcount.fetch",
    "wordcount.fetch.limits",
    "wordcount.fetch.rebind",
    "wordcount.fetch.tls",
    "wordcount.guard",
    "wordcount.guard.ranges",
    "wordcount.task",
    "wordcount.url",
    "wordcount.browser",
  ],
  "usage errors and --help only, answered before Redis is reached (as the files with others skip them: onOneServer)":
    ["cli.compiled", "cli.in-process", "cli.messages.shards", "cli.numbers", "courier.help"],
  "their own redis-server (one they fill, stop or restart), never the preload's": [
    "bench",
    "bench.secrets",
    "chaos",
    "cli.full",
    "connect.sentinel",
    "reliability.restart",
    "reliability.restart-lost-writes",
    "stack",
    "stack.signals",
    "worker.outage",
    "worker.stop.backoff",
    "enqueue.refused-busy",
    "connect.args-echo",
    // A small server of their own, filled, with their queues pinned to one shard (pinShards):
    // the cluster pass would run them again unchanged.
    "redis-full.dead",
    "redis-full.retry",
    "redis-full.worker",
    "trigger.batch.full",
    "trigger.full",
  ],
  "Chromium over the dashboard's page: the page reads the API that dashboard.api and dashboard.queues check in this pass (the job lists, queue.jobs.cli; Cancel, dashboard.cancel; the limits panel, limits.surface), and a browser is the slowest thing the suite starts":
    [
      "dashboard.browser",
      "dashboard.cancel.browser",
      "dashboard.limits-panel.browser",
      "dashboard.pages.browser",
      "dashboard.queue.browser",
    ],
  "a proxy in front of one server that drops replies: a cluster client learns the nodes' own addresses and goes around it":
    ["enqueue.lost-reply", "guarantees.network", "queue.wait.connect", "trigger.batch.lost-reply"],
  "a connection blip made by CLIENT KILL on the one server (a cluster's worker talks to other nodes too)":
    ["worker.prefetch-race"],
  "already on a real cluster of their own (they kill and restart its nodes, change its config or users)":
    [
      "cluster.acl",
      "cluster.client",
      "cluster.durability",
      "cluster.failover",
      "cluster.failover.load",
      "cluster.harness",
      "cluster.memory",
      "cluster.no-answer",
      "cluster.outage",
      "cluster.outage.events",
      "cluster.outage.take",
      "cluster.outage.worker",
      "cluster.plain-url",
      "cluster.promoted",
      "cluster.routing",
      "cluster.schedule.failover",
    ],
  "a server and replica of their own (durability: WAIT with a stopped replica)": ["durability"],
  "the stack on one server's URL (a cluster it runs only as its own: stack --cluster, in stack.cluster)":
    ["stack.final", "stack.cluster", "stack.compiled-alone"],
};

/** The test files of the cluster pass, `tests/<name>.test.ts`, sorted. */
export function clusterPassFiles(root: string): string[] {
  const out = new Set(Object.values(LEFT_OUT).flat());
  return readdirSync(join(root, "tests"))
    .filter((f) => f.endsWith(".test.ts") && !out.has(f.slice(0, -".test.ts".length)))
    .sort()
    .map((f) => `tests/${f}`);
}
