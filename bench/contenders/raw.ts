// The raw limit: a minimal hand-written Streams loop on node-redis (the client Courier uses).
// Producer: XADD, pipelined for bulk. Worker: XREADGROUP COUNT min(concurrency, 100), then
// XACK + HSET of a result per entry, pipelined. No job hash, no lease, no retries: the ceiling
// for any Streams queue on this machine. For the latency workload (spec.notify) the worker also
// pushes each result onto a list of the job's own, which the producer's waiter pops with a
// blocking `BLPOP`: the least a waiter can cost (no cursor, no events stream, one message each
// way), so the raw loop's waiter latency is the floor Courier's and BullMQ's are read against.
import { createClient } from "redis";
import type { ContenderImpl, StartWorker } from "./types.ts";
import { bunWorkerCommand } from "./types.ts";

const GROUP = "g";
const PIPELINE = 5_000;
const keys = (queue: string) => ({
  stream: `raw:{${queue}}:stream`,
  results: `raw:{${queue}}:results`,
});
/** The list a job's result is pushed onto for its waiter (latency workload only). */
const doneKey = (queue: string, id: string) => `raw:{${queue}}:done:${id}`;

async function client(url: string) {
  const c = createClient({ url, RESP: 2 });
  await c.connect();
  return c;
}

export const raw: ContenderImpl = {
  name: "raw",
  finishedCommand: (queue) => ["HLEN", keys(queue).results],
  async producer(url, queue) {
    const c = await client(url);
    const { stream } = keys(queue);
    // The waiter's own connection: a blocking pop holds it (waits are one at a time here).
    const w = await client(url);
    return {
      enqueueOne: (p) => c.sendCommand<string>(["XADD", stream, "*", "p", JSON.stringify(p)]),
      async enqueueBulk(payloads) {
        // Sent in the same tick, so node-redis writes them as one pipeline.
        for (let i = 0; i < payloads.length; i += PIPELINE) {
          const chunk = payloads.slice(i, i + PIPELINE);
          await Promise.all(
            chunk.map((p) => c.sendCommand(["XADD", stream, "*", "p", JSON.stringify(p)])),
          );
        }
      },
      waitFor: async (id) => {
        await w.sendCommand(["BLPOP", doneKey(queue, id), "0"]);
      },
      close: async () => {
        c.destroy();
        w.destroy();
      },
    };
  },
  workerCommand: (spec) => bunWorkerCommand("raw", spec),
};

type Entries = [string, [string, string[]][]][] | null;

export const startWorker: StartWorker = async (spec, onDone) => {
  const c = await client(spec.url);
  const { stream, results } = keys(spec.queue);
  const consumer = `raw-${process.pid}`;
  await c.sendCommand(["XGROUP", "CREATE", stream, GROUP, "0", "MKSTREAM"]).catch(() => {});
  const count = String(Math.min(spec.concurrency, 100));
  let stopping = false;
  const loop = (async () => {
    while (!stopping) {
      const reply = await c.sendCommand<Entries>([
        "XREADGROUP",
        "GROUP",
        GROUP,
        consumer,
        "COUNT",
        count,
        "BLOCK",
        "200",
        "STREAMS",
        stream,
        ">",
      ]);
      const entries = reply?.[0]?.[1] ?? [];
      const writes = entries.flatMap(([id]) => [
        c.sendCommand(["XACK", stream, GROUP, id]),
        c.sendCommand(["HSET", results, id, "null"]).then(() => onDone?.(id)),
        ...(spec.notify ? [c.sendCommand(["RPUSH", doneKey(spec.queue, id), "null"])] : []),
      ]);
      await Promise.all(writes);
    }
  })();
  return {
    async stop() {
      stopping = true;
      await loop;
      c.destroy();
    },
  };
};
