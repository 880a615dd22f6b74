// A task name no worker here has, from an entry written by hand (Courier takes none over 100
// characters), is cut in the worker's log line that leaves or parks the job: whole, each entry
// of a 1 MB name logged a 1 MB line every time it was handed round.
import { expect, test } from "bun:test";
import { ID_SHOWN_MAX } from "../lib/safe-text.ts";
import { defineTask } from "../lib/types.ts";
import { shardsOf } from "./fixtures/queue-shards.ts";
import { logRecorder, openQueue, rawRedis, startWorker, testPrefix, until } from "./helpers.ts";

const echo = defineTask({ name: "echo", run: async (p: unknown) => p });

test("a 1 MB task name is cut in the worker's log", async () => {
  const prefix = testPrefix();
  await using q = await openQueue({ prefix });
  await using r = await rawRedis();
  const huge = `${"T".repeat(ID_SHOWN_MAX - 1)}😀${"T".repeat(1_000_000)}`;
  const k = shardsOf(q)[0]!;
  await r.sendCommand([
    "XADD",
    k.stream,
    "*",
    "t",
    huge,
    "p",
    "null",
    "a",
    "0",
    "m",
    "3",
    "i",
    "big",
  ]);
  const logger = logRecorder();
  const w = await startWorker({ prefix, tasks: [echo], logger });
  const left = () => logger.records.find((l) => typeof l.fields?.task === "string");
  try {
    await until(() => left() !== undefined, "the job left for another worker, logged");
  } finally {
    await w.stop();
  }
  expect(left()!.fields!.task).toBe(`${"T".repeat(ID_SHOWN_MAX - 1)}…`);
});
