#!/usr/bin/env bun
// Show every queue's numbers and workers, like `rq info`: `[--json] [--watch]`.
import { defineCommand } from "citty";
import { Admin } from "../lib/admin/admin.ts";
import { infoStream, queueLister } from "../lib/admin/info.ts";
import { hasSchedules } from "../lib/admin/info-schedules.ts";
import { isClosedOutput } from "../lib/cli/closed-stdout.ts";
import { type QueueSeen, writeInfo } from "../lib/cli/info-out.ts";
import { watchFailureLine } from "../lib/cli/info-text.ts";
import { type Unreadable, unreadableChanges } from "../lib/cli/info-watch.ts";
import { describeRefusal } from "../lib/cli/refusal.ts";
import { repeat } from "../lib/cli/repeat.ts";
import { onStopSignals } from "../lib/cli/stop-signals.ts";
import { writeOut } from "../lib/cli/write-out.ts";
import { CourierError } from "../lib/errors.ts";
import { commonArgs, EXIT, intArg, queueArgs, runCli, UsageError } from "./_cli.ts";

const command = defineCommand({
  meta: {
    name: "info",
    description:
      "Redis' used and max memory (FULL when at maxmemory: new jobs are refused). Per queue: jobs waiting, in flight, delayed (retry back-off) and dead; finished and failed in the last minute and hour, and attempts retried; dead letters dropped while Redis was full (`trimmed`, when any); throughput; the oldest waiting job's age; tasks whose jobs wait because no live worker has them (the first 20 by name, then how many more); its recurring schedules: how many, how many are OVERDUE (nothing fires them), and the first 20 by name with their next runs; and its workers. Without --queue (or COURIER_QUEUE), every queue under the prefix that exists (none: `no queue under prefix P`, exit 0); a queue named that does not exist (no key of it, nor a schedule) exits 4. Workers that stopped heart-beating are shown as gone and pruned. A queue of several shards is listed once: its numbers are the shards' sums, each worker one row, and a SHARD SLOT NODE table says where each shard lives.",
  },
  args: {
    json: {
      type: "boolean",
      description:
        "Print one JSON object { time, redis: { usedBytes, maxBytes, policy, full }, queues: [{ queue, waiting, inFlight, …, shards, placement: [{ shard, slot, node }], schedules?: [{ name, when, task, missed, paused, next, overdue }] (the first 20 by name), schedulesTotal?, schedulesOverdue? }] }",
    },
    watch: {
      type: "boolean",
      description:
        "Refresh until Ctrl-C (in place on a terminal; one report per interval else). A queue it cannot read is shown so in each report and said on stderr when that changes; stopped then, exit 6",
    },
    interval: {
      type: "string",
      description: "Whole seconds between refreshes with --watch (1-3600; default 1)",
    },
    ...commonArgs,
    queue: {
      type: "string",
      description: "Only this queue (env COURIER_QUEUE; default: every queue under the prefix)",
    },
  },
  async run({ args }) {
    const everyS = intArg(args.interval, "interval", 1, 3_600) ?? 1;
    if (args.interval !== undefined && !args.watch) {
      throw new UsageError("--interval goes with --watch");
    }
    const given = args.queue || process.env.COURIER_QUEUE;
    const admin = await Admin.connect(queueArgs(args));
    const names = queueLister(admin, given ? [admin.options.queue] : []);
    // Each report written queue by queue as it is read, never held whole (lib/cli/info-out.ts):
    // the queues as seen are returned (names, and why unreadable).
    const show = async (): Promise<QueueSeen[]> => {
      const stream = await infoStream(admin, names);
      if (args.watch && !args.json) {
        const clear = process.stdout.isTTY ? "\x1b[H\x1b[2J" : "";
        await writeOut(`${clear}${stream.time}  (every ${everyS} s, Ctrl-C to stop)\n\n`);
      }
      const seen = await writeInfo(
        stream,
        Boolean(args.json),
        admin.options.prefix,
        Boolean(args.watch),
      );
      if (args.watch && !args.json) await writeOut("\n");
      return seen;
    };
    try {
      // A queue named that does not exist is a mistake (a typo): not a report of zeros.
      // One with schedules but no key yet (no job so far) is there: its schedules are shown.
      const scheduled = () => hasSchedules(admin.client, admin.options.prefix, admin.options.queue);
      if (given && !(await admin.exists()) && !(await scheduled())) {
        const { queue, prefix } = admin.options;
        throw new CourierError("ENOTFOUND", `no queue ${queue} under prefix ${prefix}`);
      }
      if (!args.watch) {
        const seen = await show();
        // As a WRONGTYPE refusal is.
        if (seen.some((q) => q.unreadable !== undefined)) process.exitCode = EXIT.connect;
        return;
      }
      const stop = new AbortController();
      onStopSignals(() => stop.abort(), { once: true });
      // Redis away: say so and try again. Redis refusing (ACL, WRONGTYPE) will not change by
      // trying again: that ends the watch with its one line and exit 6.
      const onError = (err: unknown) => {
        // A closed stdout (`| head`): the closed pipe's handler (_cli.ts) stops the watch.
        if (isClosedOutput(err)) return;
        if (describeRefusal(err)) throw err;
        process.stderr.write(`${watchFailureLine(admin.options.redisUrl, err)}\n`);
      };
      // A queue it cannot read is shown so in each report, said on stderr when that changes,
      // and the watch goes on; stopped, it exits as its last report would (6 if any unreadable).
      let unreadable: Unreadable = new Map();
      const tick = async () => {
        const change = unreadableChanges(unreadable, await show());
        unreadable = change.now;
        for (const line of change.lines) process.stderr.write(`${line}\n`);
        process.exitCode = unreadable.size > 0 ? EXIT.connect : EXIT.ok;
      };
      await repeat(tick, everyS * 1_000, stop.signal, onError);
    } finally {
      await admin.close();
    }
  },
});

export { command };

if (import.meta.main) await runCli(command);
