// A claim of the worker's own pending entries (after a lost read, or any connection of the
// process back: on a cluster, a node failed over) races the finish of a job it lists: Redis runs
// the claim, then the finish (another connection), and the finish is answered first. The
// claim's reply must not start that job again (lib/worker/written.ts). Seen on a real cluster
// as extra runs on the shards of the masters that did NOT fail (bench/cluster-failover.ts).
import { afterEach, expect, test } from "bun:test";
import { GROUP, queueKeys } from "../lib/engine/keys.ts";
import { scripts } from "../lib/engine/lua.ts";
import { resolveOptions } from "../lib/options.ts";
import { destroy } from "../lib/redis/close.ts";
import { connect, type Redis } from "../lib/redis/connect.ts";
import { defineTask } from "../lib/types.ts";
import { sortFresh } from "../lib/worker/entries.ts";
import { Lanes } from "../lib/worker/loops.ts";
import { Jobs } from "../lib/worker/running.ts";
import { Source } from "../lib/worker/take.ts";
import { logRecorder, redisUrl, testPrefix, until } from "./helpers.ts";

const clients: Redis[] = [];
afterEach(() => {
  for (const c of clients.splice(0)) destroy(c);
});

/** A queue whose entries 1000-1 and 1000-2 (task echo) are pending on worker w1. */
async function pendingOnW1() {
  const o = resolveOptions({ redisUrl: redisUrl(), prefix: testPrefix(), name: "w1", blockMs: 50 });
  const keys = queueKeys(o.prefix, o.queue);
  const client = await connect(o.redisUrl, { persistent: true });
  clients.push(client);
  await client.sendCommand(["XGROUP", "CREATE", keys.stream, GROUP, "0", "MKSTREAM"]);
  for (const entry of ["1000-1", "1000-2"]) {
    const fields = ["t", "echo", "p", "1", "a", "0", "m", "3"];
    await client.sendCommand(["XADD", keys.stream, entry, ...fields]);
  }
  await client.sendCommand(["XREADGROUP", "GROUP", GROUP, "w1", "STREAMS", keys.stream, ">"]);
  return { o, keys, client };
}

function echo(runs: string[]) {
  return defineTask({ name: "echo", run: async (_: unknown, _s, job) => void runs.push(job.id) });
}

test("a job written while the claim of own entries is out is not run again", async () => {
  const { o, keys, client } = await pendingOnW1();
  const log = logRecorder();
  const runs: string[] = [];
  const jobs = new Jobs(
    () => [client],
    keys,
    o,
    new Map([["echo", echo(runs)]]),
    log,
    () => {},
  );
  let raced = false;
  // The claim runs on Redis; before its reply is read, 1000-1's job (running here from an
  // earlier read) ends and its finish lands and is answered: acknowledged, its outcome written.
  const racing = {
    ...client,
    sendCommand: async (args: readonly string[]) => {
      const reply = await client.sendCommand(args);
      if (!raced && (args[1] === scripts.claim.sha || args[1] === scripts.claim.source)) {
        raced = true;
        await client.sendCommand(["XACK", keys.stream, GROUP, "1000-1"]);
        jobs.written.add("1000-1"); // what Jobs does once an outcome is written
      }
      return reply;
    },
  } as Redis;
  let stopping = false;
  const source = new Source(
    { o, keys, tasks: new Set(["echo"]), compact: () => false },
    { client: () => racing, reader: () => client },
    log,
    () => {},
    () => stopping,
    jobs.written,
  );
  const lanes = new Lanes({
    ...{ o, keys, jobs, source, log, client: () => racing },
    start: "",
    stopping: () => stopping,
    take: (n) => n,
    refused: () => false,
    retryMs: () => 50,
  });
  source.readLost();
  const ended = lanes.run([{ client: () => racing, stalled: () => {} }]);
  await until(() => runs.length > 0 && jobs.inFlight === 0, "the claimed job to run");
  stopping = true;
  lanes.wake();
  await ended;
  jobs.close();
  expect(raced).toBe(true);
  expect(runs).toEqual(["1000-2"]); // not 1000-1: it had ended here
});

test("an entry held for a slot is dropped once its job's outcome is written", async () => {
  const { o, keys, client } = await pendingOnW1();
  const runs: string[] = [];
  let release = () => {};
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  const held = defineTask({
    name: "echo",
    run: async (_: unknown, _s, job) => {
      runs.push(job.id);
      await gate;
    },
  });
  const jobs = new Jobs(
    () => [client],
    keys,
    o,
    new Map([["echo", held]]),
    logRecorder(),
    () => {},
  );
  const entries = (await client.sendCommand(["XRANGE", keys.stream, "1000-1", "1000-1"])) as [
    string,
    string[],
  ][];
  const [job] = sortFresh(entries, new Set(["echo"])).run;
  jobs.launch(job!, "read");
  // A claim brought the same entry again while every slot was busy: it waits for a slot.
  jobs.held.set(job!.entryId, job!);
  release();
  await until(() => jobs.inFlight === 0, "the job's outcome written");
  expect(jobs.held.has(job!.entryId)).toBe(false);
  jobs.close();
  expect(runs).toEqual(["1000-1"]);
});
