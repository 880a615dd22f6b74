// Whether the process holding a worker name (its hash, name.lua) is gone, so that a start may
// take the name at once instead of waiting for the hash to expire (6 heartbeats). Only a holder
// on this host can be looked at, and only through a pid this process can see: one in another pid
// namespace (a sibling container with the same host name, pid 1 as well; or this container's
// previous start, a new namespace each start) is judged by its heartbeat instead.
import { readlinkSync } from "node:fs";
import { hostname } from "node:os";
import type { NameHolder } from "../engine/name.ts";

export const HOST = hostname();

/** This process's pid namespace (`pid:[4026531836]`), written in its hash; "" where none is read. */
export const PID_NS = pidNamespace();

/**
 * How many of its own heartbeat intervals a holder we cannot see must stay silent to be gone: a
 * live worker beats every interval, so two missed is a dead one (or one stalled that long, which
 * then finds its name taken and stops: docs/internals.md, "A name taken over").
 */
const SILENT_BEATS = 2;

/** The longest a start waits for a holder's silence before refusing the name (ms). */
export const HOLDER_WAIT_MAX_MS = 60_000;

/**
 * null: the holder lives (or may: another host), the name is refused. 0: it is gone, the name
 * may be taken. n > 0: it is a process this one cannot see, silent for less than two of its
 * beats: gone if it stays silent n ms more. `alive` probes a pid of our namespace.
 */
export function holderGoneInMs(
  held: NameHolder,
  alive: (pid: number) => boolean,
  ourBeatMs: number,
): number | null {
  const { host, pid } = held;
  if (host !== HOST || !pid) return null;
  // The same namespace, or none in the holder's hash (an older Courier's, or one that could read
  // none: its pid probed as that Courier did, not waited out): kill(pid, 0) answers. A holder's
  // namespace this process cannot compare (it reads none of its own) is not probed.
  if (held.pidNs === null || held.pidNs === PID_NS) {
    return alive(Number(pid)) ? null : 0;
  }
  const silentMs = SILENT_BEATS * (held.beatMs ?? ourBeatMs);
  return Math.max(0, silentMs - (held.agoMs ?? 0));
}

function pidNamespace(): string {
  try {
    return readlinkSync("/proc/self/ns/pid");
  } catch {
    return ""; // not Linux, or no /proc: pids are the host's
  }
}
