// A worker process with one no-op task, silent, for the overload and memory runs.
// Usage: bun bench/chaos/noop-worker.ts <redis-url> <prefix> <result-ttl-s> <concurrency>
import { defineTask, Worker } from "../../lib/index.ts";

const [redisUrl, prefix, ttl, concurrency] = process.argv.slice(2);
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
