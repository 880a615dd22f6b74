// The server we connected to: the preflight version check (of every master of a cluster), and
// settings that put jobs at risk.
import { ConnectError } from "../errors.ts";
import { valueWithin, within } from "../time.ts";
import { describeCause, isTransient } from "./cause.ts";
import { isCluster, mastersOf, NodeDownError, nodeIsDown, onNodeOf } from "./cluster.ts";
import type { Redis } from "./connect.ts";
import { maskUrl } from "./url.ts";

/** XPENDING … IDLE (the claim script reads lapsed leases with it) needs Redis 6.2. */
const MIN_REDIS_VERSION = "6.2.0";

/**
 * Throws ConnectError when the server refuses INFO, is too old or is a Sentinel; connect()
 * closes the client. A node of a Redis Cluster given as redis:// is taken: a queue whose slot
 * it serves works there, and a command for another node's slot is answered MOVED, which a
 * command's exit says in one line (lib/cli/refusal.ts).
 */
export async function preflight(client: Redis, url: string): Promise<void> {
  let info: string;
  try {
    info = String(await client.sendCommand(["INFO", "server"]));
  } catch (err) {
    if (isTransient(err)) throw err; // the caller reports a connection that did not answer
    throw new ConnectError(`Redis at ${maskUrl(url)} refused INFO: ${describeCause(err)}`, {
      cause: err,
    });
  }
  const version = /redis_version:([\d.]+)/.exec(info)?.[1] ?? "0";
  if (compareVersions(version, MIN_REDIS_VERSION) < 0) {
    throw new ConnectError(
      `Redis at ${maskUrl(url)} is version ${version}; Courier needs ${MIN_REDIS_VERSION} or newer (XPENDING IDLE)`,
    );
  }
  if (/^redis_mode:sentinel\s*$/m.test(info)) {
    // Its replies to Courier's commands would be "unknown command", each an unexpected error.
    throw new ConnectError(
      `Redis at ${maskUrl(url)} is a Sentinel, not a Redis server: give the address of the master it watches (SENTINEL GET-MASTER-ADDR-BY-NAME <name> names it)`,
    );
  }
}

export function compareVersions(a: string, b: string): number {
  const pa = a.split(".").map(Number);
  const pb = b.split(".").map(Number);
  for (let i = 0; i < 3; i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return Math.sign(d);
  }
  return 0;
}

/**
 * Longest wait for one node's answer to the version check and the server warnings. A master
 * that does not answer (down, failing over) is skipped: the others are checked, and a process
 * whose commands go to healthy masters starts; one that answers none is a ConnectError.
 */
export const NODE_CHECK_MS = 2_000;

/**
 * The version check on the servers a new client uses: one server; every master of a cluster
 * that answers within NODE_CHECK_MS (at least one must; one known down is not waited for); for
 * a blocking client only the node of its keyless commands (it connects to no other until it
 * reads there; the process' command client checks them all), one given a `home` key (a
 * worker's shard) only that key's node; either opens with that node down (skipped).
 */
export async function checkServers(
  client: Redis,
  url: string,
  blocking = false,
  home?: string,
): Promise<void> {
  if (!isCluster(client)) return preflight(client, url);
  const one = home === undefined ? (blocking ? client : null) : onNodeOf(client, home);
  const masters = one ? [one] : await mastersOf(client);
  const nodes = masters.filter((node) => !nodeIsDown(node));
  let answered = one !== null;
  let silent: unknown;
  const check = async (node: Redis) => {
    try {
      if (await within(preflight(node, url), NODE_CHECK_MS)) answered = true;
    } catch (err) {
      // Too old, or INFO refused; a node down is skipped as one that does not answer.
      if (err instanceof ConnectError && !(err instanceof NodeDownError)) throw err;
      silent = err;
    }
  };
  await Promise.all(nodes.map(check));
  if (!answered) throw silent ?? new Error(`no master answered within ${NODE_CHECK_MS} ms`);
}

/**
 * Server settings that put jobs at risk, as warnings (empty when all is well). CONFIG may be
 * disabled (managed Redis): then nothing can be said, and nothing is. On a Redis Cluster, each
 * master is asked; a warning true of several is given once; one that does not answer within
 * `nodeMs` (down, failing over) is not waited for.
 */
export async function serverWarnings(client: Redis, nodeMs = NODE_CHECK_MS): Promise<string[]> {
  const masters = (await mastersOf(client)).filter((m) => !nodeIsDown(m));
  const each = await Promise.all(masters.map((m) => nodeWarnings(m, nodeMs)));
  return [...new Set(each.flat())];
}

/** A node's warnings; none from one that does not answer within `ms` (a master down). */
async function nodeWarnings(client: Redis, ms: number): Promise<string[]> {
  const get = async (name: string) => {
    try {
      const reply = client.sendCommand<string[]>(["CONFIG", "GET", name]);
      return (await valueWithin(reply, ms))?.[1] ?? null;
    } catch {
      return null;
    }
  };
  const [policy, aof] = await Promise.all([get("maxmemory-policy"), get("appendonly")]);
  const warnings: string[] = [];
  if (policy && policy !== "noeviction") {
    warnings.push(
      `maxmemory-policy is ${policy}: Redis may evict job records or the stream under memory pressure and lose jobs; set it to noeviction`,
    );
  }
  if (aof === "no") {
    warnings.push("appendonly is no: jobs will not survive a broker restart");
  }
  return warnings;
}
