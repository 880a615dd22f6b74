// Redis time per job from INFO commandstats, counting each call once. Redis lists a command run
// inside a script (EVAL, EVALSHA, FCALL) or a transaction (EXEC) under its own name too, and the
// script's or EXEC's usec already includes it: summing every name would count it twice. So the
// time of the top-level calls is taken: a script or EXEC with what it ran, any other command
// only for the share of its calls that a client sent on its own. That share comes from MONITOR
// (bench/_redis.ts `monitor`), run on a separate sample: MONITOR slows Redis, which changes batch
// sizes and so the per-job time, but not which command runs where.

/**
 * Counts of commands seen by MONITOR: sent by clients vs run inside scripts; `inTransaction` are
 * those of `client` that a client queued between MULTI and EXEC (EXEC runs them, and its time in
 * INFO commandstats includes theirs).
 */
export interface Monitored {
  client: Map<string, number>;
  script: Map<string, number>;
  inTransaction: Map<string, number>;
}

/**
 * Counts one MONITOR line (`+<time> [<db> <client address or lua>] "<command>" ...`) in `out`,
 * unless its command is in `skip`. `inMulti` holds the clients inside MULTI: Redis 7 shows
 * MULTI, then each queued command as EXEC runs it, then EXEC, all under the client's address.
 */
export function countMonitorLine(
  out: Monitored,
  inMulti: Set<string>,
  line: string,
  skip: ReadonlySet<string> = new Set(),
): void {
  const m = /^\+\d+\.\d+ \[\d+ ([^\]]+)\] "([^"]+)"/.exec(line);
  const name = m?.[2]?.toLowerCase() ?? "";
  if (!m || skip.has(name)) return;
  const origin = m[1]!;
  const count = (map: Map<string, number>) => map.set(name, (map.get(name) ?? 0) + 1);
  count(origin === "lua" ? out.script : out.client);
  if (name === "exec" || name === "discard") inMulti.delete(origin);
  else if (inMulti.has(origin)) count(out.inTransaction);
  if (name === "multi") inMulti.add(origin);
}

export type CommandStats = Map<string, { calls: number; usec: number }>;

/**
 * Per command name (lower case), the share of its calls that ran inside a script or a
 * transaction: 0 = always sent by a client on its own, 1 = always run inside another call.
 */
export function innerShares(m: Monitored): Map<string, number> {
  const out = new Map<string, number>();
  for (const name of new Set([...m.client.keys(), ...m.script.keys()])) {
    const inner = (m.script.get(name) ?? 0) + (m.inTransaction.get(name) ?? 0);
    const total = (m.client.get(name) ?? 0) + (m.script.get(name) ?? 0);
    if (total > 0) out.set(name, inner / total);
  }
  return out;
}

/** Commands that are never part of what is measured (the bench's own). */
const OURS = new Set(["info", "echo", "flushall", "monitor", "config"]);

/**
 * Microseconds Redis spent in top-level calls between two INFO commandstats snapshots. `inner`
 * is `innerShares` of a sample (a name missing from it counts as top-level); `ours` are calls the
 * bench itself made by name (its polls), taken out at that command's average cost.
 */
export function topLevelUsec(
  before: CommandStats,
  after: CommandStats,
  inner: Map<string, number>,
  ours: Map<string, number> = new Map(),
): number {
  let total = 0;
  for (const [name, s] of after) {
    // Subcommands are listed as "client|setname"; MONITOR names the command alone.
    const base = name.split("|")[0]!;
    if (OURS.has(base)) continue;
    const b = before.get(name) ?? { calls: 0, usec: 0 };
    const [calls, usec] = [s.calls - b.calls, s.usec - b.usec];
    if (calls <= 0) continue;
    const own = Math.min(ours.get(name) ?? 0, calls);
    const share = inner.get(base) ?? 0;
    total += usec * (1 - own / calls) * (1 - share);
  }
  return total;
}

/**
 * Redis commands executed between two INFO commandstats snapshots, the bench's own left out
 * (`ours`: its polls by name). A command a script runs counts as well as the script's call.
 */
export function callsBetween(
  before: CommandStats,
  after: CommandStats,
  ours: Map<string, number> = new Map(),
): number {
  let total = 0;
  for (const [name, s] of after) {
    if (OURS.has(name.split("|")[0]!)) continue;
    const calls = s.calls - (before.get(name)?.calls ?? 0);
    total += Math.max(0, calls - (ours.get(name) ?? 0));
  }
  return total;
}
