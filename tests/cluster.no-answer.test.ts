// A master of a real 3+3 cluster stopped with SIGSTOP (frozen: its node timeout is a minute, so
// it is never failed over while the test runs) leaves each command sent to it unanswered: the
// error names that node, as a URL with the password masked, not the seeds the client was given
// (lib/redis/answer.ts; the node is the socket of the connection the command went on,
// lib/redis/cluster.ts). Every path a command takes there: by its key, keyless on a node's view,
// on a node's own connection, a Queue's read and write, `info --watch`.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { createClient } from "redis";
import { layoutKey } from "../lib/engine/keys.ts";
import { LostReplyError, NoAnswerError } from "../lib/errors.ts";
import { Queue } from "../lib/queue/queue.ts";
import { closeClient } from "../lib/redis/close.ts";
import { connectionOf, onNodeOf } from "../lib/redis/cluster.ts";
import { connect } from "../lib/redis/connect.ts";
import { type LocalCluster, startCluster } from "../lib/stack/cluster.ts";
import { spawnCli, testPrefix, waitForLine } from "./helpers.ts";

const LIMIT_MS = 300;
/** The info CLI's answer limit (COURIER_COMMAND_TIMEOUT_MS). */
const CLI_LIMIT_MS = 2_000;
const USER = "courier-frozen";
const PASSWORD = `pw-${Math.random().toString(36).slice(2)}`;

let cluster: LocalCluster;
/** The cluster's seeds, with a user and password. */
let url: string;
/** A master that is not the first seed (a client connects through that one), and a key on it. */
let frozen: { port: number; pid: number; key: string };

beforeAll(async () => {
  cluster = await startCluster({ nodeTimeoutMs: 60_000 });
  for (const { port } of cluster.nodes) {
    const c = createClient({ RESP: 2, socket: { host: "127.0.0.1", port } });
    await c.connect();
    await c.sendCommand(["ACL", "SETUSER", USER, "on", `>${PASSWORD}`, "~*", "&*", "+@all"]);
    c.destroy();
  }
  url = cluster.seedUrl.replace("redis+cluster://", `redis+cluster://${USER}:${PASSWORD}@`);
  // Masters come first in `nodes`; the first is the first seed.
  const { port, pid } = cluster.nodes[1]!;
  frozen = { port, pid, key: await keyOn(port, (i) => `k${i}`) };
}, 60_000);

afterAll(async () => {
  await cluster?.stop();
});

/** Runs `fn` with the node frozen, and resumes it whatever happens. */
async function whileFrozen<T>(fn: () => Promise<T>): Promise<T> {
  process.kill(frozen.pid, "SIGSTOP");
  try {
    return await fn();
  } finally {
    process.kill(frozen.pid, "SIGCONT");
  }
}

/** What a command that node leaves unanswered says. */
const unanswered = (limitMs = LIMIT_MS) =>
  `Redis at redis+cluster://${USER}:***@127.0.0.1:${frozen.port} did not answer within ${limitMs} ms`;

test("a command by its key, keyless on the node's view, on the node's connection: each names the node", async () => {
  const client = await connect(url, { answerMs: LIMIT_MS });
  try {
    const connection = await connectionOf(client, frozen.key);
    const errs = await whileFrozen(() =>
      Promise.all([
        client.sendCommand(["GET", frozen.key]).catch((e: unknown) => e),
        onNodeOf(client, frozen.key)
          .sendCommand(["PING"])
          .catch((e: unknown) => e),
        connection.sendCommand(["PING"]).catch((e: unknown) => e),
      ]),
    );
    for (const err of errs) {
      expect(err).toBeInstanceOf(NoAnswerError);
      expect((err as Error).message).toBe(unanswered());
    }
    expect(await client.sendCommand(["GET", frozen.key])).toBeNull(); // it answers again
  } finally {
    await closeClient(client);
  }
}, 30_000);

test("a Queue's read and write on the frozen node's shard name it", async () => {
  const prefix = testPrefix();
  // A queue of one shard: all its keys in one slot, the frozen node's.
  const name = await queueOn(prefix);
  const q = await Queue.connect({ redisUrl: url, prefix, queue: name, commandTimeoutMs: LIMIT_MS });
  try {
    const id = await q.enqueue("t", 1);
    await whileFrozen(async () => {
      const read = await q.getJob(id).catch((e: unknown) => e);
      expect(read).toBeInstanceOf(NoAnswerError);
      expect((read as Error).message).toBe(unanswered());
      const write = await q.enqueue("t", 2).catch((e: unknown) => e);
      expect(write).toBeInstanceOf(LostReplyError);
      expect((write as Error).message).toBe(
        `${unanswered()}: the job may or may not have been enqueued`,
      );
    });
  } finally {
    await q.close();
  }
}, 30_000);

test("info --watch says the node did not answer, naming it and never the password", async () => {
  const prefix = testPrefix();
  const name = await queueOn(prefix);
  const q = await Queue.connect({ redisUrl: url, prefix, queue: name });
  await q.enqueue("t", 1);
  await q.close();
  // The CLI's limit is its connect limit too: 300 ms to reach six nodes failed on a loaded suite.
  const env = { COURIER_COMMAND_TIMEOUT_MS: String(CLI_LIMIT_MS) };
  // Connected first: a cluster client connects to every master, the frozen one too.
  const args = ["--watch", "--json", "--queue", name, "--prefix", prefix, "--redis-url", url];
  const proc = spawnCli("info", args, { env });
  try {
    await waitForLine(proc.stdout, /"queues"/);
    const line = await whileFrozen(() => waitForLine(proc.stderr, /did not answer/));
    expect(line).toContain(unanswered(CLI_LIMIT_MS));
    expect(line).not.toContain(PASSWORD);
    await waitForLine(proc.stdout, /"queues"/); // a report again once the node answers
  } finally {
    proc.kill("SIGINT");
    await proc.exited;
  }
}, 30_000);

/** The first of `nameOf(0)`, `nameOf(1)`, … whose slot the master on `port` serves. */
async function keyOn(port: number, nameOf: (i: number) => string): Promise<string> {
  for (let i = 0; ; i++) {
    if ((await cluster.masterOf(nameOf(i))).port === port) return nameOf(i);
  }
}

/** A queue name whose layout key (and, with one shard, every key) is on the frozen node. */
async function queueOn(prefix: string): Promise<string> {
  const key = await keyOn(frozen.port, (i) => layoutKey(prefix, `q${i}`));
  return /\{(q\d+)\}/.exec(key)![1]!;
}
