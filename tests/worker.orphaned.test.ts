// A worker's consumer deleted from the group by hand (XGROUP DELCONSUMER) while it runs jobs:
// their entries were pending on no one, the lease renewal said "lease lost, job given up
// (another worker has it)" though no other worker had them, and the jobs stayed "queued" for
// ever, behind the group's last delivered id where no read finds them. The worker takes
// such an entry back (lease.lua) and the job ends here.
import { expect, test } from "bun:test";
import { GROUP, shardKeys, shardOf } from "../lib/engine/keys.ts";
import { defineTask } from "../lib/types.ts";
import {
  logRecorder,
  openQueue,
  rawRedis,
  startWorker,
  testPrefix,
  testShards,
  until,
} from "./helpers.ts";

test("a running job whose consumer was deleted from the group ends here, once", async () => {
  const prefix = testPrefix();
  let started = false;
  let release: () => void = () => {};
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  const slow = defineTask({
    name: "slow",
    run: async () => {
      started = true;
      await gate;
      return "done";
    },
  });
  await using q = await openQueue({ prefix });
  const logger = logRecorder();
  const w = await startWorker({ prefix, tasks: [slow], claimIdleMs: 300, logger });
  const id = await q.enqueue("slow", {});
  await until(() => started, "the job's start");
  const keys = shardKeys(prefix, "default", testShards() ?? 1);
  const k = keys[shardOf(id, keys.length)]!;
  await using r = await rawRedis();
  const owner = async () => {
    const rows = (await r.sendCommand(["XPENDING", k.stream, GROUP, "-", "+", "10"])) as string[][];
    return rows[0]?.[1] ?? null;
  };
  expect(await owner()).toBe(w.name);
  // The entry pending on no one now (the reply says so: 1 entry it held); the next renewal
  // (every claimIdleMs / 3, maybe at once) takes it back.
  expect(await r.sendCommand(["XGROUP", "DELCONSUMER", k.stream, GROUP, w.name])).toBe(1);
  await until(async () => (await owner()) === w.name, "the entry taken back");
  release();
  const { ended } = await q.waitForJobs([id], { timeoutMs: 10_000 });
  expect(ended.get(id)?.status).toBe("finished");
  expect(ended.get(id)?.result).toBe("done");
  expect(logger.events()).not.toContain("lease lost, job given up (another worker has it)");
  await w.stop();
});
