// The acceptance test of fenced runs with a real stall (README, "Fenced runs"): a worker
// process is frozen (SIGSTOP) while its task runs, so its lease lapses with no renewal; another
// worker claims the job, runs it and writes with its fence; the frozen process is woken
// (SIGCONT) and its task makes its late write: refused by the store, which keeps the newer run's.
// Each step waits for the event before it (a line from the process, the job's end), never a sleep.
import { expect, test } from "bun:test";
import { resolve } from "node:path";
import { compareFences } from "../lib/fence/fence.ts";
import { fencedSet } from "../lib/fence/store.ts";
import { defineTask } from "../lib/types.ts";
import {
  openQueue,
  ROOT,
  rawRedis,
  redisUrl,
  startWorker,
  testPrefix,
  testShards,
  waitForLine,
} from "./helpers.ts";

const SCRIPT = resolve(ROOT, "tests/fixtures/fenced-worker.ts");

test("a frozen worker's late write is refused: the run that took its job over wrote with a higher fence", async () => {
  const prefix = testPrefix();
  await using q = await openQueue({ prefix });
  await using store = await rawRedis();
  const key = `${prefix}:store:{booking-1}`;
  const id = await q.enqueue("book", null);
  const frozen = Bun.spawn({
    cmd: [process.execPath, SCRIPT, redisUrl(), prefix, key, String(testShards() ?? "")],
    stdin: "pipe",
    stdout: "pipe",
    stderr: "ignore",
  });
  try {
    const fence1 = (await waitForLine(frozen.stdout, /^started \d+$/)).split(" ")[1]!;
    frozen.kill("SIGSTOP");
    // The other worker claims the entry once it has been idle for its claimIdleMs.
    let fence2 = "";
    const book = defineTask({
      name: "book",
      run: async (_: null, ctx) => {
        fence2 = ctx.fence;
        return fencedSet(store, key, ctx.fence, "run 2");
      },
    });
    const w = await startWorker({ prefix, tasks: [book], claimIdleMs: 300 });
    const { ended } = await q.waitForJobs([id], { timeoutMs: 20_000 });
    expect(ended.get(id)).toMatchObject({ status: "finished", result: true, attempts: 2 });
    expect(compareFences(fence2, fence1)).toBe(1);
    // Woken: the frozen run goes on where it stopped and writes.
    frozen.stdin.write("go\n");
    frozen.stdin.flush();
    frozen.kill("SIGCONT");
    expect(await waitForLine(frozen.stdout, /^late write /)).toBe("late write refused");
    expect(await store.sendCommand(["HGETALL", key])).toEqual(["fence", fence2, "value", "run 2"]);
    expect((await q.getJob(id))?.result).toBe(true); // run 2's result stays the job's
    await w.stop(0);
  } finally {
    frozen.kill("SIGKILL");
    await frozen.exited;
  }
});
