// hold-key.lua and a key of another type, or a held_until no hold can pass (a hand edit, another program sharing the prefix). The
// held keys' list (`limit:keys`) and the layout key are queue-wide: refused by name before any
// write, as every script refuses its own. Before, the key's hash got its `held_until` and then
// the list's ZSCORE (or the layout's HGET) raised WRONGTYPE half-way: a hold written but not
// listed nor announced (workers that only check keys while the layout's `holds` is on never saw
// it), and every later hold no longer than it answered at once, still unlisted. The key's own
// hash is one user's: refused by name too, nothing written, and no other key's hold is touched.
import { describe, expect, test } from "bun:test";
import { holdKey } from "../lib/engine/hold-key.ts";
import { type LimitKeys, limitKeys } from "../lib/engine/keys.ts";
import { engineQueue } from "./fixtures/plant.ts";

const prefixOf = (meta: string) => meta.slice(0, meta.indexOf(":{"));

const cases: [string, (lk: LimitKeys) => string, string][] = [
  ["the held keys' list", (lk) => lk.keys, "zset"],
  ["the layout key", (lk) => lk.layout, "hash"],
  ["the key's own hash", (lk) => lk.key("h"), "hash"],
];

describe("hold-key.lua and a key of another type", () => {
  for (const [what, keyOf, want] of cases) {
    test(`${what}: refused naming it, nothing written; holds once it is deleted`, async () => {
      await using v = await engineQueue();
      const lk = limitKeys(prefixOf(v.k.meta), "q");
      const bad = keyOf(lk);
      await v.r.sendCommand(["SET", bad, "not ours"]);
      const refused = await holdKey(v.client, lk, "h", 60_000).catch((e: Error) => e);
      expect(String(refused)).toContain(`courier: key ${bad} holds a string, not a ${want}`);
      for (const key of [lk.key("h"), lk.keys, lk.layout].filter((k) => k !== bad)) {
        expect(await v.r.sendCommand(["EXISTS", key])).toBe(0);
      }
      // Another key's hold in a later call is refused only for a queue-wide key.
      const other = await holdKey(v.client, lk, "g", 60_000).catch((e: Error) => e);
      expect(typeof other === "number").toBe(bad === lk.key("h"));
      await v.r.sendCommand(["DEL", bad]);
      const end = await holdKey(v.client, lk, "h", 60_000);
      expect(await v.r.sendCommand(["ZSCORE", lk.keys, "h"])).toBe(String(end));
      expect(Number(await v.r.sendCommand(["HGET", lk.layout, "holds"]))).toBeGreaterThanOrEqual(
        end,
      );
      expect(await v.r.sendCommand(["HGET", lk.key("h"), "held_until"])).toBe(String(end));
    });
  }
});

describe("hold-key.lua and a key's held_until that is no usable number", () => {
  // A hand edit: Lua reads `inf`, `1e400` and `9e30` as numbers no hold can pass, so the hold
  // answered at once with that end, which Redis turns into -9223372036854775808 (an integer
  // reply): the job held "until" then came back at once, and nothing was listed or announced.
  for (const bad of ["inf", "1e400", "9e30"]) {
    test(`held_until ${bad}: the hold is written over it, listed and announced`, async () => {
      await using v = await engineQueue();
      const lk = limitKeys(prefixOf(v.k.meta), "q");
      await v.r.sendCommand(["HSET", lk.key("h"), "held_until", bad]);
      const [s] = (await v.r.sendCommand(["TIME"])) as [string, string];
      const end = await holdKey(v.client, lk, "h", 60_000);
      expect(end).toBeGreaterThanOrEqual(Number(s) * 1000 + 60_000);
      expect(end).toBeLessThan(Number(s) * 1000 + 120_000);
      expect(await v.r.sendCommand(["HGET", lk.key("h"), "held_until"])).toBe(String(end));
      expect(await v.r.sendCommand(["ZSCORE", lk.keys, "h"])).toBe(String(end));
      expect(await v.r.sendCommand(["HGET", lk.layout, "holds"])).toBe(String(end));
    });
  }
});
