// A worker checks at start that its Redis user may run what a worker runs, so that an ACL user
// lacking a command fails at once with one line naming it (exit 6), instead of a worker that
// starts and then retries a refused read forever. Redis checks permissions (commands and keys)
// when a command is queued in a MULTI, not when it runs: every command is queued in a MULTI,
// in a harmless form, and the MULTI is discarded, so nothing runs. Commands run inside the Lua
// scripts are checked against the same user, so they are queued here too.
import { ErrorReply } from "@redis/client";
import { GROUP, type QueueKeys } from "../engine/keys.ts";
import { scripts } from "../engine/lua.ts";
import { RedisRefusedError } from "../errors.ts";
import { isNoPerm } from "./cause.ts";
import { connectionOf } from "./cluster.ts";
import type { Redis } from "./connect.ts";
import { commandKey } from "./route.ts";

/** What a worker sends, directly or from its scripts (lib/engine/lua), with the keys it touches. */
export function workerCommands(keys: QueueKeys, name: string): string[][] {
  const { stream, events, dead, delayed, workers, stats, minutes, durations } = keys;
  const job = keys.record("permission-check");
  const result = keys.result("permission-check");
  const worker = keys.worker(name);
  return [
    ["XGROUP", "CREATE", stream, GROUP, "0", "MKSTREAM"],
    ["XREADGROUP", "GROUP", GROUP, name, "COUNT", "1", "STREAMS", stream, ">"],
    ["XCLAIM", stream, GROUP, name, "0", "0-0", "JUSTID"],
    ["XCLAIM", stream, GROUP, name, "0", "0-0"],
    ["XACK", stream, GROUP, "0-0"],
    ["XPENDING", stream, GROUP],
    ["XPENDING", stream, GROUP, "IDLE", "0", "-", "+", "1"],
    ["XGROUP", "DELCONSUMER", stream, GROUP, name],
    ["XINFO", "GROUPS", stream],
    ["XLEN", stream],
    ["XRANGE", stream, "-", "+", "COUNT", "1"],
    ["XDEL", stream, "0-1"],
    ["XTRIM", stream, "MINID", "0"],
    ["PERSIST", stream],
    ...[stream, events, dead].map((k) => ["XADD", k, "*", "f", "v"]),
    ["HSET", job, "f", "v"],
    ["HGET", job, "f"],
    ["HMGET", job, "f"],
    ["HDEL", job, "f"],
    ["HGETALL", job],
    ["DEL", job],
    // The job's outcome (r:<id>).
    ["SET", result, "v", "NX", "EX", "1"],
    ["TYPE", result],
    // A running job's progress (progress.lua): written unless the job has its outcome.
    ["EXISTS", result],
    ["SET", keys.progress("permission-check"), "v", "EX", "1"],
    ...[stats, minutes, durations].map((k) => ["HINCRBY", k, "f", "0"]),
    ["EXPIRE", job, "1"],
    ["EXISTS", worker],
    ["HGET", worker, "start"],
    ["HSET", worker, "f", "v"],
    ["PEXPIRE", worker, "1"],
    ["DEL", worker],
    ["ZADD", workers, "0", name],
    ["ZREM", workers, name],
    ["ZADD", delayed, "0", "x"],
    ["ZREM", delayed, "x"],
    ["ZRANGEBYSCORE", delayed, "0", "0"],
    // The jobs canceled lately (lib/worker/cancels.ts).
    ["XRANGE", keys.canceled, "0", "0"],
    ["XREVRANGE", keys.canceled, "+", "-", "COUNT", "1"],
    ["ZCARD", delayed],
    ["ZPOPMIN", `${keys.parkedPrefix}permission-check`, "1"],
    ["HSET", keys.tasks, "f", "v"],
    ["TYPE", job],
    ["TIME"],
    ["HSETNX", keys.meta, "f", "v"],
    // Dependencies (docs/internals.md, "10. Dependencies and batches"): the finish's check, the
    // drain of ended parents, the children told, ctx.parents().
    ["SMISMEMBER", keys.hasDependents, "x"],
    ["ZRANGE", keys.endedParents, "0", "0"],
    ["GETRANGE", result, "0", "0"],
    ["SRANDMEMBER", `${keys.dependentsPrefix}permission-check`, "1"],
    ["SREM", keys.hasDependents, "x"],
    ["SCARD", `${keys.waitsPrefix}permission-check`],
    ["LRANGE", `${keys.parentsPrefix}permission-check`, "0", "0"],
    ["MGET", result],
    ["PTTL", result],
    ["EVALSHA", scripts.finish.sha, "0"],
    ["EVAL", "return 1", "0"],
    ["PING"],
  ];
}

/**
 * Throws RedisRefusedError listing every command (or key) the user may not use. MULTI is
 * answered before anything else is sent: a user that may not run it cannot be checked this way,
 * and the commands below must then never go out (outside a MULTI they would run, and write).
 * Such a user is let through, and a refused command shows in the log. On a Redis Cluster, all
 * go on the one connection to the node of the commands' keys (one queue shard: one slot), so
 * none can be sent, and run, outside the MULTI.
 */
export async function checkPermissions(
  redis: Redis,
  commands: string[][],
  prefix: string,
): Promise<void> {
  const key = commands.map(commandKey).find((k) => k !== undefined);
  const client = key === undefined ? redis : await connectionOf(redis, key);
  try {
    await client.sendCommand(["MULTI"]);
  } catch {
    return;
  }
  // Queued, never run: DISCARD throws the transaction away whatever was refused in it.
  const replies = await Promise.allSettled([
    ...commands.map((c) => client.sendCommand(c)),
    client.sendCommand(["DISCARD"]),
  ]);
  const missing = new Set<string>();
  for (const r of replies) {
    if (r.status !== "rejected" || !(r.reason instanceof ErrorReply)) continue;
    const text = r.reason.message;
    const command = /permissions to run the '([^']+)' command/.exec(text)?.[1];
    if (command) missing.add(`+${command.toLowerCase()}`);
    else if (isNoPerm(r.reason)) missing.add(`~${prefix}:* (its keys)`);
  }
  if (missing.size > 0) {
    throw new RedisRefusedError(
      `Redis refused what a worker needs (NOPERM): the Redis user lacks ${[...missing].join(" ")}; see "Redis ACL" in README.md for the rules each role needs`,
    );
  }
}
