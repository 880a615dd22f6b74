// A worker process with one no-op task, silent, for the overload and memory runs.
// Usage: REDIS_URL=<redis-url> bun bench/chaos/noop-worker.ts <prefix> <result-ttl-s> <concurrency>
// (the URL in the environment, never on the command line: bench/_proc.ts urlEnv)
import { defineTask, Worker } from "../../lib/index.ts";
import { givenRedisUrl } from "../_proc.ts";

const redisUrl = givenRedisUrl(
  "usage: REDIS_URL=<redis-url> bun bench/chaos/noop-worker.ts <prefix> <result-ttl-s> <concurrency>",
);
const [prefix, ttl, concurrency] = process.argv.slice(2);
const noop = defineTask({ name: "noop", run: async () => null });
const worker = await Worker.start({
  redisUrl,
  prefix,
  tasks: [noop],
  resultTtlS: Number(ttl),
  concurrency: Number(concurrency),
});
process.stdout.write("ready\n");
process.on("SIGTERM", () => void worker.stop());
await worker.stopped;
