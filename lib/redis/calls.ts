// How a producer's calls fail and are retried: while Redis is unreachable (`retryConnectS`) or
// full (`waitForMemoryS`), with back-off; then one typed error that names the URL (password
// masked) and the cause: ConnectError, or RedisFullError with the server's limit and policy.
import { ClientClosedError, ClientOfflineError, ErrorReply, TimeoutError } from "@redis/client";
import {
  ConfigError,
  ConnectError,
  InputError,
  isOomError,
  LostReplyError,
  NoAnswerError,
  NotReplicatedError,
  RedisFullError,
} from "../errors.ts";
import { exponentialMs } from "../time.ts";
import { describeCause, isTransient } from "./cause.ts";
import { onNodeOf } from "./cluster.ts";
import type { Redis } from "./connect.ts";
import { formatBytes } from "./memory.ts";
import { readMemoryOfNode } from "./memory-nodes.ts";
import { toMap } from "./reply.ts";
import { maskUrl } from "./url.ts";

export interface RetryPolicy {
  redisUrl: string;
  /** Seconds to keep retrying while Redis cannot be reached (0 = fail at once). */
  retryConnectS: number;
  /** Seconds to keep retrying while Redis is out of memory (0 = fail at once). */
  waitForMemoryS: number;
  /** Longest pause between two tries. */
  reconnectMaxMs: number;
  /** What a refusal left undone, for the message: "job not enqueued". */
  what: string;
  /**
   * A key the call writes: on a cluster, its slot's master is the node whose memory a refusal
   * reports (each master has its own maxmemory). Unset: the client's default node.
   */
  key?: string;
  /**
   * For a write: what a lost reply leaves unknown ("the job may or may not have been
   * enqueued"). Unset for reads, which a lost reply leaves as they were.
   */
  unsure?: string;
  /**
   * The call sends one command or one script: an error reply, a transient one too (LOADING,
   * BUSY, TRYAGAIN, CLUSTERDOWN, MASTERDOWN), means Redis did not run it, so it is not done.
   * Unset: a call of several commands may have run some before one was refused.
   */
  oneCall?: boolean;
}

/** Runs `fn`, retrying as the policy allows; throws ConnectError, RedisFullError or fn's own. */
export async function withRetries<T>(
  client: Redis,
  policy: RetryPolicy,
  fn: () => Promise<T>,
): Promise<T> {
  const started = Date.now();
  // Whether a try may have been done although it failed: the last error alone does not say
  // (a lost reply, then tries refused while the client reconnects).
  let maybeDone = false;
  for (let failures = 0; ; failures++) {
    try {
      return await fn();
    } catch (err) {
      // Our own verdict (a queue's shard count that contradicts the option): no retry, and
      // no "unreachable" around it.
      // (InputError: an enqueue's verdict on its input after a read, e.g. an unknown parent;
      // or the Queue closed during the back-off.) After a try whose reply was lost, the call
      // may be done all the same: said so, never a plain refusal (RR2).
      if (err instanceof ConfigError || err instanceof InputError) {
        if (maybeDone && policy.unsure) {
          throw new LostReplyError(
            `${err.message}, after a try whose reply was lost: ${policy.unsure}`,
            {
              cause: err,
            },
          );
        }
        throw err;
      }
      const full = isOomError(err);
      if (!full && !isTransient(err)) throw err;
      maybeDone ||= !full && !neverSent(err) && !(policy.oneCall && err instanceof ErrorReply);
      const budgetS = full ? policy.waitForMemoryS : policy.retryConnectS;
      // The window is used to its end: the last wait is cut to what is left, and the last try
      // made then (giving up once the next wait ended past it cut `--wait-for-memory 3` to 1.5 s).
      const leftMs = started + budgetS * 1_000 - Date.now();
      if (leftMs <= 0) {
        if (full) throw await redisFullError(client, policy, err);
        throw connectError(policy, err, maybeDone);
      }
      await Bun.sleep(Math.min(exponentialMs(100, failures, policy.reconnectMaxMs), leftMs));
    }
  }
}

