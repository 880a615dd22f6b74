// BullMQ's side of `trigger --file`: a script a user would write to enqueue a file of URLs with
// `addBulk`, shaped like Courier's CLI (batches of 500, 8 in flight, each batch's ids printed
// once it is acknowledged, results kept), on BullMQ's fastest client here (Bun's own). The
// bench times the whole process, from spawn to exit, as it does the CLI.
//   REDIS_URL=<redis-url> bun bench/contenders/bullmq-file.ts <file> <queue>
// (the URL in the environment, never on the command line: bench/_proc.ts urlEnv)
import { createBunRedisClient, Queue } from "bullmq";
import { RedisClient } from "bun";
import { givenRedisUrl } from "../_proc.ts";

const BATCH = 500;
const IN_FLIGHT = 8;
const OPTS = { removeOnComplete: false, removeOnFail: false };

const USAGE = "usage: REDIS_URL=<redis-url> bun bench/contenders/bullmq-file.ts <file> <queue>";
const url = givenRedisUrl(USAGE);
const [file, name] = process.argv.slice(2);
if (!file || !name) {
  process.stderr.write(`${USAGE}\n`);
  process.exit(2);
}
const client = new RedisClient(url);
await client.connect();
const connection = createBunRedisClient(client);
const queue = new Queue(name, { connection });
const urls = (await Bun.file(file).text()).split("\n").filter(Boolean);
const out = Bun.stdout.writer();
let next = 0;
async function lane(): Promise<void> {
  while (next < urls.length) {
    const batch = urls.slice(next, next + BATCH);
    next += BATCH;
    const jobs = await queue.addBulk(
      batch.map((u) => ({ name: "wordcount", data: { url: u }, opts: OPTS })),
    );
    out.write(`${jobs.map((j) => j.id).join("\n")}\n`);
  }
}
await Promise.all(Array.from({ length: IN_FLIGHT }, lane));
await out.flush();
await queue.close();
await connection.quit();
