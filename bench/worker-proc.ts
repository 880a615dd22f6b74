// One worker process of a Bun contender: `bun bench/worker-proc.ts <contender> <spec JSON>`.
// Prints "ready" once loaded, starts its worker (connects and works) on "go", and stops it
// gracefully on "stop" or when stdin closes. With spec.notify it prints
// `done <job id> <wall-clock ms>` as each result is recorded. The spec's Redis URL comes in
// REDIS_URL, not on the command line (bench/contenders/types.ts bunWorkerCommand).
import { heapSize } from "bun:jsc";
import { jitNiceFor, lowerJitThreads } from "./_jit-nice.ts";
import { givenRedisUrl, nowMs } from "./_proc.ts";
import type { RunningWorker, StartWorker, WorkerSpec } from "./contenders/types.ts";

const NAMES = ["courier", "bullmq", "raw"];
const USAGE = `usage: REDIS_URL=<redis-url> bun bench/worker-proc.ts ${NAMES.join("|")} <spec JSON>`;
const [name, json] = process.argv.slice(2);
if (!name || !NAMES.includes(name) || !json) {
  process.stderr.write(`${USAGE}\n`);
  process.exit(2);
}
const spec = { ...JSON.parse(json), url: givenRedisUrl(USAGE) } as WorkerSpec;
if (jitNiceFor(name)) lowerJitThreads(); // BENCH_JIT_NICE: a diagnostic, off by default
// Only the contender's own library is loaded, so its RSS is its own.
const { startWorker } = (await import(`./contenders/${name}.ts`)) as { startWorker: StartWorker };
// BENCH_HEAP=1 (bench/latency-tail.ts): the JavaScript heap's size follows, to spot collections.
const heap = process.env.BENCH_HEAP === "1" ? () => ` ${heapSize()}` : () => "";
const onDone = spec.notify
  ? (id: string) => process.stdout.write(`done ${id} ${nowMs()}${heap()}\n`)
  : undefined;

let worker: RunningWorker | undefined;
process.stdout.write("ready\n");
for await (const line of console) {
  if (line === "go" && !worker) {
    worker = await startWorker(spec, onDone);
    process.stdout.write("started\n");
  }
  if (line === "stop") break;
}
await worker?.stop();
process.exit(0);
