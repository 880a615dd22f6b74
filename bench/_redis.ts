// The bench's own redis-server (one per workload and persistence setting), an admin connection
// to it, and the numbers read from INFO: memory, CPU and per-command call counts.
import { mkdtempSync, rmSync } from "node:fs";
import { connect as tcpConnect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "redis";
import { findFreePort, startRedisServer } from "../lib/stack/redis-server.ts";
import { countMonitorLine, type Monitored } from "./_usec.ts";

export type { Monitored } from "./_usec.ts";

/** The admin connection: node-redis on RESP2 (plain strings and arrays), not the library's own
 * client, so the bench reaches into lib/ only through its public API (and the server starter). */
export type Redis = ReturnType<typeof createAdmin>;
const createAdmin = (url: string) => createClient({ url, RESP: 2 });

export interface BenchRedis {
  url: string;
  port: number;
  admin: Redis;
}

/** Starts a throwaway redis-server (AOF everysec when `aof`), runs `fn`, stops and deletes it. */
export async function withRedis<T>(aof: boolean, fn: (r: BenchRedis) => Promise<T>): Promise<T> {
  const dataDir = mkdtempSync(join(tmpdir(), "courier-bench-redis-"));
  const server = await startRedisServer({ port: await findFreePort(), dataDir, persistence: aof });
  const admin = createAdmin(server.url);
  await admin.connect();
  try {
    return await fn({ url: server.url, port: server.port, admin });
  } finally {
    admin.destroy();
    await server.stop(5_000);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** Empties Redis and waits for the memory to be given back, so measurements start equal. */
export async function flush(admin: Redis): Promise<void> {
  await admin.sendCommand(["FLUSHALL", "SYNC"]);
}

/** The fields of an INFO section as numbers (non-numeric fields are skipped). */
export async function info(admin: Redis, section: string): Promise<Map<string, number>> {
  const text = String(await admin.sendCommand(["INFO", section]));
  const out = new Map<string, number>();
  for (const line of text.split("\r\n")) {
    const i = line.indexOf(":");
    if (i > 0 && Number.isFinite(Number(line.slice(i + 1)))) {
      out.set(line.slice(0, i), Number(line.slice(i + 1)));
    }
  }
  return out;
}

/**
 * Memory used, in bytes, less the clients' buffers (MONITOR clients count as replicas): a
 * buffer growing or being freed for a moment must not pass for job data.
 */
export async function usedMemory(admin: Redis): Promise<number> {
  const m = await info(admin, "memory");
  const clients = (m.get("mem_clients_normal") ?? 0) + (m.get("mem_clients_slaves") ?? 0);
  return (m.get("used_memory") ?? 0) - clients;
}

/** Seconds of CPU Redis has used (user + system), for CPU per job. */
export async function redisCpuS(admin: Redis): Promise<number> {
  const cpu = await info(admin, "cpu");
  return (cpu.get("used_cpu_user") ?? 0) + (cpu.get("used_cpu_sys") ?? 0);
}

/** Calls and microseconds per command, from INFO commandstats. */
export async function commandStats(
  admin: Redis,
): Promise<Map<string, { calls: number; usec: number }>> {
  const text = String(await admin.sendCommand(["INFO", "commandstats"]));
  const out = new Map<string, { calls: number; usec: number }>();
  for (const m of text.matchAll(/^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/gm)) {
    out.set(m[1]!, { calls: Number(m[2]), usec: Number(m[3]) });
  }
  return out;
}

/**
 * Calls per command from INFO commandstats. Redis counts a command run by a script under its
 * own name as well, so these are all commands executed, not only those clients sent.
 */
export async function commandCalls(admin: Redis): Promise<Map<string, number>> {
  const stats = await commandStats(admin);
  return new Map([...stats].map(([name, s]) => [name, s.calls]));
}

/** The bench's own commands (INFO, MONITOR's end marker, FLUSHALL): never counted. */
const OURS = new Set(["info", "echo", "flushall", "monitor"]);

/** Calls in `after` minus `before`, minus the bench's own (`ours`: extra calls by name). */
export function callsBetween(
  before: Map<string, number>,
  after: Map<string, number>,
  ours: Map<string, number> = new Map(),
): number {
  let total = 0;
  for (const [name, n] of after) {
    if (!OURS.has(name)) total += n - (before.get(name) ?? 0) - (ours.get(name) ?? 0);
  }
  return total;
}

/**
 * Runs `fn` under MONITOR and counts every command by name and origin (MONITOR tags commands
 * run by a Lua script `[0 lua]`). MONITOR slows Redis down: use it only for counting.
 */
export async function monitor(r: BenchRedis, fn: () => Promise<void>): Promise<Monitored> {
  const out: Monitored = { client: new Map(), script: new Map(), inTransaction: new Map() };
  const inMulti = new Set<string>();
  const marker = `courier-bench-end-${Math.random().toString(36).slice(2)}`;
  const socket = tcpConnect({ port: r.port, host: "127.0.0.1" });
  let buf = "";
  let ready: () => void = () => {};
  let ended: () => void = () => {};
  const started = new Promise<void>((resolve) => {
    ready = resolve;
  });
  const end = new Promise<void>((resolve) => {
    ended = resolve;
  });
  socket.setEncoding("latin1");
  socket.on("data", (chunk: string) => {
    buf += chunk;
    let nl = buf.indexOf("\r\n");
    while (nl >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 2);
      if (line === "+OK") ready();
      if (line.includes(marker)) ended();
      countMonitorLine(out, inMulti, line, OURS);
      nl = buf.indexOf("\r\n");
    }
  });
  socket.write("MONITOR\r\n");
  await started;
  try {
    await fn();
    // MONITOR lines trail the replies: the end is where our marker command shows up.
    await r.admin.sendCommand(["ECHO", marker]);
    await end;
  } finally {
    socket.destroy();
  }
  return out;
}

export function sum(map: Map<string, number>): number {
  let total = 0;
  for (const n of map.values()) total += n;
  return total;
}
