// The failover timeline's worker process (bench/cluster-timeline.ts): one Worker with a no-op
// task at concurrency 128 on every shard of the queue, printing "ready", then one JSON line per
// warning or error it logs (each names its shard), so the timeline can count them per shard.
// Usage: REDIS_URL=<redis-url> bun bench/cluster-worker.ts <prefix> <queue> <shards> (the URL in
// the environment, never on the command line: bench/_proc.ts urlEnv)
import { createLogger, defineTask, type Logger, Worker } from "../lib/index.ts";
import { givenRedisUrl } from "./_proc.ts";

const redisUrl = givenRedisUrl(
  "usage: REDIS_URL=<redis-url> bun bench/cluster-worker.ts <prefix> <queue> <shards>",
);
const [prefix, queue, shards] = process.argv.slice(2);
const noop = defineTask({ name: "noop", run: async () => null });
const json = createLogger("json");
const logger: Logger = {
  log(level, event, fields) {
    if (level !== "info") json.log(level, event, fields);
  },
};
const worker = await Worker.start({
  redisUrl,
  prefix,
  queue,
  shards: Number(shards),
  tasks: [noop],
  concurrency: 128,
  logger,
});
process.stdout.write("ready\n");
for await (const line of console) if (line === "stop") break;
await worker.stop();
process.exit(0);
