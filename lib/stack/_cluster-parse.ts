// Reading a Redis Cluster node's replies (CLUSTER INFO, INFO replication, CLUSTER NODES) and
// deciding from them whether the cluster is ready. Pure: tested with tables.

/** `key:value` lines of CLUSTER INFO or INFO. */
export function infoFields(text: string | null): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of text?.split("\r\n") ?? []) {
    const colon = line.indexOf(":");
    if (colon > 0) fields.set(line.slice(0, colon), line.slice(colon + 1));
  }
  return fields;
}

export interface NodeEntry {
  id: string;
  port: number;
  flags: string[];
  /** The id of the master it replicates, or "-" for a master. */
  masterId: string;
  /** Slot ranges it serves, inclusive. */
  slots: [number, number][];
}

/** Lines of CLUSTER NODES: `<id> <ip:port@cport[,hostname]> <flags> <master> … <slot ranges>`. */
export function parseNodes(text: string): NodeEntry[] {
  return text
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => {
      const [id = "", address = "", flags = "", masterId = "", ...rest] = line.trim().split(" ");
      const port = Number(/:(\d+)@/.exec(address)?.[1]);
      // rest: ping-sent pong-recv epoch link-state, then slots; `[…]` are slots being migrated.
      const slots = rest
        .slice(4)
        .filter((s) => !s.startsWith("["))
        .map((s) => s.split("-").map(Number))
        .map(([from = 0, to = from]): [number, number] => [from, to]);
      return { id, port, flags: flags.split(","), masterId, slots };
    });
}

export interface NodeReadiness {
  /** What keeps the node from being ready, or null. */
  problem: string | null;
  /** `master` or `slave` (INFO's words), undefined when it did not answer. */
  role: string | undefined;
}

/**
 * One node's part of issue 12's readiness test, from its CLUSTER INFO and INFO replication
 * (null: no answer): cluster_state:ok, all 16384 slots ok, `knownNodes` nodes known and, on a
 * replica, master_link_status:up.
 */
export function nodeReadiness(
  at: string,
  clusterInfo: string | null,
  replication: string | null,
  knownNodes: number,
): NodeReadiness {
  const info = infoFields(clusterInfo);
  const repl = infoFields(replication);
  const role = repl.get("role");
  let problem: string | null = null;
  if (clusterInfo === null || replication === null) problem = `${at} does not answer`;
  else if (info.get("cluster_state") !== "ok") {
    problem = `${at} cluster_state:${info.get("cluster_state")}`;
  } else if (info.get("cluster_slots_ok") !== "16384") {
    problem = `${at} cluster_slots_ok:${info.get("cluster_slots_ok")}`;
  } else if (info.get("cluster_known_nodes") !== String(knownNodes)) {
    problem = `${at} cluster_known_nodes:${info.get("cluster_known_nodes")} (want ${knownNodes})`;
  } else if (role === "slave" && repl.get("master_link_status") !== "up") {
    problem = `${at} master_link_status:${repl.get("master_link_status")}`;
  }
  return { problem, role };
}

/**
 * The cluster is ready when every node is and there are `replicas` replicas: cluster_state:ok
 * alone is not enough, a replica that has not finished its first sync cannot take over. One
 * line naming up to three problems, or null.
 */
export function clusterReadiness(nodes: readonly NodeReadiness[], replicas: number): string | null {
  const problems = nodes.flatMap((n) => (n.problem ? [n.problem] : []));
  const seen = nodes.filter((n) => n.role === "slave").length;
  if (problems.length === 0 && seen !== replicas) {
    problems.push(`${seen} replicas (want ${replicas})`);
  }
  return problems.length ? problems.slice(0, 3).join("; ") : null;
}