/** Refused by the client before it was written: the connection was known to be down. */
function neverSent(err: unknown): boolean {
  return err instanceof ClientOfflineError || err instanceof ClientClosedError;
}

/**
 * One try's failure as withRetries says its last one, with no retry: Redis unreachable is a
 * ConnectError naming the URL (password masked); anything else (a full Redis, a refusal, our
 * own verdict) as it is. For an Admin's and a Schedules' calls, which are not retried.
 */
export function asOutage(redisUrl: string, err: unknown): unknown {
  if (err instanceof ConfigError || err instanceof InputError) return err;
  if (isOomError(err) || !isTransient(err)) return err;
  return connectError({ redisUrl }, err, false);
}

function connectError(
  policy: Pick<RetryPolicy, "redisUrl" | "unsure">,
  err: unknown,
  maybeDone: boolean,
): ConnectError {
  // Tried again while a replica might attach (a master just promoted has none): as it was.
  if (err instanceof NotReplicatedError) return err;
  // No answer within the client's limit (answer.ts): a read as it was; a write may be done.
  if (err instanceof NoAnswerError) {
    return policy.unsure
      ? new LostReplyError(`${err.message}: ${policy.unsure}`, { cause: err })
      : err;
  }
  const url = maskUrl(policy.redisUrl);
  // node-redis rejects a command that waited longer than its timeout with an empty
  // TimeoutError: the connection may be fine, the server busy or the reply lost in between.
  if (err instanceof TimeoutError) {
    const message = `Redis at ${url} did not answer in time (command timeout): ${policy.unsure ?? "it may or may not have done it"}`;
    return policy.unsure
      ? new LostReplyError(message, { cause: err })
      : new ConnectError(message, { cause: err });
  }
  // The connection dropped while a write was out: Redis may have done it, its reply lost.
  if (maybeDone && policy.unsure) {
    return new LostReplyError(
      `Redis at ${url} is unreachable: ${describeCause(err)}, before it answered: ${policy.unsure}`,
      { cause: err },
    );
  }
  return new ConnectError(`Redis at ${url} is unreachable: ${describeCause(err)}`, { cause: err });
}

/** The refusal as RedisFullError, with the server's maxmemory and policy when it tells them. */
export async function redisFullError(
  client: Redis,
  policy: Pick<RetryPolicy, "redisUrl" | "what" | "key">,
  err: unknown,
): Promise<RedisFullError> {
  const { node, ...limits } = await memoryLimits(client, policy.key);
  const known: string[] = [];
  if (limits.maxmemoryBytes) known.push(`maxmemory ${formatBytes(limits.maxmemoryBytes)}`);
  if (limits.policy) known.push(`policy ${limits.policy}`);
  const detail = known.length > 0 ? ` (${known.join(", ")})` : "";
  const url = maskUrl(policy.redisUrl);
  // On a cluster, the master that refused (its own maxmemory; the others may have room).
  const where = node === undefined ? "" : ` on node ${node}`;
  return new RedisFullError(`Redis at ${url} is out of memory${where}${detail}: ${policy.what}`, {
    cause: err,
    ...limits,
  });
}

/**
 * maxmemory and its policy, from INFO memory (read-only, allowed to most users), else from
 * CONFIG GET; an ACL may refuse both (NOPERM): then they are simply not known.
 */
async function memoryLimits(
  client: Redis,
  key: string | undefined,
): Promise<{ maxmemoryBytes?: number; policy?: string; node?: string }> {
  const node = key === undefined ? client : onNodeOf(client, key);
  const m = await readMemoryOfNode(node).catch(() => null); // refused or unreachable: CONFIG below
  if (m) return { maxmemoryBytes: m.maxBytes, policy: m.policy, node: m.node };
  try {
    const reply = await node.sendCommand<string[]>([
      "CONFIG",
      "GET",
      "maxmemory",
      "maxmemory-policy",
    ]);
    const map = toMap(reply);
    const max = map.get("maxmemory");
    return { maxmemoryBytes: max ? Number(max) : undefined, policy: map.get("maxmemory-policy") };
  } catch {
    return {};
  }
}
