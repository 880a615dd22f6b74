// PROTOTYPE (not imported by anything): checks the Redis behaviours docs/internals.md relies on,
// on a throwaway redis-server. Prints one JSON line per check.
//   bun bench/prototype-v2/verify.ts
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect } from "../../lib/redis/connect.ts";
import { findFreePort, startRedisServer } from "../../lib/stack/redis-server.ts";
import claimV2 from "./claim.lua" with { type: "text" };
import finishV2 from "./finish.lua" with { type: "text" };

const S = "{q}:stream";
const K = [S, "{q}:events", "{q}:stats", "{q}:minutes", "{q}:durations"];
const dir = mkdtempSync(join(tmpdir(), "courier-v2-verify-"));
const server = await startRedisServer({
  port: await findFreePort(),
  dataDir: dir,
  persistence: false,
});
const r = await connect(server.url);
const say = (check: string, got: unknown) => console.log(JSON.stringify({ check, got }));
const tryIt = async (fn: () => Promise<unknown>) => {
  try {
    return await fn();
  } catch (err) {
    return `error: ${(err as Error).message}`;
  }
};
const evalArgs = (keys: string[], args: (string | number)[]) => [
  String(keys.length),
  ...keys,
  ...args.map(String),
];
try {
  await r.sendCommand(["XGROUP", "CREATE", S, "workers", "0", "MKSTREAM"]);
  // SET NX on a key holding another type: no error, just "not set".
  await r.sendCommand(["HSET", "{q}:r:x", "a", "1"]);
  say(
    "SET NX EX on a hash key",
    await tryIt(() => r.sendCommand(["SET", "{q}:r:x", "v", "NX", "EX", "60"])),
  );
  // A script error's line as Redis reports it (for the loader's line map).
  const bad = "local a = 1\nlocal b = 2\nredis.call('NOSUCHCOMMAND')\n";
  say("script error text", await tryIt(() => r.sendCommand(["EVAL", bad, "0"])));
  const bad2 = "local a = 1\nlocal b = nil .. 'x'\n";
  say("Lua runtime error text", await tryIt(() => r.sendCommand(["EVAL", bad2, "0"])));
  // XCLAIM of a deleted entry (7.0): dropped from the pending list, not returned.
  const e = String(
    await r.sendCommand(["XADD", S, "*", "t", "noop", "p", "1", "a", "0", "m", "3"]),
  );
  await r.sendCommand(["XREADGROUP", "GROUP", "workers", "w1", "COUNT", "1", "STREAMS", S, ">"]);
  await r.sendCommand(["XDEL", S, e]);
  say("XCLAIM of a deleted entry", await r.sendCommand(["XCLAIM", S, "workers", "w2", "0", e]));
  say("pending after it", await r.sendCommand(["XPENDING", S, "workers"]));
  // XCLAIM with min-idle skips an entry renewed meanwhile.
  const e2 = String(
    await r.sendCommand(["XADD", S, "*", "t", "noop", "p", "1", "a", "0", "m", "3"]),
  );
  await r.sendCommand(["XREADGROUP", "GROUP", "workers", "w1", "COUNT", "1", "STREAMS", S, ">"]);
  say(
    "XCLAIM min-idle 60000 of a fresh entry",
    await r.sendCommand(["XCLAIM", S, "workers", "w2", "60000", e2, "JUSTID"]),
  );
  await r.sendCommand(["XACK", S, "workers", e2]);
  // A job whose run kills its worker every time (never acknowledged): read once, then claimed
  // by the next worker after each "death", until the claim buries it after max attempts.
  const j = String(
    await r.sendCommand(["XADD", S, "*", "t", "kill", "p", "1", "a", "0", "m", "3"]),
  );
  await r.sendCommand(["XREADGROUP", "GROUP", "workers", "k0", "COUNT", "1", "STREAMS", S, ">"]);
  const seen: unknown[] = [["k0", "run", 1]];
  for (let w = 1; w <= 4; w++) {
    const keys = ["2", S, "{q}:dead", "workers", `k${w}`, "0", j, "1"];
    const [, got] = (await r.sendCommand(["EVAL", claimV2, ...keys])) as [string, unknown[][]];
    for (const g of got) seen.push([`k${w}`, ...g.slice(1)]);
    if (got.some((g) => g[1] === "buried")) break;
  }
  say("attempts from delivery counts (max 3)", seen);
  const letter = (await r.sendCommand(["XRANGE", "{q}:dead", "-", "+"])) as [string, string[]][];
  say(
    "dead letter",
    letter.map(([, f]) => f.join(" ")),
  );
  say("pending after the burial", await r.sendCommand(["XPENDING", S, "workers"]));
  // A full Redis: the enqueue of a batch refused whole; MULTI refused whole; the finish still
  // records after acknowledging first.
  await r.sendCommand(["CONFIG", "SET", "maxmemory-policy", "noeviction"]);
  const pending: string[] = [];
  for (let i = 0; i < 50; i++)
    pending.push(
      String(await r.sendCommand(["XADD", S, "*", "t", "noop", "p", "1", "a", "0", "m", "3"])),
    );
  await r.sendCommand(["XREADGROUP", "GROUP", "workers", "w1", "COUNT", "50", "STREAMS", S, ">"]);
  const used = Number(
    /used_memory:(\d+)/.exec(String(await r.sendCommand(["INFO", "memory"])))![1],
  );
  await r.sendCommand(["CONFIG", "SET", "maxmemory", String(used - 1024)]);
  const len0 = await r.sendCommand(["XLEN", S]);
  const enq = "for i = 1, 3 do redis.call('XADD', KEYS[1], '*', 't', 'x') end return 1";
  say("enqueue script on a full Redis", await tryIt(() => r.sendCommand(["EVAL", enq, "1", S])));
  const m = r.multi();
  for (let i = 0; i < 3; i++) m.addCommand(["XADD", S, "*", "t", "x"]);
  say("MULTI of XADDs on a full Redis", await tryIt(() => m.exec()));
  say("stream length unchanged", [len0, await r.sendCommand(["XLEN", S])]);
  const args: (string | number)[] = ["{q}:r:", "workers", "w1", 3600, 10000, 0];
  for (const id of pending) args.push(id, id, 1, "1 3 w1 0 noop\n1\n{}");
  say(
    "finish on a full Redis (ack first)",
    await tryIt(() => r.sendCommand(["EVAL", finishV2, ...evalArgs(K, args)])),
  );
  say("results written", await r.sendCommand(["EXISTS", ...pending.map((id) => `{q}:r:${id}`)]));
} finally {
  r.destroy();
  await server.stop(5_000);
  rmSync(dir, { recursive: true, force: true });
}
