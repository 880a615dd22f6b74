// Redis' memory over every master of a cluster. Each master has its own maxmemory and refuses
// writes to its slots once it is full while the others take theirs: what one node says tells
// nothing of the others, so the fullest master is the one reported (naming it), and a refusal
// is described by the node that refused it (the master of the written key's slot).

import { type ClusterRedis, isCluster, mastersOf, nodeIsDown } from "./cluster.ts";
import type { Redis } from "./connect.ts";
import { type RedisMemory, readMemory } from "./memory.ts";

/**
 * Redis' memory: one server's, or on a cluster the fullest master's (`node` names it, `nodes`
 * counts the masters read); null when this user may not run INFO.
 */
export async function readMemoryOfNodes(client: Redis): Promise<RedisMemory | null> {
  if (!isCluster(client)) return readMemory(client);
  // A master known to be down is not waited for (its INFO would wait for the failover).
  const masters = (await mastersOf(client)).filter((m) => !nodeIsDown(m));
  const read = await Promise.all(masters.map((m) => readMemoryOfNode(m).catch(() => null)));
  const known = read.filter((m) => m !== null);
  if (known.length === 0) return null;
  const fullest = known.reduce((a, b) => (fuller(b, a) ? b : a));
  return { ...fullest, nodes: masters.length };
}

/**
 * The memory of the node `node` sends its keyless commands to (onNodeOf: a shard's), naming it
 * on a cluster; null as readMemory.
 */
export async function readMemoryOfNode(node: Redis): Promise<RedisMemory | null> {
  const memory = await readMemory(node);
  return memory && isCluster(node) ? { ...memory, node: nodeOf(node) } : memory;
}

/** Whether `a` is fuller than `b`: a full node first, then by share of maxmemory, then bytes. */
function fuller(a: RedisMemory, b: RedisMemory): boolean {
  const share = (m: RedisMemory) => (m.full ? 2 : m.maxBytes > 0 ? m.usedBytes / m.maxBytes : 0);
  if (share(a) !== share(b)) return share(a) > share(b);
  return a.usedBytes > b.usedBytes;
}

function nodeOf(node: Redis): string {
  return (node as ClusterRedis).address ?? "?";
}
