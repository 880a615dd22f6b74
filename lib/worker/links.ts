// A worker's connections to Redis, by role. Commands go on one; the blocking read has its own,
// so it never delays a command; with two read loops, the second loop's takes and half the
// outcome writes go on a third (lib/worker/loops.ts).
import type { WorkerOptions } from "../config.ts";
import { Link } from "../redis/link.ts";
import type { Outage } from "../redis/outage.ts";
import { LANE_MIN_CONCURRENCY } from "./loops.ts";
import type { Lane } from "./take.ts";

export interface Links {
  commands: Link;
  /** The blocking read's connection (XREADGROUP … BLOCK), shared by the read loops. */
  blocking: Link;
  lane: Link | null;
}

/**
 * Opens the connections of a worker's shard; on failure, closes those already open and throws.
 * `shard` names them (`courier-worker-s3`) when the queue has several; `home`, one of its keys,
 * says its node (on a cluster, each connection checks that node only: ConnectOptions.home).
 */
export async function openLinks(
  o: WorkerOptions,
  outage: Outage,
  shard = "",
  home?: string,
): Promise<Links> {
  const opened: Link[] = [];
  const open = async (role: string, blocking = false) => {
    const name = `${role}${shard}`;
    const lost = (cause: string) => outage.lost(name, cause);
    const back = () => outage.back(name);
    const link = await Link.open(o, `${name}-${o.name}`, lost, back, blocking, home);
    opened.push(link);
    return link;
  };
  try {
    return {
      commands: await open("courier-worker"),
      blocking: await open("courier-reader", true),
      lane: o.concurrency >= LANE_MIN_CONCURRENCY ? await open("courier-lane") : null,
    };
  } catch (err) {
    for (const link of opened) link.destroy();
    throw err;
  }
}

/**
 * On a Redis Cluster, a shard's commands without a key (INFO memory, TIME, PING) go to the
 * node of its slot (`key`: one of the shard's keys), not to whichever node the client picks.
 */
export function homeLinks(links: Links, key: string): void {
  for (const link of [links.commands, links.blocking, links.lane]) link?.homeAt(key);
}

/** Closes every connection at once (a failed start leaves nothing open behind it). */
export function destroyLinks(links: Links): void {
  for (const link of [links.commands, links.blocking, links.lane]) link?.destroy();
}

/** Every connection is ready (connected, not reconnecting). */
export function linksReady(links: Links): boolean {
  return [links.commands, links.blocking, links.lane].every((l) => l?.client.isReady ?? true);
}

/** The read loops' connections: the command one, and the lane one when there are two. */
export function lanesOf(links: Links, stalled: (connection: keyof Links) => void): Lane[] {
  const { commands, lane } = links;
  const first = { client: () => commands.client, stalled: () => stalled("commands") };
  if (!lane) return [first];
  return [first, { client: () => lane.client, stalled: () => stalled("lane") }];
}
