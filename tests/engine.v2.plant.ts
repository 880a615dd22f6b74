// Test helpers for the v2 engine tests: a queue's shard keys under a fresh prefix, entries
// planted in the v2 entry format (docs/internals.md, "The stream entry"), deliveries, Redis' clock.
import { GROUP } from "../lib/engine/keys.ts";
import { type V2Keys, v2Keys } from "../lib/engine/v2/keys.ts";
import type { Redis } from "../lib/redis/connect.ts";
import { type RawRedis, rawRedis, testPrefix } from "./helpers.ts";

export interface V2 extends AsyncDisposable {
  r: RawRedis;
  /** The same connection, typed for the engine functions. */
  client: Redis;
  k: V2Keys;
}

/** A fresh queue (group created) on the test Redis, or on `on` (closed by its owner). */
export async function v2Queue(on?: Redis): Promise<V2> {
  const r = on ? (on as unknown as RawRedis) : await rawRedis();
  const k = v2Keys(testPrefix(), "q");
  await r.sendCommand(["XGROUP", "CREATE", k.stream, GROUP, "0", "MKSTREAM"]);
  const dispose = on ? async () => {} : () => r[Symbol.asyncDispose]();
  return { r, client: r as unknown as Redis, k, [Symbol.asyncDispose]: dispose };
}

export interface EntrySpec {
  t?: string;
  p?: string;
  a?: number;
  m?: number;
  i?: string;
  n?: number;
}

/** Adds one entry in the v2 format (t p a m, then i and n when given); returns its id. */
export async function plant(v: V2, spec: EntrySpec = {}): Promise<string> {
  const f = ["t", spec.t ?? "echo", "p", spec.p ?? '{"x":1}', "a", String(spec.a ?? 0)];
  f.push("m", String(spec.m ?? 3));
  if (spec.i !== undefined) f.push("i", spec.i);
  if (spec.n !== undefined) f.push("n", String(spec.n));
  return String(await v.r.sendCommand(["XADD", v.k.stream, "*", ...f]));
}

/** A plain read by `consumer`, as a worker's lane makes it: the entry ids delivered. */
export async function deliver(v: V2, consumer: string, count = 100): Promise<string[]> {
  const cmd = ["XREADGROUP", "GROUP", GROUP, consumer, "COUNT", String(count)];
  const reply = await v.r.sendCommand([...cmd, "STREAMS", v.k.stream, ">"]);
  return ((reply?.[0]?.[1] ?? []) as [string, string[]][]).map(([id]) => id);
}

/** The pending-list row of one entry: owner and delivery count, or null. */
export async function pendingRow(
  v: V2,
  entry: string,
): Promise<{ owner: string; deliveries: number } | null> {
  const rows = await v.r.sendCommand(["XPENDING", v.k.stream, GROUP, entry, entry, "1"]);
  return rows[0] ? { owner: rows[0][1], deliveries: Number(rows[0][3]) } : null;
}

/** Redis' clock in ms. */
export async function redisNow(v: V2): Promise<number> {
  const [s, us] = await v.r.sendCommand(["TIME"]);
  return Number(s) * 1000 + Math.floor(Number(us) / 1000);
}

/** The fields of every entry in the stream, as maps. */
export async function streamEntries(v: V2): Promise<{ id: string; f: Record<string, string> }[]> {
  const rows = (await v.r.sendCommand(["XRANGE", v.k.stream, "-", "+"])) as [string, string[]][];
  return rows.map(([id, flat]) => ({ id, f: toMap(flat) }));
}

export async function hgetall(v: V2, key: string): Promise<Record<string, string>> {
  return toMap(await v.r.sendCommand(["HGETALL", key]));
}

export function toMap(flat: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) out[flat[i]!] = flat[i + 1]!;
  return out;
}
